#include "odbox/core/filestore/check.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/references.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>

namespace odbox::core {
namespace {

// What is wrong with `ref` in the mirror `dir` (-1: there is no mirror),
// or nothing.
std::optional<std::string> problem_with(const ReferencedFile& ref, int dir,
                                        const MirrorListing* listing, std::size_t& hint) {
  if (!is_safe_store_name(ref.store_fname)) {
    return ref.store_fname + " (unsafe name, not checked)";
  }
  const std::optional<std::uint64_t> listed =
      listing != nullptr ? listing->size_of(ref.store_fname, hint) : std::nullopt;
  std::uint64_t size = listed.value_or(0);
  bool found = listed.has_value();
  if (!found && dir >= 0) {
    struct stat st {};
    if (::fstatat(dir, ref.store_fname.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      found = S_ISREG(st.st_mode);
      size = static_cast<std::uint64_t>(st.st_size);
    } else if (const int err = errno; err != ENOENT && err != ENOTDIR) {
      return ref.store_fname + " (fstatat: " + util::errno_text(err) + ")";
    }
  }
  if (!found) {
    return ref.store_fname;
  }
  if (ref.size && size != *ref.size) {
    return ref.store_fname + " (size " + std::to_string(size) + ", expected " +
           std::to_string(*ref.size) + ")";
  }
  return std::nullopt;
}

} // namespace

CheckResult check_references(const std::filesystem::path& references,
                             const std::filesystem::path& mirror, std::size_t max_listed,
                             const MirrorListing* listing) {
  CheckResult result;
  const util::UniqueFd dir(::open(mirror.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir && errno != ENOENT && errno != ENOTDIR) { // no directory there: nothing held
    throw RunError("cannot check the mirror: " +
                   util::sys_error("open", mirror).message());
  }
  std::size_t hint = 0; // the file list is sorted: each lookup starts from the last
  for_each_reference(references, [&](const ReferencedFile& ref) {
    ++result.referenced;
    if (auto problem = problem_with(ref, dir.get(), listing, hint)) {
      ++result.missing_count;
      if (result.missing.size() < max_listed) {
        result.missing.push_back(std::move(*problem));
      }
    }
  });
  return result;
}

} // namespace odbox::core
