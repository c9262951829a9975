#include "odbox/util/fd.hpp"
#include "odbox_test/support.hpp"

#include <cerrno>
#include <fcntl.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace fs = std::filesystem;

namespace odbox_test {
namespace {

// Everything left in a pipe whose writer has exited.
std::string drain(odbox::util::UniqueFd& fd) {
  std::string out;
  if (!fd.valid()) {
    return out;
  }
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  fd.reset();
  return out;
}

RunOutput to_output(const odbox::util::ExitStatus& status) {
  RunOutput output;
  output.exit_code = status.code;
  output.signal = status.signal;
  return output;
}

} // namespace

RunOutput standin(const PgEnv& pg, std::vector<std::string> args,
                  std::chrono::seconds timeout) {
  args.insert(args.begin(), standin_bin().string());
  return run(std::move(args), pg.env(), timeout);
}

void standin_init(const PgEnv& pg, const std::string& db, const fs::path& data_dir,
                  const std::vector<std::string>& extra) {
  std::vector<std::string> args{"init", "--db", db, "--data-dir", data_dir.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const RunOutput output = standin(pg, args);
  if (output.exit_code != 0) {
    throw std::runtime_error("odoo-standin init --db " + db +
                             " failed: " + output.describe());
  }
}

std::vector<StandinEvent> read_events(const fs::path& path) {
  std::vector<StandinEvent> events;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return events;
  }
  for (const std::string& line : read_lines(path)) {
    if (line.empty()) {
      continue;
    }
    StandinEvent event;
    try {
      event.data = nlohmann::json::parse(line);
      event.t = event.data.at("t").get<double>();
      event.event = event.data.at("event").get<std::string>();
    } catch (const nlohmann::json::exception& error) {
      throw std::runtime_error("malformed event line in " + path.string() + ": '" + line +
                               "': " + error.what());
    }
    events.push_back(std::move(event));
  }
  return events;
}

std::vector<StandinEvent> events_named(const std::vector<StandinEvent>& events,
                                       std::string_view name) {
  std::vector<StandinEvent> out;
  for (const StandinEvent& event : events) {
    if (event.event == name) {
      out.push_back(event);
    }
  }
  return out;
}

StandinProcess::StandinProcess(const PgEnv& pg, StandinOptions options)
    : m_options(std::move(options)) {
  const fs::path base = m_options.data_dir.parent_path();
  if (m_options.events.empty()) {
    m_options.events = base / "standin-events.jsonl";
  }
  if (m_options.log.empty()) {
    m_options.log = base / "standin.log";
  }
  const odbox::util::UniqueFd log(
      ::open(m_options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) {
    throw std::system_error(errno, std::generic_category(),
                            "open " + m_options.log.string());
  }
  odbox::util::SpawnSpec spec;
  spec.argv = {standin_bin().string(),
               "run",
               "--db",
               m_options.db,
               "--data-dir",
               m_options.data_dir.string(),
               "--events",
               m_options.events.string()};
  spec.argv.insert(spec.argv.end(), m_options.extra_args.begin(),
                   m_options.extra_args.end());
  spec.env_set = pg.env();
  spec.stdout_fd = log.get();
  spec.capture_stderr = true;
  auto child = odbox::util::spawn(spec);
  if (!child) {
    throw std::runtime_error("cannot start odoo-standin: " + child.error().message());
  }
  m_child = std::move(*child);

  const pid_t pid = m_child.pid();
  const bool started = wait_until(
      [&] {
        if (!running()) {
          return true;
        }
        for (const StandinEvent& event : events_named(events(), "start")) {
          if (event.data.value("pid", 0) == pid) {
            return true;
          }
        }
        return false;
      },
      30s);
  if (!running()) {
    const std::string err = drain(m_child.err());
    throw std::runtime_error("odoo-standin run exited at start (" + m_status->describe() +
                             "): " + err);
  }
  if (!started) {
    m_child.terminate(std::chrono::seconds(2));
    throw std::runtime_error("odoo-standin run did not start within 30 s");
  }
}

StandinProcess::~StandinProcess() {
  if (m_child.running()) {
    m_child.terminate(std::chrono::seconds(5));
  }
}

bool StandinProcess::running() {
  if (m_status) {
    return false;
  }
  if (!m_child.running()) {
    return false;
  }
  if (auto status = m_child.try_wait()) {
    m_status = *status;
    return false;
  }
  return true;
}

RunOutput StandinProcess::stop(std::chrono::milliseconds grace) {
  if (running()) {
    m_status = m_child.terminate(grace);
  }
  RunOutput output = to_output(m_status.value_or(odbox::util::ExitStatus{}));
  output.err = drain(m_child.err());
  std::error_code ec;
  if (fs::exists(m_options.log, ec)) {
    output.out = read_file(m_options.log);
  }
  return output;
}

} // namespace odbox_test
