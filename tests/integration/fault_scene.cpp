#include "fault_scene.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <stdexcept>
#include <sys/statvfs.h>
#include <unistd.h>

namespace odbox::it {
namespace {

// The scene cannot be set up here (no root, no mount): the row is skipped.
class Unavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Small enough to fill at once, large enough for two backups of the row's
// database (the dump streams beside the previous one).
constexpr const char* k_tmpfs_size = "size=8m";

void run_or_throw(const std::vector<std::string>& argv) {
  const auto out = run(argv);
  if (out.exit_code != 0) {
    std::string line;
    for (const auto& word : argv) {
      line += word + " ";
    }
    throw std::runtime_error(line + "failed: " + out.describe());
  }
}

// The mirror holds files Odoo's GC removed since the previous run: the next
// run prunes them (the window of the test point prune.deleting).
void leave_files_for_the_prune(const OdooScratch& odoo) {
  for (int i = 0; i < 3; ++i) {
    odbox_test::write_file(odoo.mirror() / "zy" / ("gone" + std::to_string(i)), "gone\n");
  }
}

} // namespace

// A PostgreSQL cluster of the row's own (tests/support/pg-cluster), which
// the row may stop without disturbing the tests sharing the other one.
class FaultScene::Cluster {
public:
  Cluster() {
    const auto out = run(
        {(odbox_test::support_dir() / "pg-cluster").string(), "start", state().string()});
    if (out.exit_code != 0) {
      throw std::runtime_error("pg-cluster start: " + out.describe());
    }
    for (const auto& line : odbox_test::read_lines(state() / "env")) {
      if (line.starts_with("PG_RUNTIME_DIR=")) {
        m_data = fs::path(line.substr(15)) / "data";
      } else if (line.starts_with("PG_BINDIR=")) {
        m_pg_ctl = fs::path(line.substr(10)) / "pg_ctl";
      }
    }
  }
  ~Cluster() {
    (void)run(
        {(odbox_test::support_dir() / "pg-cluster").string(), "stop", state().string()});
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  [[nodiscard]] PgEnv pg() const { return PgEnv::load(state()); }
  void stop() const { pg_ctl({"stop", "-D", m_data.string(), "-m", "fast", "-w"}); }
  void start() const {
    pg_ctl({"start", "-D", m_data.string(), "-l", (m_data / "../postgres.log").string(),
            "-w", "-t", "30"});
  }

private:
  [[nodiscard]] fs::path state() const { return m_dir.path() / "state"; }
  void pg_ctl(std::vector<std::string> args) const {
    args.insert(args.begin(), m_pg_ctl.string());
    if (::geteuid() == 0) { // the cluster belongs to the postgres user
      args.insert(args.begin(), {"runuser", "-u", "postgres", "--"});
    }
    run_or_throw(args);
  }
  TempDir m_dir{"odbox-own-pg"};
  fs::path m_data;
  fs::path m_pg_ctl;
};

// A mount the scene made, undone by the destructor.
class FaultScene::Mount {
public:
  // A small tmpfs at `dir`.
  static std::unique_ptr<Mount> tmpfs(const fs::path& dir) {
    fs::create_directories(dir);
    if (run({"mount", "-t", "tmpfs", "-o", std::string(k_tmpfs_size) + ",mode=0700",
             "odbox-fault", dir.string()})
            .exit_code != 0) {
      throw Unavailable("cannot mount a tmpfs at " + dir.string());
    }
    return std::unique_ptr<Mount>(new Mount(dir));
  }
  // `dir` mounted read-only over itself.
  static std::unique_ptr<Mount> read_only(const fs::path& dir) {
    if (run({"mount", "--bind", dir.string(), dir.string()}).exit_code != 0) {
      throw Unavailable("cannot bind-mount " + dir.string());
    }
    auto mount = std::unique_ptr<Mount>(new Mount(dir));
    run_or_throw({"mount", "-o", "remount,bind,ro", dir.string()});
    return mount;
  }
  ~Mount() { (void)run({"umount", "-l", m_dir.string()}); }
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

private:
  explicit Mount(fs::path dir) : m_dir(std::move(dir)) {}
  fs::path m_dir;
};

FaultScene::FaultScene(const FaultRow& row, RunKind kind) : m_kind(kind) {
  const OdooScratch::Options small{.attachments = 8, .bulk_rows = 300, .sessions = 6};
  if (row.needs == Needs::own_cluster) {
    m_cluster = std::make_unique<Cluster>();
    m_odoo = std::make_unique<OdooScratch>(small, "", m_cluster->pg());
  } else {
    m_odoo = std::make_unique<OdooScratch>(small);
  }
  if (row.needs == Needs::tmpfs_area) {
    m_tmpfs = Mount::tmpfs(m_odoo->basedir());
  }
  if (kind == RunKind::cold) {
    // Odoo writes now and then, so that each sync has something to copy.
    m_odoo->install_odoo_service(true, {"--interval-ms", "200"});
  }
}

FaultScene::~FaultScene() {
  m_holder.reset();
  m_read_only.reset();
  if (m_odoo) {
    std::error_code ec;
    fs::remove(m_odoo->basedir() / "filler", ec);
  }
  m_tmpfs.reset();
}

std::string FaultScene::substitute(std::string text) const {
  const std::string key = "{SCRATCH}";
  for (auto pos = text.find(key); pos != std::string::npos; pos = text.find(key)) {
    text.replace(pos, key.size(), m_odoo->scratch().string());
  }
  return text;
}

fs::path FaultScene::flag(const std::string& name) const {
  return m_odoo->scratch() / name;
}

void FaultScene::touch(const std::string& name) const {
  odbox_test::write_file(flag(name), "");
}

void FaultScene::fill_area() {
  ASSERT_TRUE(m_tmpfs) << "the row fills a tmpfs area: Needs::tmpfs_area";
  const auto filler = m_odoo->basedir() / "filler";
  const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << filler;
  // Large writes first, then single bytes into the last page.
  const std::string chunk(64 * 1024, 'x');
  for (std::size_t size : {chunk.size(), std::size_t{1}}) {
    while (::write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
    }
  }
  ::close(fd);
  struct statvfs st {};
  ASSERT_EQ(::statvfs(m_odoo->basedir().c_str(), &st), 0);
  ASSERT_EQ(st.f_bavail, 0U) << "the area is not full";
}

void FaultScene::free_area() {
  fs::remove(m_odoo->basedir() / "filler");
}

void FaultScene::pad_runs_log(std::size_t size) const {
  const auto log = m_odoo->area() / "runs.jsonl";
  std::string text = read_file(log);
  ASSERT_TRUE(text.ends_with("\n"));
  ASSERT_LE(text.size(), size);
  text.insert(text.size() - 1, size - text.size(), ' '); // JSON allows the blanks
  odbox_test::write_file(log, text);
}

void FaultScene::mount_read_only(const fs::path& dir) {
  m_read_only = Mount::read_only(dir);
}

void FaultScene::unmount_read_only() {
  m_read_only.reset();
}

void FaultScene::stop_postgres() {
  ASSERT_TRUE(m_cluster) << "the row stops PostgreSQL: Needs::own_cluster";
  m_cluster->stop();
}

void FaultScene::start_postgres() {
  ASSERT_TRUE(m_cluster) << "the row starts PostgreSQL: Needs::own_cluster";
  m_cluster->start();
}

void FaultScene::terminate_snapshot_backend() const {
  const std::string ended = odbox_test::psql_value(
      m_odoo->pg(), "postgres",
      "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity "
      "WHERE application_name = 'odbox-backup snapshot' AND datname = '" +
          m_odoo->db() + "') s WHERE t");
  ASSERT_EQ(ended, "1") << "backends of the snapshot connection ended";
}

void FaultScene::hold_lock(const std::string& point) {
  m_holder.emplace(*m_odoo, m_kind, Args{}, Env{}, point);
  ASSERT_TRUE(m_holder->reached())
      << "the run holding the lock did not stop at " << point << ": " << m_holder->err();
}

void FaultScene::release_lock() {
  ASSERT_TRUE(m_holder);
  const auto out = m_holder->resume(0);
  EXPECT_EQ(out.exit_code, 0) << "the run that held the lock: " << out.err;
  m_holder.reset();
}

void FaultScene::systemctl_fault(const std::string& name, bool on) const {
  const auto file = m_odoo->systemctl_dir() / name;
  if (on) {
    odbox_test::write_file(file, "");
  } else {
    fs::remove(file);
  }
}

void PrintTo(const FaultRow& row, std::ostream* os) {
  *os << row.name;
}

void run_fault_row(const FaultRow& row, RunKind kind) {
  if (row.waits_for != nullptr) {
    GTEST_SKIP() << "waits for " << row.waits_for;
  }
  if ((row.needs == Needs::tmpfs_area || row.needs == Needs::root) && ::geteuid() != 0) {
    GTEST_SKIP() << "the row mounts a file system: run the tests as root";
  }
  std::optional<FaultScene> scene;
  try {
    scene.emplace(row, kind);
  } catch (const Unavailable& e) {
    GTEST_SKIP() << e.what();
  }
  OdooScratch& odoo = scene->odoo();
  const auto previous = run_through(odoo, kind, row.mode, {});
  ASSERT_EQ(previous.exit_code, 0) << "the previous backup: " << previous.err;
  // Odoo changes the database, so that a new dump would differ; outside a
  // full disk, a new file and files gone give rsync and the prune work.
  odoo.sql("UPDATE res_partner SET name = name || ' (changed)' WHERE id % 7 = 0");
  if (row.needs != Needs::tmpfs_area) {
    odoo.write_unreferenced_file();
    leave_files_for_the_prune(odoo);
  }
  if (row.before != nullptr) {
    row.before(*scene);
    ASSERT_FALSE(::testing::Test::HasFatalFailure()) << "setting up the fault";
  }
  const Before before = take_before(odoo);
  Args args = row.mode;
  for (const auto& a : row.args) {
    args.push_back(scene->substitute(a));
  }
  Env env;
  for (const auto& e : row.env) {
    env.push_back(scene->substitute(e));
  }
  Outcome outcome;
  if (row.point.empty()) {
    outcome = run_through(odoo, kind, args, env);
  } else {
    StoppedRun stopped(odoo, kind, args, env, row.point);
    if (!stopped.reached()) {
      const auto out = stopped.resume(0);
      FAIL() << "the run did not stop at " << row.point << " (exit " << out.exit_code
             << "):\n"
             << out.err;
    }
    if (row.at_point != nullptr) {
      row.at_point(*scene);
    }
    outcome = stopped.resume(row.signal);
  }
  expect_contract(odoo, kind, before, outcome, row.expect);
  if (row.after != nullptr) {
    row.after(*scene);
  }
  if (row.expect.odoo_left_down) {
    expect_cold_recover_starts_odoo(odoo);
  }
  expect_next_run_clean(odoo, kind, row.mode);
}

} // namespace odbox::it
