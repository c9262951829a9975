#include "odbox/core/offsite/restic.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/progress.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <spdlog/spdlog.h>

namespace odbox::core {
namespace {

// Hands complete lines of a stream to `on_line` (restic writes one JSON
// object per line, but a pipe read may end anywhere).
class LineSplitter {
public:
  explicit LineSplitter(std::function<void(const nlohmann::json&)> on_line)
      : m_on_line(std::move(on_line)) {}
  void feed(std::string_view chunk) {
    m_pending.append(chunk);
    std::size_t start = 0;
    for (auto nl = m_pending.find('\n'); nl != std::string::npos;
         nl = m_pending.find('\n', start)) {
      emit(std::string_view(m_pending).substr(start, nl - start));
      start = nl + 1;
    }
    m_pending.erase(0, start);
  }
  void finish() {
    emit(m_pending);
    m_pending.clear();
  }

private:
  void emit(std::string_view line) {
    if (line.empty() || line.front() != '{') {
      return;
    }
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_discarded()) {
      m_on_line(parsed);
    }
  }
  std::function<void(const nlohmann::json&)> m_on_line;
  std::string m_pending;
};

std::string first_line_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

} // namespace

BackupSummary BackupSummary::from_json(const nlohmann::json& summary) {
  BackupSummary s;
  s.snapshot_id = summary.value("snapshot_id", "");
  s.files_new = summary.value("files_new", std::uint64_t{0});
  s.files_changed = summary.value("files_changed", std::uint64_t{0});
  s.files_unmodified = summary.value("files_unmodified", std::uint64_t{0});
  s.files = summary.value("total_files_processed", std::uint64_t{0});
  s.bytes = summary.value("total_bytes_processed", std::uint64_t{0});
  s.bytes_added = summary.value("data_added", std::uint64_t{0});
  s.seconds = summary.value("total_duration", 0.0);
  return s;
}

nlohmann::json BackupSummary::to_json() const {
  return {{"snapshot_id", snapshot_id},
          {"files", files},
          {"files_new", files_new},
          {"files_changed", files_changed},
          {"files_unmodified", files_unmodified},
          {"bytes", bytes},
          {"bytes_added", bytes_added},
          {"restic_seconds", seconds}};
}

Restic::Restic(const Config& config, const BackupArea& area) {
  if (!config.offsite) {
    throw UsageError(
        "no \"offsite\" object in the configuration: add one to the config file "
        "(see \"Off-site copies\" in the README)");
  }
  m_settings = *config.offsite;
  m_repository = redacted_repository(m_settings.repository);
  const auto program = util::find_executable(config.tools.restic);
  if (!program) {
    throw UsageError(
        config.tools.restic +
        " not found: install restic (apt-get install restic) or give its path "
        "with --restic");
  }
  m_program = *program;
  check_secret_file(m_settings.password_file, "offsite.password_file");
  m_env = {"RESTIC_REPOSITORY=" + m_settings.repository,
           "RESTIC_PASSWORD_FILE=" + m_settings.password_file.string()};
  if (m_settings.environment_file) {
    check_secret_file(*m_settings.environment_file, "offsite.environment_file");
    for (auto& variable : read_environment_file(*m_settings.environment_file)) {
      m_secrets.push_back(variable.substr(variable.find('=') + 1));
      m_env.push_back(std::move(variable));
    }
  }
  const bool cache_given = std::getenv("RESTIC_CACHE_DIR") != nullptr ||
                           std::ranges::any_of(m_env, [](const auto& v) {
                             return v.starts_with("RESTIC_CACHE_DIR=");
                           });
  std::error_code ec;
  if (!cache_given && std::filesystem::is_directory(area.root(), ec)) {
    // HOME may be read-only under systemd (ProtectHome=): the area is not.
    m_env.push_back("RESTIC_CACHE_DIR=" + (area.root() / ".offsite" / "cache").string());
  }
  m_secrets.push_back(first_line_of(m_settings.password_file));
  if (const auto user_info = m_settings.repository.find("://");
      user_info != std::string::npos && m_repository != m_settings.repository) {
    const auto colon = m_settings.repository.find(':', user_info + 3);
    const auto at = m_settings.repository.find('@', colon);
    m_secrets.push_back(m_settings.repository.substr(colon + 1, at - colon - 1));
  }
  // Short values would scrub ordinary words out of messages; they are not
  // secrets worth the name anyway.
  std::erase_if(m_secrets, [](const std::string& s) { return s.size() < 4; });
}

ResticRun Restic::run(const Call& call) const {
  util::SpawnSpec spec;
  spec.argv = {m_program};
  spec.argv.insert(spec.argv.end(), call.args.begin(), call.args.end());
  spec.env_set = m_env;
  spec.env_unset = {"RESTIC_PASSWORD", "RESTIC_PASSWORD_COMMAND",
                    "RESTIC_REPOSITORY_FILE", "RESTIC_KEY_HINT"};
  spec.working_dir = call.working_dir;
  spdlog::debug("running restic {}", fmt::join(call.args, " "));
  std::optional<LineSplitter> lines;
  util::CaptureLimits limits;
  limits.max_out = 256U << 20U;
  limits.max_err = 256U << 10U;
  if (call.on_json_line) {
    lines.emplace(call.on_json_line);
    limits.on_stdout = [&lines](std::string_view chunk) { lines->feed(chunk); };
  }
  auto result = util::run_capture(spec, limits);
  if (!result) {
    throw RunError("cannot run " + m_program + ": " + result.error().message());
  }
  if (result->interrupted_by != 0) {
    throw Interrupted(result->interrupted_by);
  }
  if (lines) {
    lines->finish();
  }
  return ResticRun{result->status, std::move(result->out), scrub(std::move(result->err))};
}

ResticRun Restic::run_checked(const Call& call, const std::string& doing) const {
  auto result = run(call);
  if (!result.status.success()) {
    throw RunError(failure_message(doing, result));
  }
  return result;
}

std::string Restic::scrub(std::string text) const {
  for (const auto& secret : m_secrets) {
    for (auto pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

BackupSummary Restic::backup(const std::filesystem::path& dir,
                             const std::vector<std::string>& tags,
                             const std::string& label) const {
  Call call{
      .args = {"backup", "--json"}, .working_dir = dir.string(), .on_json_line = {}};
  for (const auto& tag : tags) {
    call.args.insert(call.args.end(), {"--tag", tag});
  }
  call.args.emplace_back("odoo");
  std::optional<nlohmann::json> summary;
  std::string error;
  util::Progress progress("push " + label);
  call.on_json_line = [&](const nlohmann::json& line) {
    const std::string type = line.value("message_type", "");
    if (type == "status") {
      progress.update(line.value("bytes_done", std::uint64_t{0}));
    } else if (type == "summary") {
      summary = line;
    } else if (type == "error" && error.empty()) {
      error = line.dump();
    }
  };
  auto result = run(call);
  if (classify(result) == ResticFailure::missing_repository && m_settings.init) {
    spdlog::info("creating the restic repository {} (offsite.init is set)", m_repository);
    run_checked(Call{.args = {"init"}, .working_dir = {}, .on_json_line = {}}, "init");
    result = run(call);
  }
  progress.finish();
  if (classify(result) == ResticFailure::killed) {
    // Its lock stays behind in the repository; only stale locks go.
    try {
      unlock();
    } catch (const Error& e) {
      spdlog::warn("{}", e.what());
    }
  }
  if (result.status.code == 3 && summary) {
    throw RunError("restic could not read every file of " + dir.string() + ": snapshot " +
                   summary->value("snapshot_id", "?") + " is incomplete (" +
                   scrub(error.empty() ? restic_error_line(result.err) : error) + ")");
  }
  if (!result.status.success()) {
    throw RunError(failure_message("backup of " + label, result));
  }
  if (!summary) {
    throw RunError("restic backup of " + label + " printed no summary: is " + m_program +
                   " restic 0.14 or later?");
  }
  return BackupSummary::from_json(*summary);
}

void Restic::unlock() const {
  run_checked(Call{.args = {"unlock"}, .working_dir = {}, .on_json_line = {}}, "unlock");
}

} // namespace odbox::core
