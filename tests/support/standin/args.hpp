#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace odbox_standin {

// A mistake on the command line (exit 2).
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Options of one subcommand: "--name value", "--name=value" or "--flag".
class Args {
public:
  // Throws UsageError for an unknown option, a missing value or a positional.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
       const std::set<std::string>& flags);

  [[nodiscard]] bool has(const std::string& name) const {
    return m_values.contains(name);
  }
  [[nodiscard]] bool flag(const std::string& name) const {
    return m_flags.contains(name);
  }
  // Throws UsageError when the option is missing.
  [[nodiscard]] std::string required(const std::string& name) const;
  [[nodiscard]] std::string get(const std::string& name,
                                const std::string& fallback) const;
  // An integer >= minimum; throws UsageError when malformed or too small.
  [[nodiscard]] std::int64_t number(const std::string& name, std::int64_t fallback,
                                    std::int64_t minimum = 0) const;

private:
  std::map<std::string, std::string> m_values;
  std::set<std::string> m_flags;
};

} // namespace odbox_standin
