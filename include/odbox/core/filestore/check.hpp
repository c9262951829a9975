#pragma once

#include "odbox/core/filestore/mirror_listing.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace odbox::core {

// What check_references found.
struct CheckResult {
  std::uint64_t referenced = 0;
  std::uint64_t missing_count = 0;
  // "00/0011...", "00/0011... (size 12, expected 14)" or, when the mirror
  // could not tell, "00/0011... (fstatat: Permission denied)".
  std::vector<std::string> missing;
};

// Checks every referenced file of `references` in `mirror`: present as a
// regular file with the recorded size. Missing or wrong ones are returned
// (at most `max_listed` names; `missing_count` has them all). A file in
// `listing` is taken with the size rsync reported; the others are stat'ed.
// A mirror that does not exist, or is no directory, holds nothing. Throws
// RunError when the mirror cannot be opened otherwise (EACCES, ELOOP), or
// the file list cannot be read.
CheckResult check_references(const std::filesystem::path& references,
                             const std::filesystem::path& mirror,
                             std::size_t max_listed = 1000,
                             const MirrorListing* listing = nullptr);

} // namespace odbox::core
