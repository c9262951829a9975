#include "odbox_test/support.hpp"

#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace odbox_test {
namespace {

fs::path fault_file(const fs::path& dir, FakeSystemctl::Fault fault) {
  switch (fault) {
  case FakeSystemctl::Fault::fail_start:
    return dir / "fail-start";
  case FakeSystemctl::Fault::hang_stop:
    return dir / "hang-stop";
  case FakeSystemctl::Fault::fail_stop:
    return dir / "fail-stop";
  }
  throw std::invalid_argument("unknown fake-systemctl fault");
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

} // namespace

std::string shell_quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

FakeSystemctl::FakeSystemctl(fs::path dir) : m_dir(std::move(dir)) {
  fs::create_directories(m_dir / "units");
  fs::create_directories(m_dir / "run");
}

FakeSystemctl::~FakeSystemctl() {
  try {
    for (Fault fault : {Fault::fail_start, Fault::hang_stop, Fault::fail_stop}) {
      set_fault(fault, false);
    }
    for (const auto& entry : fs::directory_iterator(m_dir / "units")) {
      const std::string unit = entry.path().filename().string();
      if (is_active(unit)) {
        systemctl({"stop", unit});
      }
    }
  } catch (const std::exception&) {
    // Best effort: a destructor must not throw.
  }
}

void FakeSystemctl::define_unit(const std::string& unit,
                                const std::vector<std::string>& exec) const {
  std::string text = "EXEC=(";
  for (std::size_t i = 0; i < exec.size(); ++i) {
    text += (i == 0 ? "" : " ") + shell_quote(exec[i]);
  }
  write_file(m_dir / "units" / unit, text + ")\n");
}

void FakeSystemctl::define_standin_unit(const std::string& unit, const PgEnv& pg,
                                        const std::string& db, const fs::path& data_dir,
                                        const fs::path& events,
                                        const std::vector<std::string>& extra) const {
  std::vector<std::string> exec{"env"};
  for (const std::string& variable : pg.env()) {
    exec.push_back(variable);
  }
  for (const std::string& word :
       {standin_bin().string(), std::string("run"), std::string("--db"), db,
        std::string("--data-dir"), data_dir.string(), std::string("--events"),
        events.string()}) {
    exec.push_back(word);
  }
  exec.insert(exec.end(), extra.begin(), extra.end());
  define_unit(unit, exec);
}

std::vector<std::string> FakeSystemctl::env() const {
  return {"FAKE_SYSTEMCTL_DIR=" + m_dir.string()};
}

RunOutput FakeSystemctl::systemctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{program().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env(), 120s);
}

std::string FakeSystemctl::state(const std::string& unit) const {
  return trim(systemctl({"is-active", unit}).out);
}

std::optional<pid_t> FakeSystemctl::main_pid(const std::string& unit) const {
  const std::string text =
      trim(systemctl({"show", "-p", "MainPID", "--value", unit}).out);
  const long pid = text.empty() ? 0 : std::stol(text);
  return pid > 0 ? std::optional<pid_t>(static_cast<pid_t>(pid)) : std::nullopt;
}

fs::path FakeSystemctl::unit_log(const std::string& unit) const {
  return m_dir / "run" / (unit + ".log");
}

void FakeSystemctl::set_fault(Fault fault, bool on) const {
  const fs::path file = fault_file(m_dir, fault);
  if (on) {
    write_file(file, "");
  } else {
    std::error_code ec;
    fs::remove(file, ec);
  }
}

void FakeSystemctl::fail_next_starts(int count) const {
  if (count <= 0) {
    set_fault(Fault::fail_start, false);
    return;
  }
  write_file(fault_file(m_dir, Fault::fail_start), std::to_string(count) + "\n");
}

std::vector<FakeSystemctl::Call> FakeSystemctl::calls() const {
  std::vector<Call> out;
  const fs::path log = m_dir / "calls.log";
  std::error_code ec;
  if (!fs::exists(log, ec)) {
    return out;
  }
  for (const std::string& line : read_lines(log)) {
    std::istringstream in(line);
    Call call;
    if (!(in >> call.t)) {
      continue;
    }
    std::string word;
    while (in >> word) {
      call.args.push_back(word);
    }
    out.push_back(std::move(call));
  }
  return out;
}

std::vector<FakeSystemctl::Call> FakeSystemctl::calls_of(std::string_view verb) const {
  std::vector<Call> out;
  for (Call& call : calls()) {
    // The verb is the first argument that is not an option.
    for (const std::string& arg : call.args) {
      if (!arg.starts_with("-")) {
        if (arg == verb) {
          out.push_back(call);
        }
        break;
      }
    }
  }
  return out;
}

} // namespace odbox_test
