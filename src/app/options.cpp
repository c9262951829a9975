#include "odbox/app/options.hpp"

#include "odbox/util/text.hpp"

#include <CLI/CLI.hpp>

namespace odbox::app {
namespace {

template <typename Target>
void set_if_given(Target& target, const std::optional<std::string>& flag) {
  if (flag) {
    target = Target(*flag);
  }
}

} // namespace

core::Config build_config(const SettingFlags& flags) {
  core::Config config;
  if (flags.config_file) {
    core::load_config_file(*flags.config_file, config);
  }
  set_if_given(config.basedir, flags.basedir);
  if (!flags.databases.empty()) {
    config.databases = flags.databases;
  }
  set_if_given(config.data_dir, flags.data_dir);
  if (flags.sessions_dir) {
    config.sessions_dir = *flags.sessions_dir;
  }
  set_if_given(config.odoo_service, flags.odoo_service);
  set_if_given(config.log_level, flags.log_level);
  set_if_given(config.tools.pg_dump, flags.pg_dump);
  set_if_given(config.tools.psql, flags.psql);
  set_if_given(config.tools.rsync, flags.rsync);
  set_if_given(config.tools.systemctl, flags.systemctl);
  set_if_given(config.tools.restic, flags.restic);
  if (flags.metrics_file) {
    config.metrics_file = *flags.metrics_file;
  }
  if (flags.lock_wait_timeout) {
    config.lock_wait_timeout = std::chrono::seconds(*flags.lock_wait_timeout);
  }
  if (flags.compression) {
    core::parse_compression(*flags.compression, "--compression", config.compression);
  }
  if (flags.compression_threads) {
    config.compression.threads = static_cast<int>(*flags.compression_threads);
  }
  config.wait_lock = config.wait_lock || flags.wait_lock;
  config.cold.full_downtime = config.cold.full_downtime || flags.full_downtime;
  if (flags.sessions_keep_days) {
    config.cold.sessions_keep_days = static_cast<int>(*flags.sessions_keep_days);
  }
  if (flags.stop_timeout) {
    config.cold.stop_timeout = std::chrono::seconds(*flags.stop_timeout);
  }
  if (flags.start_timeout) {
    config.cold.start_timeout = std::chrono::seconds(*flags.start_timeout);
  }
  set_if_given(config.cold.marker_dir, flags.marker_dir);
  return config;
}

void add_global_options(CLI::App& app, SettingFlags& flags, CommonOptions& common) {
  app.add_option("--config", flags.config_file, "JSON config file; flags override it")
      ->type_name("FILE");
  app.add_option("--basedir", flags.basedir, "backup base directory (default: /backup)")
      ->type_name("DIR");
  app.add_option("--db", flags.databases, "Odoo database; repeat for several in one run")
      ->type_name("NAME");
  app.add_option("--data-dir", flags.data_dir,
                 "Odoo's data_dir: filestore/ and sessions/")
      ->type_name("DIR");
  app.add_option("--sessions-dir", flags.sessions_dir,
                 "Odoo's sessions (default: DATA_DIR/sessions)")
      ->type_name("DIR");
  app.add_option("--odoo-service", flags.odoo_service,
                 "Odoo's unit (default: odoo.service)")
      ->type_name("UNIT");
  app.add_option("--log-level", flags.log_level,
                 "trace, debug, info (default), warn, error")
      ->type_name("LEVEL");
  app.add_option("--pg-dump", flags.pg_dump, "pg_dump program (default: on PATH)")
      ->type_name("PATH");
  app.add_option("--psql", flags.psql, "psql program (default: on PATH)")
      ->type_name("PATH");
  app.add_option("--rsync", flags.rsync, "rsync program (default: on PATH)")
      ->type_name("PATH");
  app.add_option("--systemctl", flags.systemctl, "systemctl program (default: on PATH)")
      ->type_name("PATH");
  app.add_option("--restic", flags.restic, "restic program (default: on PATH)")
      ->type_name("PATH");
  app.add_flag("--json", common.json, "print the run's record as JSON on stdout");
}

void add_run_options(CLI::App& cmd, SettingFlags& flags) {
  cmd.add_flag("--wait-lock", flags.wait_lock,
               "wait for a running backup instead of exit 3");
  cmd.add_option("--metrics-file", flags.metrics_file,
                 "write Prometheus metrics here (textfile collector)")
      ->type_name("PATH");
  cmd.add_option("--lock-wait-timeout", flags.lock_wait_timeout,
                 "max wait for table locks (" +
                     range_help(core::k_lock_wait_timeout_range) + "; default 600)")
      ->type_name("SECONDS")
      ->check(in_range(core::k_lock_wait_timeout_range));
  cmd.add_option("--compression", flags.compression,
                 "the dump: none (default) or zstd[:LEVEL] (" +
                     std::to_string(core::k_zstd_min_level) + "-" +
                     std::to_string(core::k_zstd_max_level) + ", default 3)")
      ->type_name("METHOD");
  cmd.add_option("--compression-threads", flags.compression_threads,
                 "zstd workers (" + range_help(core::k_compression_threads_range) +
                     "; default 0 on 1-2 CPUs, else 1)")
      ->type_name("N")
      ->check(in_range(core::k_compression_threads_range));
}

void add_sessions_keep_days_option(CLI::App& cmd, SettingFlags& flags) {
  cmd.add_option("--sessions-keep-days", flags.sessions_keep_days,
                 "keep newer sessions (" + range_help(core::k_sessions_keep_days_range) +
                     "; default 0)")
      ->type_name("DAYS")
      ->check(in_range(core::k_sessions_keep_days_range));
}

void add_marker_option(CLI::App& cmd, SettingFlags& flags) {
  cmd.add_option("--marker-dir", flags.marker_dir,
                 "where a stopped Odoo is noted (default: /run/odbox-backup)")
      ->type_name("DIR");
}

std::string range_help(const core::SettingRange& range) {
  std::string text = std::to_string(range.min) + "-" + std::to_string(range.max);
  if (!range.min_note.empty()) {
    text += ", " + std::to_string(range.min) + ": " + std::string(range.min_note);
  }
  return text;
}

void refuse_blank_values(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_type_size() == 0) {
      continue; // a flag: no value
    }
    const std::string name = option->get_name();
    option->check(CLI::Validator(
        [name](const std::string& value) {
          if (value.find_first_not_of(" \t\n\r\v\f") != std::string::npos) {
            return std::string();
          }
          return "the value is empty or blank: give one, or leave " + name + " out";
        },
        ""));
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    refuse_blank_values(*sub);
  }
}

CLI::Validator in_range(const core::SettingRange& range) {
  return {[range](const std::string& value) {
            if (range.parse(value)) {
              return std::string();
            }
            return "'" + util::printable(value) + "' is not " + range.describe();
          },
          ""};
}

} // namespace odbox::app
