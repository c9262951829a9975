#include "bad_inputs.hpp"

#include "odbox/util/process.hpp"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::it {
namespace {

// `command`, then `given`, then the options of `defaults` that `given` leaves
// out (given twice, a single-valued option is an error of its own). Global
// options may follow the command.
Args command_line(const std::string& command, const Args& given,
                  const std::vector<std::pair<std::string, std::string>>& defaults) {
  Args args{command};
  args.insert(args.end(), given.begin(), given.end());
  for (const auto& [key, value] : defaults) {
    const bool is_given = std::ranges::any_of(given, [&](const std::string& a) {
      return a == key || a.starts_with(key + "=");
    });
    if (!is_given) {
      args.push_back(key);
      args.push_back(value);
    }
  }
  return args;
}

Args hot(const Args& given = {}) {
  return command_line(
      "hot", given,
      {{"--basedir", "{BASEDIR}"}, {"--db", "{DB}"}, {"--data-dir", "{DATA}"}});
}

Args cold(const Args& given = {}) {
  return command_line("cold", given,
                      {{"--basedir", "{BASEDIR}"},
                       {"--db", "{DB}"},
                       {"--data-dir", "{DATA}"},
                       {"--systemctl", "{SYSTEMCTL}"},
                       {"--marker-dir", "{MARKER}"}});
}

} // namespace

std::string substitute(std::string s, const OdooScratch& odoo) {
  const std::pair<std::string, std::string> vars[] = {
      {"{BASEDIR}", odoo.basedir().string()},
      {"{DATA}", odoo.data_dir().string()},
      {"{DB}", odoo.db()},
      {"{SCRATCH}", odoo.scratch().string()},
      {"{SYSTEMCTL}", fake_systemctl()},
      {"{MARKER}", odoo.marker_dir().string()},
      {"{PSQL}", odbox::util::find_executable("psql").value_or("psql")}};
  for (const auto& [key, value] : vars) {
    for (auto pos = s.find(key); pos != std::string::npos; pos = s.find(key)) {
      s.replace(pos, key.size(), value);
    }
  }
  return s;
}

namespace {

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

void drop_plain_database(const OdooScratch& odoo) {
  run({"dropdb", "--if-exists", odoo.db() + "_plain"}, odoo.pg().env());
}

void make_plain_database(const OdooScratch& odoo) {
  drop_plain_database(odoo); // left by an earlier run that was killed
  const auto out = run({"createdb", odoo.db() + "_plain"}, odoo.pg().env());
  ASSERT_EQ(out.exit_code, 0) << out.err;
}

void write_config_files(const OdooScratch& odoo) {
  const auto dir = odoo.scratch() / "config";
  write(dir / "broken.json", "{\"basedir\": \"/x\",");
  write(dir / "typo.json", R"({"basdir": "/x"})");
  write(dir / "blank-data-dir.json", R"({"data_dir": "  "})");
  write(dir / "empty-basedir.json", R"({"basedir": ""})");
  write(dir / "huge-timeout.json", R"({"lock_wait_timeout_seconds": 1e300})");
  write(dir / "zero-stop.json", R"({"cold": {"stop_timeout_seconds": 0}})");
  write(dir / "not-utf8.json", "{\"basedir\": \"/b\xff\"}");
  write(dir / "bad-compression.json", R"({"compression": "gzip"})");
  write(dir / "negative-threads.json", R"({"compression_threads": -1})");
}

void write_plain_file(const OdooScratch& odoo) {
  write(odoo.scratch() / "plain", "x\n");
}

void make_empty_dir(const OdooScratch& odoo) {
  fs::create_directories(odoo.scratch() / "dir");
}

void link_basedir_owned_by_nobody(const OdooScratch& odoo) {
  fs::create_directories(odoo.scratch() / "disk");
  fs::create_directory_symlink(odoo.scratch() / "disk", odoo.basedir());
  ASSERT_EQ(::lchown(odoo.basedir().c_str(), 65534, 65534), 0);
}

void link_basedir_to_nowhere(const OdooScratch& odoo) {
  fs::create_directory_symlink(odoo.scratch() / "unmounted" / "backup", odoo.basedir());
}

// A basedir of mode 0755 (prepare() would narrow it) holding `<area>`, or
// `<area>/filestore/<db>`, as a symbolic link.
void link_area(const OdooScratch& odoo, const fs::path& link) {
  fs::create_directories(odoo.scratch() / "elsewhere");
  fs::create_directories(link.parent_path());
  ::chmod(odoo.basedir().c_str(), 0755);
  fs::create_directory_symlink(odoo.scratch() / "elsewhere", link);
}
void link_area_root(const OdooScratch& odoo) {
  link_area(odoo, odoo.area());
}
void link_area_mirror(const OdooScratch& odoo) {
  link_area(odoo, odoo.mirror());
}

void area_root_is_a_file(const OdooScratch& odoo) {
  fs::create_directories(odoo.basedir());
  write(odoo.area(), "x\n");
}

void link_sessions_dir(const OdooScratch& odoo) {
  const auto sessions = odoo.data_dir() / "sessions";
  fs::rename(sessions, odoo.scratch() / "real-sessions");
  fs::create_directory_symlink(odoo.scratch() / "real-sessions", sessions);
}

void make_metrics_dir_a_directory(const OdooScratch& odoo) {
  fs::create_directories(odoo.scratch() / "textfile" / "odbox.prom");
}

const BadInput k_rows[] = {
    // Paths
    {"relative_basedir", hot({"--basedir", "backup"}),
     "--basedir must be an absolute path"},
    {"relative_data_dir", hot({"--data-dir", "odoo"}),
     "--data-dir must be an absolute path"},
    {"empty_basedir", hot({"--basedir", ""}), "--basedir: the value is empty"},
    {"blank_basedir", hot({"--basedir", "  "}), "--basedir: the value is empty or blank"},
    {"empty_data_dir", hot({"--data-dir", ""}), "--data-dir: the value is empty"},
    {"basedir_inside_data_dir", hot({"--basedir", "{DATA}/backup"}),
     "is inside the Odoo data directory"},
    {"data_dir_inside_basedir", hot({"--basedir", "{SCRATCH}"}),
     "is inside the backup area"},
    {"missing_data_dir", hot({"--data-dir", "{SCRATCH}/nope"}),
     "does not exist: check --data-dir"},
    {"data_dir_is_a_file", hot({"--data-dir", "{SCRATCH}/plain"}),
     "is not a directory: check --data-dir", write_plain_file},
    {"missing_sessions_dir", hot({"--sessions-dir", "{SCRATCH}/nope"}),
     "the sessions directory {SCRATCH}/nope does not exist"},
    {"sessions_dir_over_file_store", hot({"--sessions-dir", "{DATA}/filestore"}),
     "overlaps the backup area or the file store"},
    {"sessions_dir_is_a_link", cold(), "is a symbolic link: refusing to follow it",
     link_sessions_dir, Odoo::service},
    {"sessions_dir_is_a_file", cold({"--sessions-dir", "{SCRATCH}/plain"}),
     "is not a directory: point --sessions-dir", write_plain_file, Odoo::service},
    {"relative_marker_dir", cold({"--marker-dir", "run"}),
     "--marker-dir must be an absolute path", nullptr, Odoo::service},
    {"relative_metrics_file", hot({"--metrics-file", "odbox.prom"}),
     "--metrics-file must be an absolute path"},
    {"metrics_dir_missing", hot({"--metrics-file", "{SCRATCH}/textfile/odbox.prom"}),
     "its directory {SCRATCH}/textfile does not exist"},
    {"metrics_dir_missing_cold",
     cold({"--metrics-file", "{SCRATCH}/textfile/odbox.prom"}),
     "does not exist: create it", nullptr, Odoo::service},
    {"metrics_file_is_a_directory",
     hot({"--metrics-file", "{SCRATCH}/textfile/odbox.prom"}), "it is a directory",
     make_metrics_dir_a_directory},
    {"basedir_link_not_owned_by_root", hot(), "owned by uid 65534, not root",
     link_basedir_owned_by_nobody},
    {"basedir_link_to_nowhere", hot(), "which does not exist: mount the backup disk",
     link_basedir_to_nowhere},
    {"area_is_a_link", hot(), "{BASEDIR}/odoo is a symbolic link", link_area_root},
    {"area_is_a_link_cold", cold(), "{BASEDIR}/odoo is a symbolic link", link_area_root,
     Odoo::service},
    {"mirror_is_a_link", hot(), "/filestore/{DB} is a symbolic link", link_area_mirror},
    {"area_is_a_file", hot(), "{BASEDIR}/odoo exists but is not a directory",
     area_root_is_a_file},
    // Names
    {"database_with_slash", hot({"--db", "a/b"}), "invalid database name 'a/b'"},
    {"database_dot_dot", hot({"--db", ".."}), "invalid database name '..'"},
    {"database_leading_dash", hot({"--db=-x"}), "invalid database name '-x'"},
    {"database_not_utf8", hot({"--db", "caf\xe9"}),
     "invalid database name 'caf\\xe9': it contains the character '\\xe9'"},
    {"database_too_long", hot({"--db", std::string(64, 'a')}),
     "longer than PostgreSQL's 63 bytes"},
    {"database_twice", hot({"--db", "{DB}", "--db", "{DB}"}), "is given twice"},
    {"empty_database", hot({"--db", ""}), "--db: the value is empty"},
    {"no_database",
     {"--basedir", "{BASEDIR}", "--data-dir", "{DATA}", "hot"},
     "no database given"},
    {"database_does_not_exist", hot({"--db", "{DB}_nope"}),
     "does not exist on the PostgreSQL server"},
    {"not_an_odoo_database", hot({"--db", "{DB}_plain"}), "not an Odoo database",
     make_plain_database, Odoo::absent, drop_plain_database},
    {"unknown_odoo_service", cold({"--odoo-service", "nope.service"}),
     "service nope.service is not known to systemd", nullptr, Odoo::service},
    {"empty_odoo_service", cold({"--odoo-service", ""}),
     "--odoo-service: the value is empty", nullptr, Odoo::service},
    {"unknown_compression", hot({"--compression", "gzip"}),
     "--compression is 'gzip': give none, zstd or zstd:LEVEL with LEVEL from 1 to 19"},
    {"compression_level_too_high", hot({"--compression", "zstd:20"}),
     "--compression is 'zstd:20'"},
    {"compression_level_zero", cold({"--compression", "zstd:0"}),
     "--compression is 'zstd:0'", nullptr, Odoo::service},
    {"compression_level_not_a_number", hot({"--compression", "zstd:fast"}),
     "--compression is 'zstd:fast'"},
    {"compression_threads_negative", hot({"--compression-threads", "-1"}),
     "'-1' is not a whole number of threads from 0 (none) to 64"},
    {"compression_threads_too_many", cold({"--compression-threads", "65"}),
     "'65' is not a whole number of threads", nullptr, Odoo::service},
    // Config files
    {"config_bad_compression",
     {"--config", "{SCRATCH}/config/bad-compression.json", "hot"},
     "'compression' is 'gzip'",
     write_config_files},
    {"config_negative_compression_threads",
     {"--config", "{SCRATCH}/config/negative-threads.json", "hot"},
     "'compression_threads' must be a whole number of threads from 0 (none) to 64, not "
     "-1",
     write_config_files},
    {"config_not_json",
     {"--config", "{SCRATCH}/config/broken.json", "hot"},
     "is not valid JSON",
     write_config_files},
    {"config_unknown_key",
     {"--config", "{SCRATCH}/config/typo.json", "hot"},
     "'basdir' is not a known setting",
     write_config_files},
    {"config_missing",
     {"--config", "{SCRATCH}/none.json", "hot"},
     "cannot read config file {SCRATCH}/none.json"},
    {"config_is_a_directory",
     {"--config", "{SCRATCH}", "hot"},
     "config file {SCRATCH} is a directory"},
    {"config_blank_data_dir",
     {"--config", "{SCRATCH}/config/blank-data-dir.json", "hot"},
     "'data_dir' is empty",
     write_config_files},
    {"config_empty_basedir",
     {"--config", "{SCRATCH}/config/empty-basedir.json", "hot"},
     "'basedir' is empty",
     write_config_files},
    {"config_huge_timeout",
     {"--config", "{SCRATCH}/config/huge-timeout.json", "hot"},
     "'lock_wait_timeout_seconds' must be a whole number of seconds from 0 (no limit) to "
     "86400, not 1e+300",
     write_config_files},
    {"config_zero_stop_timeout",
     {"--config", "{SCRATCH}/config/zero-stop.json", "--systemctl", "{SYSTEMCTL}",
      "cold"},
     "'cold.stop_timeout_seconds' must be a whole number of seconds from 1 to 3600",
     write_config_files,
     Odoo::service},
    {"config_not_utf8",
     {"--config", "{SCRATCH}/config/not-utf8.json", "hot"},
     "is not valid JSON",
     write_config_files},
    // Tools
    {"pg_dump_not_found", hot({"--pg-dump", "/nonexistent/pg_dump"}),
     "not found: install postgresql-client"},
    {"pg_dump_is_a_directory", hot({"--pg-dump", "{SCRATCH}/dir"}),
     "--pg-dump {SCRATCH}/dir is a directory", make_empty_dir},
    {"pg_dump_not_executable", hot({"--pg-dump", "{SCRATCH}/plain"}),
     "is not an executable file", write_plain_file},
    {"pg_dump_is_psql", hot({"--pg-dump", "{PSQL}"}), "does not look like pg_dump"},
    {"empty_pg_dump", hot({"--pg-dump", ""}), "--pg-dump: the value is empty"},
    {"rsync_not_found", hot({"--rsync", "/nonexistent/rsync"}),
     "not found: install rsync"},
    {"rsync_is_a_directory", hot({"--rsync", "{SCRATCH}/dir"}), "is a directory",
     make_empty_dir},
    {"systemctl_not_found", cold({"--systemctl", "/nonexistent/systemctl"}),
     "not found: install systemd", nullptr, Odoo::service},
    {"systemctl_is_a_directory", cold({"--systemctl", "{SCRATCH}/dir"}),
     "--systemctl {SCRATCH}/dir is a directory", make_empty_dir, Odoo::service},
    {"restore_force_without_systemctl",
     {"--basedir", "{BASEDIR}", "--db", "{DB}", "--data-dir", "{DATA}", "--systemctl",
      "/nonexistent/systemctl", "restore", "--force"},
     "not found: install systemd"},
    {"cold_recover_without_systemctl",
     {"--systemctl", "/nonexistent/systemctl", "cold-recover", "--marker-dir",
      "{MARKER}"},
     "not found: install systemd"},
    // Numbers and timeouts
    {"lock_timeout_overflow", hot({"--lock-wait-timeout", "99999999999999999999"}),
     "--lock-wait-timeout: '99999999999999999999' is not a whole number of seconds from "
     "0"},
    {"lock_timeout_float", hot({"--lock-wait-timeout", "1e300"}),
     "'1e300' is not a whole number"},
    {"lock_timeout_negative", hot({"--lock-wait-timeout=-1"}),
     "'-1' is not a whole number"},
    {"lock_timeout_above_range", cold({"--lock-wait-timeout", "86401"}), "to 86400",
     nullptr, Odoo::service},
    {"stop_timeout_zero", cold({"--stop-timeout", "0"}),
     "--stop-timeout: '0' is not a whole number of seconds from 1 to 3600", nullptr,
     Odoo::service},
    {"start_timeout_too_long", cold({"--start-timeout", "3601"}), "from 1 to 3600",
     nullptr, Odoo::service},
    {"keep_days_negative", cold({"--sessions-keep-days", "-3"}), "--sessions-keep-days",
     nullptr, Odoo::service},
    {"keep_days_too_many", cold({"--sessions-keep-days", "99999"}),
     "whole number of days from 0 (purge all) to 3650", nullptr, Odoo::service},
    {"max_age_not_a_duration",
     {"--basedir", "{BASEDIR}", "status", "--max-age", "26x"},
     "--max-age: '26x' is not a duration"},
    {"max_age_zero",
     {"--basedir", "{BASEDIR}", "status", "--max-age", "0"},
     "is not a duration from 1s to 3650d"},
    // The command line itself
    {"unknown_option", {"--basedir", "{BASEDIR}", "--frobnicate", "hot"}, "--frobnicate"},
    {"no_command", {"--basedir", "{BASEDIR}"}, "no command given: give one of hot, cold"},
    {"unknown_command", {"--basedir", "{BASEDIR}", "frob"}, "unknown command 'frob'"},
    {"bad_log_level", hot({"--log-level", "loud"}), "unknown log level"},
    {"empty_log_level", hot({"--log-level", ""}), "--log-level: the value is empty"},
    {"export_without_zip",
     {"--basedir", "{BASEDIR}", "--db", "{DB}", "export"},
     "export needs --zip FILE"},
};

} // namespace

std::span<const BadInput> bad_inputs() {
  return k_rows;
}

} // namespace odbox::it
