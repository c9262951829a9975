#include "fault_contract.hpp"

#include "odbox/util/digest.hpp"
#include "odbox/util/text.hpp"

#include <algorithm>
#include <csignal>
#include <gtest/gtest.h>
#include <poll.h>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace odbox::it {
namespace {

constexpr auto k_run_timeout = std::chrono::minutes(5);

std::string read_or_empty(const fs::path& file) {
  std::error_code ec;
  return fs::exists(file, ec) ? read_file(file) : std::string();
}

fs::path files_tsv(const OdooScratch& odoo) {
  return odoo.area() / (odoo.db() + ".files.tsv");
}

fs::path zst(const OdooScratch& odoo) {
  return odoo.area() / (odoo.db() + ".dump.sql.zst");
}

fs::path marker(const OdooScratch& odoo) {
  return odoo.marker_dir() / "odoo.service.stopped";
}

std::size_t run_count(const OdooScratch& odoo) {
  return fs::exists(odoo.area() / "runs.jsonl") ? odoo.runs().size() : 0;
}

Outcome outcome_of(const RunOutput& out) {
  return {out.signal != 0 ? 128 + out.signal : out.exit_code, out.err};
}

// Entries of the area root and of the mirror that no committed backup holds:
// temporary files (".<name>.tmp.<pid>.<n>"), rsync's partial files
// (".<name>.XXXXXX" beside the file), anything else.
std::vector<std::string> leftovers(const OdooScratch& odoo) {
  const std::set<std::string> known{odoo.db() + ".dump.sql",
                                    odoo.db() + ".dump.sql.zst",
                                    odoo.db() + ".manifest.json",
                                    odoo.db() + ".files.tsv",
                                    "filestore",
                                    "runs.jsonl",
                                    ".lock"};
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(odoo.area())) {
    if (!known.contains(e.path().filename().string())) {
      out.push_back(e.path().string());
    }
  }
  if (fs::exists(odoo.mirror())) {
    for (const auto& e : fs::recursive_directory_iterator(odoo.mirror())) {
      if (e.path().filename().string().starts_with(".")) {
        out.push_back(e.path().string());
      }
    }
  }
  return out;
}

// Every file the committed file list names is in the mirror, a regular file
// of the size the list gives.
void expect_referenced_files_in_mirror(const OdooScratch& odoo) {
  std::size_t checked = 0;
  for (const auto& line : odbox_test::read_lines(files_tsv(odoo))) {
    std::istringstream fields(line);
    std::string name;
    std::string size;
    std::getline(fields, name, '\t');
    std::getline(fields, size, '\t');
    struct stat st {};
    const auto path = odoo.mirror() / name;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      ADD_FAILURE() << "referenced file missing from the mirror: " << name;
      continue;
    }
    if (size != "\\N") {
      EXPECT_EQ(std::to_string(st.st_size), size) << name;
    }
    ++checked;
  }
  EXPECT_GT(checked, 0U) << "the file list names no file";
}

// The SQL of the committed dump: the plain file, or the .zst decompressed by
// the zstd tool into the scratch directory.
fs::path plain_dump(const OdooScratch& odoo) {
  if (odoo.manifest()["dump"].value("compression", "none") != "zstd") {
    return odoo.dump();
  }
  const auto plain = odoo.scratch() / "committed-dump.sql";
  const auto out =
      run({"zstd", "-q", "-d", "-f", zst(odoo).string(), "-o", plain.string()});
  EXPECT_EQ(out.exit_code, 0) << "zstd -d: " << out.describe();
  return plain;
}

// The committed set holds together: the dump is the one the manifest
// describes, alone in its mode, and is complete; the file list has the
// manifest's count, the mirror holds it, and `verify` agrees.
void expect_complete_set(const OdooScratch& odoo) {
  const auto m = odoo.manifest();
  const bool zstd = m["dump"].value("compression", "none") == "zstd";
  const fs::path file = zstd ? zst(odoo) : odoo.dump();
  EXPECT_EQ(m["dump"]["file"], file.filename().string());
  EXPECT_FALSE(fs::exists(zstd ? odoo.dump() : zst(odoo)))
      << "the dump of the other compression mode stays beside the new one";
  EXPECT_EQ(m["dump"]["bytes"].get<std::uint64_t>(), fs::file_size(file));
  EXPECT_EQ(m["dump"]["sha256"].get<std::string>(),
            util::file_digest(file.string(), util::Digest::Kind::sha256));
  const std::string dump = read_file(plain_dump(odoo));
  EXPECT_NE(dump.substr(0, 512).find("--\n-- PostgreSQL database dump\n"),
            std::string::npos)
      << "the dump lacks pg_dump's header";
  EXPECT_NE(dump.rfind("-- PostgreSQL database dump complete"), std::string::npos)
      << "the dump lacks pg_dump's closing line";
  EXPECT_EQ(odbox_test::read_lines(files_tsv(odoo)).size(),
            m["filestore"]["referenced"].get<std::size_t>());
  expect_referenced_files_in_mirror(odoo);
  const auto verify = odoo.backup({"verify"});
  EXPECT_EQ(verify.exit_code, 0) << "verify: " << verify.describe();
}

void expect_backup(const OdooScratch& odoo, const Before& before, Backup backup) {
  const bool same = read_or_empty(odoo.dump()) == before.dump &&
                    read_or_empty(zst(odoo)) == before.zst &&
                    read_or_empty(files_tsv(odoo)) == before.files &&
                    read_or_empty(odoo.manifest_path()) == before.manifest;
  if (backup == Backup::previous) {
    EXPECT_TRUE(read_or_empty(odoo.dump()) == before.dump) << "the previous dump changed";
    EXPECT_TRUE(read_or_empty(zst(odoo)) == before.zst) << "the previous .zst changed";
    EXPECT_TRUE(read_or_empty(files_tsv(odoo)) == before.files)
        << "the previous file list changed";
    EXPECT_TRUE(read_or_empty(odoo.manifest_path()) == before.manifest)
        << "the previous manifest changed";
    expect_referenced_files_in_mirror(odoo);
    return;
  }
  if (!same) {
    SCOPED_TRACE("a new set was committed");
    EXPECT_TRUE(read_or_empty(odoo.manifest_path()) != before.manifest)
        << "a new dump or file list beside the previous manifest";
  }
  expect_complete_set(odoo);
}

// Whether `line` holds every part of `expected` (" && " between parts) in order.
bool says(const std::string& line, const std::string& expected) {
  constexpr std::string_view k_and = " && ";
  std::size_t at = 0;
  std::size_t part = 0;
  while (true) {
    const std::size_t end = std::min(expected.find(k_and, part), expected.size());
    at = line.find(expected.substr(part, end - part), at);
    if (at == std::string::npos) {
      return false;
    }
    if (end == expected.size()) {
      return true;
    }
    part = end + k_and.size();
  }
}

void expect_errors(const Outcome& outcome, const std::vector<std::string>& expected) {
  const auto lines = error_lines(outcome.err);
  ASSERT_EQ(lines.size(), expected.size()) << "error lines:\n" << outcome.err;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_TRUE(says(lines[i], expected[i]))
        << "error line " << i << " does not say '" << expected[i] << "':\n"
        << lines[i];
    EXPECT_EQ(util::printable(lines[i]), lines[i]) << "a raw byte in the log";
  }
}

void expect_odoo(const OdooScratch& odoo, const Before& before,
                 const Contract& contract) {
  const auto calls = odoo.service_calls();
  std::ptrdiff_t stops = 0;
  std::ptrdiff_t starts = 0;
  for (std::size_t i = before.service_calls; i < calls.size(); ++i) {
    stops += calls[i].second.starts_with("stop ") ? 1 : 0;
    starts += calls[i].second.starts_with("start ") ? 1 : 0;
  }
  if (contract.odoo_left_down) {
    EXPECT_FALSE(odoo.odoo_active()) << "Odoo runs: nothing left for cold-recover to do";
    EXPECT_TRUE(fs::exists(marker(odoo))) << "no marker for cold-recover";
    return;
  }
  EXPECT_EQ(odoo.odoo_active(), before.odoo_active) << "Odoo is not as it was";
  EXPECT_FALSE(fs::exists(marker(odoo))) << "a marker was left";
  EXPECT_EQ(starts, stops) << "every stop is followed by a start";
}

} // namespace

std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.size() >= 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '3' &&
        line[2] == '>') {
      out.push_back(line);
    }
  }
  return out;
}

Before take_before(const OdooScratch& odoo) {
  return {.dump = read_or_empty(odoo.dump()),
          .zst = read_or_empty(zst(odoo)),
          .files = read_or_empty(files_tsv(odoo)),
          .manifest = read_or_empty(odoo.manifest_path()),
          .runs = run_count(odoo),
          .service_calls = odoo.service_calls().size(),
          .odoo_active = odoo.odoo_active()};
}

Args run_args(const OdooScratch& odoo, RunKind kind, const Args& extra) {
  Args args{"--basedir",  odoo.basedir().string(), "--db", odoo.db(),
            "--data-dir", odoo.data_dir().string()};
  if (kind == RunKind::cold) {
    args.insert(args.end(), {"--systemctl", fake_systemctl(), "cold", "--marker-dir",
                             odoo.marker_dir().string()});
  } else {
    args.emplace_back("hot");
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Env run_env(const OdooScratch& odoo, RunKind kind, const Env& extra) {
  return odbox_test::env_list(
      {kind == RunKind::cold ? odoo.systemctl_env() : Env{}, extra});
}

Outcome run_through(const OdooScratch& odoo, RunKind kind, const Args& extra,
                    const Env& env) {
  return outcome_of(odoo.raw(run_args(odoo, kind, extra), run_env(odoo, kind, env)));
}

StoppedRun::StoppedRun(const OdooScratch& odoo, RunKind kind, const Args& extra,
                       const Env& env, const std::string& point, const Args& launcher)
    : m_err_file(odoo.scratch() /
                 ("stderr-" + point + "-" + std::to_string(::time(nullptr)) + ".log")) {
  util::SpawnSpec spec;
  // The shell only redirects stderr and becomes odbox-backup (same pid), as
  // the launcher does.
  spec.argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$ODBOX_TEST_STDERR\""};
  spec.argv.insert(spec.argv.end(), launcher.begin(), launcher.end());
  spec.argv.push_back(tool_binary());
  const Args args = run_args(odoo, kind, extra);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env_set = odbox_test::env_list({odoo.pg().env(),
                                       run_env(odoo, kind, env),
                                       stop_at(point),
                                       {"ODBOX_TEST_STDERR=" + m_err_file.string()}});
  spec.capture_stdout = false;
  spec.capture_stderr = false;
  auto child = util::spawn(spec);
  if (!child) {
    throw std::runtime_error("cannot start odbox-backup: " + child.error().message());
  }
  m_child = std::move(*child);
  m_reached = wait_until_stopped(m_child.pid(), std::chrono::minutes(2));
}

std::string StoppedRun::err() const {
  return read_or_empty(m_err_file);
}

Outcome StoppedRun::resume(int signal) {
  if (signal != 0) {
    ::kill(m_child.pid(), signal);
  }
  if (signal != SIGKILL) {
    ::kill(m_child.pid(), SIGCONT);
  }
  pollfd ended{.fd = m_child.pidfd(), .events = POLLIN, .revents = 0};
  const auto timeout_ms = std::chrono::milliseconds(k_run_timeout).count();
  if (::poll(&ended, 1, static_cast<int>(timeout_ms)) == 0) {
    m_child.kill_group(SIGKILL);
    ADD_FAILURE() << "the run did not end within 5 minutes";
  }
  const auto status = m_child.wait();
  return {status.signal != 0 ? 128 + status.signal : status.code, err()};
}

void expect_contract(const OdooScratch& odoo, RunKind kind, const Before& before,
                     const Outcome& outcome, const Contract& contract) {
  EXPECT_EQ(outcome.exit_code, contract.exit_code) << outcome.err;
  expect_errors(outcome, contract.errors);
  expect_backup(odoo, before, contract.backup);
  if (contract.cleans_up) {
    EXPECT_EQ(leftovers(odoo), std::vector<std::string>{}) << "left behind by the run";
  }
  const auto runs = odoo.runs(); // every line parses
  ASSERT_EQ(runs.size(), before.runs + (contract.recorded ? 1 : 0))
      << "runs.jsonl lines written by the run";
  if (contract.recorded) {
    EXPECT_EQ(runs.back()["exit_code"], contract.exit_code) << runs.back().dump();
  }
  if (kind == RunKind::cold) {
    expect_odoo(odoo, before, contract);
  }
}

void expect_cold_recover_starts_odoo(const OdooScratch& odoo) {
  const auto out = odoo.backup({"--systemctl", fake_systemctl(), "cold-recover",
                                "--marker-dir", odoo.marker_dir().string()},
                               odoo.systemctl_env());
  EXPECT_EQ(out.exit_code, 0) << out.describe();
  EXPECT_NE(out.err.find("did not start it again"), std::string::npos) << out.err;
  EXPECT_TRUE(odoo.odoo_active()) << "cold-recover did not start Odoo";
  EXPECT_FALSE(fs::exists(marker(odoo))) << "cold-recover left the marker";
}

void expect_next_run_clean(OdooScratch& odoo, RunKind kind, const Args& mode) {
  SCOPED_TRACE("the next run");
  const Before before = take_before(odoo);
  const auto digests = odoo.scratch() / "next-run-snapshot-digests";
  Args args{"--pg-dump", wrapper("pg_dump-snapshot-digests").string()};
  args.insert(args.end(), mode.begin(), mode.end());
  const auto out =
      run_through(odoo, kind, args, {"ODBOX_DIGESTS_OUT=" + digests.string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(error_lines(out.err), std::vector<std::string>{});
  EXPECT_EQ(leftovers(odoo), std::vector<std::string>{}) << "left after the next run";
  const auto runs = odoo.runs();
  ASSERT_EQ(runs.size(), before.runs + 1);
  EXPECT_EQ(runs.back()["exit_code"], 0);
  expect_complete_set(odoo);
  if (kind == RunKind::cold) {
    EXPECT_TRUE(odoo.odoo_active());
    EXPECT_FALSE(fs::exists(marker(odoo)));
  }
  EXPECT_EQ(odoo.restore_digests(plain_dump(odoo)), parse_digests(read_file(digests)))
      << "the dump does not restore to its snapshot";
}

} // namespace odbox::it
