#include "sessions_scene.hpp"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <iostream>
#include <sstream>
#include <sys/sysmacros.h>

namespace odbox::it {

std::vector<fs::path> moved_aside(const fs::path& sessions) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(sessions.parent_path())) {
    if (e.path().filename().string().starts_with(".sessions.purge-")) {
      out.push_back(e.path());
    }
  }
  return out;
}

struct stat stat_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

std::vector<std::string> cold_args(const OdooScratch& odoo) {
  return {"--systemctl", fake_systemctl(), "cold", "--marker-dir",
          odoo.marker_dir().string()};
}

fs::path plant_traps(const OdooScratch& odoo) {
  const auto sessions = sessions_of(odoo);
  const auto outside = odoo.scratch() / "outside";
  fs::create_directories(outside / "dir");
  std::ofstream(outside / "keep.txt") << "precious";
  std::ofstream(outside / "dir" / "keep2.txt") << "precious";
  fs::create_symlink(outside / "keep.txt", sessions / "link-to-file");
  fs::create_symlink(outside / "dir", sessions / "zz");
  EXPECT_EQ(::mkfifo((sessions / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(::mknod((sessions / "null").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
  std::ofstream(sessions / "werkzeug_new\nline.sess") << "x";
  return outside;
}

void expect_outside_intact(const fs::path& outside) {
  EXPECT_EQ(read_file(outside / "keep.txt"), "precious");
  EXPECT_EQ(read_file(outside / "dir" / "keep2.txt"), "precious");
}

int exit_code_of(util::ExitStatus status) {
  return status.signal != 0 ? 128 + status.signal : status.code;
}

RegularFiles regular_files(const fs::path& dir) {
  RegularFiles out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && !e.is_symlink()) {
      out.paths.push_back(e.path());
      out.bytes += e.file_size();
    }
  }
  return out;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::ranges::sort(out);
  return out;
}

std::vector<std::string> lines_with(const std::string& err, const std::string& part) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.find(part) != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

std::map<std::string, std::string> metric_samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto space = line.rfind(' ');
    if (!line.empty() && line[0] != '#' && space != std::string::npos) {
      out[line.substr(0, space)] = line.substr(space + 1);
    }
  }
  return out;
}

std::string sample(const std::map<std::string, std::string>& samples,
                   const std::string& name) {
  const auto it = samples.find(name);
  return it == samples.end() ? "(no sample " + name + ")" : it->second;
}

Undo::~Undo() {
  for (auto step = m_steps.rbegin(); step != m_steps.rend(); ++step) {
    try {
      (*step)();
    } catch (const std::exception& e) {
      std::cerr << "undoing a test's change: " << e.what() << "\n";
    }
  }
}

} // namespace odbox::it
