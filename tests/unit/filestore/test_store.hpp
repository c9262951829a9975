#pragma once

#include "../test_dir.hpp"

#include <cstdio>
#include <filesystem>
#include <string>

namespace odbox::test {

// "ab111...": an Odoo-style file name, and its place in the store.
inline const std::string k_sha_a = "ab" + std::string(38, '1');
inline const std::string k_name_a = "ab/" + k_sha_a;

// An Odoo store name ("ab/ab01...") made from `n`; distinct for distinct n.
inline std::string store_name(unsigned n) {
  char sha[41];
  std::snprintf(sha, sizeof sha, "%08x%032x", n * 2654435761U, n);
  return std::string(sha, 2) + "/" + sha;
}

// An executable shell script holding `body`.
inline std::filesystem::path shell_script(const std::filesystem::path& file,
                                          const std::string& body) {
  write_text(file, "#!/bin/sh\n" + body + "\n");
  std::filesystem::permissions(file, std::filesystem::perms::owner_all);
  return file;
}

} // namespace odbox::test
