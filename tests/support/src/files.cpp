#include "odbox/util/digest.hpp"
#include "odbox_test/support.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace fs = std::filesystem;

namespace odbox_test {

std::map<std::string, std::string> tree_digest(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(dir);
       it != fs::recursive_directory_iterator(); ++it) {
    const std::string relative = it->path().lexically_relative(dir).generic_string();
    if (it->is_symlink()) {
      out[relative] = "symlink:" + fs::read_symlink(it->path()).string();
    } else if (it->is_regular_file()) {
      out[relative] =
          odbox::util::file_digest(it->path().string(), odbox::util::Digest::Kind::sha1);
    }
  }
  return out;
}

std::size_t count_files(const fs::path& dir) {
  std::size_t count = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return 0;
  }
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && !entry.is_symlink()) {
      ++count;
    }
  }
  return count;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::system_error(errno, std::generic_category(), "open " + path.string());
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw std::system_error(errno, std::generic_category(), "read " + path.string());
  }
  return buffer.str();
}

std::vector<std::string> read_lines(const fs::path& path) {
  const std::string text = read_file(path);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void write_file(const fs::path& path, std::string_view content) {
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw std::system_error(errno, std::generic_category(), "open " + path.string());
  }
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) {
    throw std::system_error(errno, std::generic_category(), "write " + path.string());
  }
}

} // namespace odbox_test
