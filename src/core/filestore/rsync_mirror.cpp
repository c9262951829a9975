#include "odbox/core/filestore/rsync_mirror.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/quick_check.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/sys_error.hpp"

#include <cerrno>
#include <charconv>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace odbox::core {
namespace {

// False when the live store does not exist (ENOENT: Odoo creates it with the
// first stored file). Throws RunError when it cannot be looked up.
bool live_store_exists(const std::filesystem::path& source) {
  struct stat st {};
  if (::stat(source.c_str(), &st) == 0) {
    return true;
  }
  if (errno != ENOENT) {
    throw RunError(
        "cannot read the file store: " + util::sys_error("stat", source).message() +
        " (check --data-dir and its permissions)");
  }
  spdlog::warn("file store {} does not exist: the database has no stored files yet",
               source.string());
  return false;
}

// A read-only descriptor holding `data`, from its start.
util::UniqueFd memory_file(const std::string& data) {
  util::UniqueFd fd(::memfd_create("odbox-files-from", MFD_CLOEXEC));
  if (!fd) {
    throw RunError("cannot create the list of files for rsync: " +
                   util::errno_text(errno));
  }
  if (!util::write_all(fd.get(), data.data(), data.size())) {
    throw RunError("cannot write the list of files for rsync: " +
                   util::errno_text(errno));
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    throw RunError("cannot rewind the list of files for rsync: " +
                   util::errno_text(errno));
  }
  return fd;
}

// Runs rsync as `spec` says (source and mirror still to add), with its
// progress line on a terminal, or filling `listing` when it is set.
void run_rsync(util::SpawnSpec spec, const std::filesystem::path& source,
               const std::filesystem::path& mirror, bool progress,
               MirrorListing* listing) {
  util::CaptureLimits limits;
  std::string pending; // a line split over two reads
  if (progress) {
    spec.argv.emplace_back("--human-readable");
    spec.argv.emplace_back("--info=progress2");
    spec.stdout_fd = STDERR_FILENO;
  } else if (listing != nullptr) {
    // Every file, copied or up to date, as "<item> <size> <name>".
    spec.argv.emplace_back("--info=name2");
    spec.argv.emplace_back("--out-format=%i %l %n");
    // rsync writes each line on its own: reading them in batches leaves it
    // the CPU.
    limits.read_pause = std::chrono::milliseconds(2);
    limits.on_stdout = [&](std::string_view chunk) {
      while (!chunk.empty()) {
        const auto eol = chunk.find('\n');
        if (eol == std::string_view::npos) {
          pending.append(chunk);
          return;
        }
        pending.append(chunk.substr(0, eol));
        if (auto item = parse_rsync_item(pending)) {
          listing->add(item->first, item->second);
        }
        pending.clear();
        chunk.remove_prefix(eol + 1);
      }
    };
  } else {
    spec.capture_stdout = false;
  }
  spec.argv.push_back(source.string() + "/");
  spec.argv.push_back(mirror.string() + "/");
  auto run = util::run_capture(spec, limits);
  if (!run) {
    throw RunError("cannot run rsync: " + run.error().message() +
                   " (check --rsync or PATH)");
  }
  throw_if_interrupted();
  if (run->status.code == 24) {
    spdlog::info("rsync: some files vanished during the copy (normal on a live store)");
    if (listing != nullptr) {
      *listing = MirrorListing(); // which of the listed files made it is unknown
    }
    return;
  }
  if (!run->status.success()) {
    throw RunError("rsync " + run->status.describe() + " copying " + source.string() +
                   ": " + util::last_line(run->err));
  }
  if (listing != nullptr) {
    listing->seal();
  }
}

} // namespace

std::optional<std::pair<std::string, std::uint64_t>>
parse_rsync_item(std::string_view line) {
  // ">f+++++++++ 3000000 ab/ab01..." or ".f          3000000 ab/ab01..."
  if (line.size() < 2 || line[1] != 'f' ||
      std::string_view("<>ch.").find(line[0]) == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t pos = line.find(' ');
  if (pos == std::string_view::npos) {
    return std::nullopt;
  }
  pos = line.find_first_not_of(' ', pos);
  if (pos == std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t size = 0;
  const auto [end, ec] =
      std::from_chars(line.data() + pos, line.data() + line.size(), size);
  if (ec != std::errc() || end == line.data() + line.size() || *end != ' ' ||
      end + 1 == line.data() + line.size()) {
    return std::nullopt;
  }
  const std::string_view escaped =
      line.substr(static_cast<std::size_t>(end + 1 - line.data()));
  std::string name;
  name.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    // rsync writes a byte it will not print as "\#" and three octal digits.
    if (escaped[i] == '\\' && i + 4 < escaped.size() && escaped[i + 1] == '#' &&
        escaped[i + 2] >= '0' && escaped[i + 2] <= '3' && escaped[i + 3] >= '0' &&
        escaped[i + 3] <= '7' && escaped[i + 4] >= '0' && escaped[i + 4] <= '7') {
      name += static_cast<char>(((escaped[i + 2] - '0') << 6) |
                                ((escaped[i + 3] - '0') << 3) | (escaped[i + 4] - '0'));
      i += 4;
    } else {
      name += escaped[i];
    }
  }
  return std::pair{std::move(name), size};
}

void mirror_filestore(const std::filesystem::path& source,
                      const std::filesystem::path& mirror, const MirrorOptions& options) {
  if (!live_store_exists(source)) {
    return;
  }
  MirrorListing* const listing = options.progress ? nullptr : options.listing;
  util::SpawnSpec spec;
  spec.argv = {options.rsync, "--archive", "--chmod=D0700,F0600"};
  util::UniqueFd files_from;
  if (auto plan = quick_check(source, mirror, listing != nullptr)) {
    spdlog::debug("{}: {} files up to date, {} entries for rsync", mirror.string(),
                  plan->unchanged_count, plan->changed_count);
    if (listing != nullptr) {
      *listing = std::move(plan->unchanged);
    }
    if (plan->changed_count == 0) {
      throw_if_interrupted();
      if (listing != nullptr) {
        listing->seal();
      }
      return;
    }
    files_from = memory_file(plan->changed);
    spec.stdin_fd = files_from.get();
    // Only these, by their paths; one gone since the check is no error.
    spec.argv.insert(spec.argv.end(),
                     {"--files-from=-", "--from0", "--ignore-missing-args"});
  } else {
    spdlog::debug("no quick check ({}): rsync compares the whole store", plan.error());
  }
  run_rsync(std::move(spec), source, mirror, options.progress, listing);
}

} // namespace odbox::core
