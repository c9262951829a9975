#pragma once

// What the tests of the cold run's session purge share
// (sessions_test.cpp, sessions_fallback_test.cpp, sessions_report_test.cpp):
// the sessions directory of a scratch Odoo, the traps planted in it, and
// what its purge must leave.

#include "harness.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace odbox::it {

[[nodiscard]] inline fs::path sessions_of(const OdooScratch& odoo) {
  return odoo.data_dir() / "sessions";
}

// The directories a run moved aside beside `sessions`, not yet deleted.
[[nodiscard]] std::vector<fs::path> moved_aside(const fs::path& sessions);

// lstat() of `path`; a failed expectation when it cannot be read.
[[nodiscard]] struct stat stat_of(const fs::path& path);

// The arguments of `cold` for spawn_backup().
[[nodiscard]] std::vector<std::string> cold_args(const OdooScratch& odoo);

// Things the purge must delete by name only, or never reach: a link to a
// file and one to a directory outside, a FIFO, a device node, a name with a
// newline. Returns the outside directory, whose files must stay.
fs::path plant_traps(const OdooScratch& odoo);
void expect_outside_intact(const fs::path& outside);

[[nodiscard]] int exit_code_of(util::ExitStatus status);

// The regular files under `dir` (symbolic links not followed) and the sum of
// their sizes: what a purge of `dir` reports as removed.
struct RegularFiles {
  std::vector<fs::path> paths;
  std::uint64_t bytes = 0;
};
[[nodiscard]] RegularFiles regular_files(const fs::path& dir);

// The names in `dir` (not recursive), sorted.
[[nodiscard]] std::vector<std::string> names_in(const fs::path& dir);

// The lines of a run's stderr that hold `part`.
[[nodiscard]] std::vector<std::string> lines_with(const std::string& err,
                                                  const std::string& part);

// The samples of a metrics file, "name{labels}" -> value; sample() gives a
// text no value equals when there is none.
[[nodiscard]] std::map<std::string, std::string> metric_samples(const std::string& text);
[[nodiscard]] std::string sample(const std::map<std::string, std::string>& samples,
                                 const std::string& name);

// Steps that undo what a test did to the system (mounts, file attributes),
// run in reverse order when it goes out of scope, before the scratch Odoo
// declared ahead of it is removed.
class Undo {
public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo();
  void add(std::function<void()> step) { m_steps.push_back(std::move(step)); }

private:
  std::vector<std::function<void()>> m_steps;
};

} // namespace odbox::it
