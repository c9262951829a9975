// The cold run's session purge where the sessions directory cannot be moved
// aside: the kernel refuses the rename or the fresh directory, for real (an
// overlayfs lower layer, a mount made in the window, a parent the run may
// not write, an immutable parent). The run warns why, deletes the files in
// place while Odoo is stopped, and otherwise goes on as always.

#include "fault_contract.hpp"
#include "odbox/util/time.hpp"
#include "sessions_scene.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <iterator>
#include <linux/fs.h>
#include <ostream>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

using namespace odbox::it;

namespace {

using Step = void (*)(const OdooScratch&, Undo&);

struct FallbackRow {
  const char* name;
  // Where the run stops, Odoo stopped, for at_point and to count the files.
  const char* point;
  Step before;   // before Odoo starts (nullptr: nothing)
  Step at_point; // while the run is stopped at `point` (nullptr: nothing)
  Args launcher; // runs the tool (empty: run directly, as root)
  // The reason the warning and the manifest give: it starts with
  // `because_starts` and ends with `because_ends` ("{DATA}": the data dir).
  const char* because_starts;
  const char* because_ends;
  // The parent refuses removals too: the fresh directory stays, with a
  // warning that says to remove it by hand.
  bool fresh_stays = false;
};

void PrintTo(const FallbackRow& row, std::ostream* os) {
  *os << row.name;
}

std::string substitute(std::string text, const OdooScratch& odoo) {
  const std::string key = "{DATA}";
  for (auto pos = text.find(key); pos != std::string::npos; pos = text.find(key)) {
    text.replace(pos, key.size(), odoo.data_dir().string());
  }
  return text;
}

bool is_root() {
  return ::geteuid() == 0;
}

// The data dir becomes an overlayfs whose lower layer holds everything,
// as in a container image: a directory of the lower layer cannot be
// renamed (EXDEV without redirect_dir), its files can be deleted.
void data_dir_on_overlayfs(const OdooScratch& odoo, Undo& undo) {
  if (!is_root()) {
    GTEST_SKIP() << "mounting an overlayfs needs root";
  }
  const auto layers = odoo.scratch() / "layers";
  fs::create_directories(layers / "upper");
  fs::create_directories(layers / "work");
  fs::rename(odoo.data_dir(), layers / "lower");
  fs::create_directory(odoo.data_dir());
  const std::string options = "lowerdir=" + (layers / "lower").string() +
                              ",upperdir=" + (layers / "upper").string() +
                              ",workdir=" + (layers / "work").string() +
                              ",redirect_dir=off";
  if (::mount("overlay", odoo.data_dir().c_str(), "overlay", 0, options.c_str()) != 0) {
    GTEST_SKIP() << "cannot mount an overlayfs on " << odoo.data_dir() << ": "
                 << std::strerror(errno);
  }
  undo.add([dir = odoo.data_dir()] { (void)::umount2(dir.c_str(), MNT_DETACH); });
}

// The sessions directory bind-mounted on itself after the run found no
// mount point there: the rename is refused (EBUSY).
void mount_on_the_sessions_dir(const OdooScratch& odoo, Undo& undo) {
  const auto sessions = sessions_of(odoo);
  if (::mount(sessions.c_str(), sessions.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "cannot bind-mount " << sessions << ": " << std::strerror(errno);
  }
  undo.add([sessions] { (void)::umount2(sessions.c_str(), MNT_DETACH); });
}

void needs_root(const OdooScratch&, Undo&) {
  if (!is_root()) {
    GTEST_SKIP() << "the row mounts on the sessions directory: it needs root";
  }
}

// A data dir of another user that others may not write (the run lacks
// CAP_DAC_OVERRIDE: see the launcher): the sessions directory, the run's
// own, can be emptied, no directory can be made beside it (EACCES).
void data_dir_of_another_user(const OdooScratch& odoo, Undo&) {
  if (!is_root()) {
    GTEST_SKIP() << "giving the data dir to nobody needs root";
  }
  ASSERT_EQ(::chown(odoo.data_dir().c_str(), 65534, 65534), 0) << std::strerror(errno);
  ASSERT_EQ(::chmod(odoo.data_dir().c_str(), 0755), 0) << std::strerror(errno);
}

// Sets or clears an inode flag of the data dir (what chattr +i / +a do),
// cleared again by `undo`; skips the test where the file system has none.
void flag_data_dir(const OdooScratch& odoo, Undo& undo, int flag, const char* chattr) {
  const auto dir = odoo.data_dir();
  const auto set_flag = [dir, flag](bool on) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int flags = 0;
    bool ok = fd >= 0 && ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    flags = on ? (flags | flag) : (flags & ~flag);
    ok = ok && ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    const int err = errno;
    if (fd >= 0) {
      ::close(fd);
    }
    errno = err;
    return ok;
  };
  if (!set_flag(true)) {
    GTEST_SKIP() << "cannot set " << chattr << " on " << dir << ": "
                 << std::strerror(errno);
  }
  undo.add([set_flag] { (void)set_flag(false); });
}

// chattr +i on the data dir: no entry can be added to it, not even by root
// (EPERM); the sessions directory in it is not immutable.
void immutable_data_dir(const OdooScratch& odoo, Undo& undo) {
  flag_data_dir(odoo, undo, FS_IMMUTABLE_FL, "chattr +i");
}

// chattr +a on the data dir: entries may be added (the fresh directory is
// made) but none removed or renamed away (EPERM), not even by root.
void append_only_data_dir(const OdooScratch& odoo, Undo& undo) {
  flag_data_dir(odoo, undo, FS_APPEND_FL, "chattr +a");
}

const FallbackRow k_rows[] = {
    {"rename_exdev_overlayfs_lower_layer",
     "sessions.while_stopped",
     data_dir_on_overlayfs,
     nullptr,
     {},
     "it cannot be renamed (renameat {DATA}/sessions: Invalid cross-device link)",
     ""},
    {"rename_ebusy_mounted_after_the_checks",
     "sessions.fresh_made",
     needs_root,
     mount_on_the_sessions_dir,
     {},
     "it cannot be renamed (renameat {DATA}/sessions: Device or resource busy)",
     ""},
    // Root without CAP_DAC_OVERRIDE meets the permission bits as any user
    // does (a unit whose CapabilityBoundingSet= leaves it out, say).
    {"mkdir_eacces_parent_not_writable",
     "sessions.while_stopped",
     data_dir_of_another_user,
     nullptr,
     {"setpriv", "--bounding-set", "-dac_override"},
     "no fresh directory can be made like it (mkdirat {DATA}/.sessions.purge-",
     ".fresh: Permission denied)"},
    {"mkdir_eperm_parent_immutable",
     "sessions.while_stopped",
     immutable_data_dir,
     nullptr,
     {},
     "no fresh directory can be made like it (mkdirat {DATA}/.sessions.purge-",
     ".fresh: Operation not permitted)"},
    {"rename_eperm_parent_append_only",
     "sessions.while_stopped",
     append_only_data_dir,
     nullptr,
     {},
     "it cannot be renamed (renameat {DATA}/sessions: Operation not permitted)",
     "",
     true},
};

// The fresh directory an append-only parent kept: one, empty, and a warning
// that names it and says what to do.
void expect_fresh_kept(const OdooScratch& odoo, const std::vector<std::string>& before,
                       const std::string& err) {
  std::vector<std::string> added;
  std::ranges::set_difference(names_in(odoo.data_dir()), before,
                              std::back_inserter(added));
  ASSERT_EQ(added.size(), 1U) << err;
  EXPECT_TRUE(added[0].starts_with(".sessions.purge-") && added[0].ends_with(".fresh"))
      << added[0];
  EXPECT_TRUE(fs::is_empty(odoo.data_dir() / added[0]));
  // Once, when the rename fails: the purge after the restart, which looks
  // for what earlier runs left, does not try this run's own again.
  const auto warnings = lines_with(err, "; remove that empty directory by hand");
  ASSERT_EQ(warnings.size(), 1U) << err;
  EXPECT_EQ(warnings[0], "<4>sessions: rmdir " + (odoo.data_dir() / added[0]).string() +
                             ": Operation not permitted; remove that empty directory by "
                             "hand");
}

void expect_reason(const std::string& text, const std::string& starts,
                   const std::string& ends) {
  EXPECT_TRUE(text.starts_with(starts)) << text << "\ndoes not start with\n" << starts;
  EXPECT_TRUE(text.ends_with(ends)) << text << "\ndoes not end with\n" << ends;
}

class ColdSessionsFallback : public ::testing::TestWithParam<FallbackRow> {};

} // namespace

// The whole contract of the fallback: exit 0 and a backup that restores,
// Odoo running again, the warning naming the reason, every file deleted
// with Odoo stopped (counted in the manifest, runs.jsonl and the log), the
// same sessions directory left, nothing outside it touched.
TEST_P(ColdSessionsFallback, WarnsWhyAndDeletesInPlaceWhileOdooIsStopped) {
  const FallbackRow& row = GetParam();
  OdooScratch odoo;
  Undo undo; // before the scratch Odoo goes
  if (row.before != nullptr) {
    row.before(odoo, undo);
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
  }
  odoo.install_odoo_service();
  const auto sessions = sessions_of(odoo);
  const auto outside = plant_traps(odoo);
  const struct stat dir_before = stat_of(sessions);
  const auto data_dir_names = names_in(odoo.data_dir());
  const Before before = take_before(odoo);
  const auto digests = odoo.scratch() / "snapshot-digests";
  const auto metrics = odoo.scratch() / "odbox.prom";
  StoppedRun run(odoo, RunKind::cold,
                 {"--metrics-file", metrics.string(), "--pg-dump",
                  wrapper("pg_dump-snapshot-digests").string()},
                 {"ODBOX_DIGESTS_OUT=" + digests.string()}, row.point, row.launcher);
  ASSERT_TRUE(run.reached()) << run.err();
  const RegularFiles files = regular_files(sessions); // Odoo stopped: all there is
  ASSERT_GT(files.paths.size(), 1U);
  if (row.at_point != nullptr) {
    row.at_point(odoo, undo);
  }
  const Outcome outcome = run.resume(0);
  if (IsSkipped()) {
    return;
  }

  expect_contract(odoo, RunKind::cold, before, outcome,
                  {.exit_code = 0, .backup = Backup::either});
  EXPECT_EQ(odoo.restore_digests(odoo.dump()), parse_digests(read_file(digests)))
      << "the dump does not restore to its snapshot";

  const std::string starts = substitute(row.because_starts, odoo);
  const std::string ends = row.because_ends;
  const auto warnings = lines_with(outcome.err, " cannot be moved aside (");
  ASSERT_EQ(warnings.size(), 1U) << outcome.err;
  const std::string head =
      "<4>sessions: " + sessions.string() + " cannot be moved aside (";
  const std::string tail = "): deleting its files in place, Odoo stopped (the downtime "
                           "grows with their number)";
  EXPECT_TRUE(warnings[0].starts_with(head + starts)) << warnings[0];
  EXPECT_TRUE(warnings[0].ends_with(ends + tail)) << warnings[0];

  for (const auto& file : files.paths) {
    EXPECT_FALSE(fs::exists(fs::symlink_status(file))) << file;
  }
  expect_outside_intact(outside);
  EXPECT_TRUE(fs::is_symlink(sessions / "zz")) << "links are left where they were";
  if (row.fresh_stays) {
    expect_fresh_kept(odoo, data_dir_names, outcome.err);
  } else {
    EXPECT_EQ(names_in(odoo.data_dir()), data_dir_names) << "the data dir changed";
    EXPECT_TRUE(moved_aside(sessions).empty());
  }
  const struct stat dir_after = stat_of(sessions);
  EXPECT_EQ(dir_after.st_ino, dir_before.st_ino) << "not the same directory";
  EXPECT_EQ(dir_after.st_mode, dir_before.st_mode);
  EXPECT_EQ(dir_after.st_uid, dir_before.st_uid);
  EXPECT_EQ(dir_after.st_gid, dir_before.st_gid);

  const auto purged = odoo.manifest()["sessions"];
  EXPECT_EQ(purged["method"], "in_place");
  expect_reason(purged.value("in_place_because", ""), starts, ends);
  EXPECT_EQ(purged["files_removed"], files.paths.size());
  EXPECT_EQ(purged["bytes_removed"], files.bytes);
  EXPECT_EQ(purged["errors"], 0);
  EXPECT_EQ(purged["leftovers"], 0);
  EXPECT_EQ(purged["complete"], true);
  EXPECT_GT(purged["while_stopped_seconds"].get<double>(), 0.0);
  EXPECT_EQ(odoo.runs().back()["sessions"], purged);
  const auto samples = metric_samples(read_file(metrics));
  const std::string label = "{kind=\"cold\",database=\"" + odoo.db() + "\"}";
  EXPECT_EQ(sample(samples, "odbox_backup_sessions_purged_in_place" + label), "1");
  EXPECT_EQ(sample(samples, "odbox_backup_sessions_removed_files" + label),
            std::to_string(files.paths.size()));
  const auto deleted = lines_with(outcome.err, "<6>sessions: deleted ");
  ASSERT_EQ(deleted.size(), 1U) << outcome.err;
  EXPECT_TRUE(deleted[0].starts_with(
      "<6>sessions: deleted " + std::to_string(files.paths.size()) + " files (" +
      odbox::util::format_bytes(files.bytes) + ") from " + sessions.string() + " in "))
      << deleted[0];
}

INSTANTIATE_TEST_SUITE_P(Causes, ColdSessionsFallback, ::testing::ValuesIn(k_rows),
                         [](const auto& row) { return std::string(row.param.name); });

namespace {

// The sessions directory replaced, after the preflight and while Odoo is
// stopped, by what the preflight refuses.
struct SwapRow {
  const char* name;
  void (*swap)(const OdooScratch&);
  const char* reason; // in the warning
  const char* error;  // in the error line
};

void PrintTo(const SwapRow& row, std::ostream* os) {
  *os << row.name;
}

// The run's --sessions-dir, apart from the one the stand-in writes into (a
// stand-in that met the swap would stop with an error, or write through
// the link).
fs::path run_sessions(const OdooScratch& odoo) {
  return odoo.scratch() / "sessions";
}

fs::path real_sessions(const OdooScratch& odoo) {
  return odoo.scratch() / "real-sessions";
}

void swap_for_a_link(const OdooScratch& odoo) {
  fs::rename(run_sessions(odoo), real_sessions(odoo));
  fs::create_directory_symlink(real_sessions(odoo), run_sessions(odoo));
}

void swap_for_a_file(const OdooScratch& odoo) {
  fs::rename(run_sessions(odoo), real_sessions(odoo));
  odbox_test::write_file(run_sessions(odoo), "not sessions\n");
}

const SwapRow k_swaps[] = {
    {"symlink_to_a_directory_outside", swap_for_a_link, "it is a symbolic link",
     "sessions is a symbolic link: refusing to follow it"},
    {"regular_file", swap_for_a_file, "it is not a directory",
     "sessions is not a directory: point --sessions-dir"},
};

class ColdSessionsSwapped : public ::testing::TestWithParam<SwapRow> {};

} // namespace

// Neither moved aside nor followed: the run fails with the reason, keeps the
// previous backup and starts Odoo again; the next run is clean.
TEST_P(ColdSessionsSwapped, WhileOdooIsStoppedNeitherMovedNorFollowed) {
  const SwapRow& row = GetParam();
  OdooScratch odoo;
  odoo.install_odoo_service();
  const auto previous = odoo.backup({"hot"});
  ASSERT_EQ(previous.exit_code, 0) << previous.err;
  odbox_test::write_file(run_sessions(odoo) / "werkzeug_a.sess", "a");
  odbox_test::write_file(run_sessions(odoo) / "ab" / "ab01", "b");
  const Before before = take_before(odoo);
  StoppedRun run(odoo, RunKind::cold, {"--sessions-dir", run_sessions(odoo).string()}, {},
                 "sessions.while_stopped");
  ASSERT_TRUE(run.reached()) << run.err();
  row.swap(odoo);
  const auto kept = odbox_test::tree_digest(real_sessions(odoo));
  ASSERT_FALSE(kept.empty());
  const Outcome outcome = run.resume(0);
  expect_contract(odoo, RunKind::cold, before, outcome,
                  {.exit_code = 1, .backup = Backup::previous, .errors = {row.error}});
  const auto warnings = lines_with(outcome.err, " cannot be moved aside (");
  ASSERT_EQ(warnings.size(), 1U) << outcome.err;
  EXPECT_NE(warnings[0].find(" cannot be moved aside (" + std::string(row.reason) + ")"),
            std::string::npos)
      << warnings[0];
  EXPECT_EQ(odbox_test::tree_digest(real_sessions(odoo)), kept)
      << "what it named changed";

  expect_next_run_clean(odoo, RunKind::cold);
}

INSTANTIATE_TEST_SUITE_P(Swaps, ColdSessionsSwapped, ::testing::ValuesIn(k_swaps),
                         [](const auto& row) { return std::string(row.param.name); });
