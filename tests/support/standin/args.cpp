#include "args.hpp"

#include <charconv>

namespace odbox_standin {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
           const std::set<std::string>& flags) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (!arg.starts_with("--")) {
      throw UsageError("unexpected argument '" + arg + "'");
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (flags.contains(name) && !has_value) {
      m_flags.insert(name);
      continue;
    }
    if (!options.contains(name)) {
      throw UsageError("unknown option --" + name);
    }
    if (!has_value) {
      if (i + 1 >= argv.size()) {
        throw UsageError("option --" + name + " needs a value");
      }
      value = argv[++i];
    }
    m_values[name] = value;
  }
}

std::string Args::required(const std::string& name) const {
  const auto it = m_values.find(name);
  if (it == m_values.end() || it->second.empty()) {
    throw UsageError("option --" + name + " is required");
  }
  return it->second;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  const auto it = m_values.find(name);
  return it == m_values.end() ? fallback : it->second;
}

std::int64_t Args::number(const std::string& name, std::int64_t fallback,
                          std::int64_t minimum) const {
  const auto it = m_values.find(name);
  if (it == m_values.end()) {
    return fallback;
  }
  std::int64_t value = 0;
  const std::string& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw UsageError("option --" + name + " needs an integer, not '" + text + "'");
  }
  if (value < minimum) {
    throw UsageError("option --" + name + " must be at least " + std::to_string(minimum));
  }
  return value;
}

} // namespace odbox_standin
