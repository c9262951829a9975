#include "filestore.hpp"

#include "odbox/util/digest.hpp"
#include "odbox/util/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace fs = std::filesystem;

namespace odbox_standin {
namespace {

[[noreturn]] void throw_errno(const std::string& call, const fs::path& path) {
  throw std::system_error(errno, std::generic_category(), call + " " + path.string());
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw std::system_error(ec, "mkdir " + dir.string());
  }
}

void set_age(const fs::path& path, std::int64_t age_seconds) {
  timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= age_seconds;
  times[1] = times[0];
  if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) {
    throw_errno("utimensat", path);
  }
}

} // namespace

std::string random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::string out(size, '\0');
  std::size_t i = 0;
  while (i < size) {
    std::uint64_t word = rng();
    for (int b = 0; b < 8 && i < size; ++b, ++i) {
      out[i] = static_cast<char>(word & 0xFFU);
      word >>= 8U;
    }
  }
  return out;
}

std::string random_hex(std::mt19937_64& rng, std::size_t chars) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(chars);
  for (std::size_t i = 0; i < chars; ++i) {
    out.push_back(k_hex[rng() % 16U]);
  }
  return out;
}

std::string sha1_hex(const std::string& content) {
  odbox::util::Digest digest(odbox::util::Digest::Kind::sha1);
  digest.update(content);
  return digest.hex_final();
}

void write_whole_file(const fs::path& path, const std::string& content) {
  const odbox::util::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) {
    throw_errno("open", path);
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("write", path);
    }
    done += static_cast<std::size_t>(n);
  }
}

Filestore::Filestore(const fs::path& data_dir, const std::string& db)
    : m_root(data_dir / "filestore" / db) {}

Filestore::Stored Filestore::write(const std::string& content, bool legacy) {
  Stored stored;
  stored.checksum = sha1_hex(content);
  const std::string& sha = stored.checksum;
  const std::string legacy_fname = sha.substr(0, 3) + "/" + sha;
  if (fs::is_regular_file(full_path(legacy_fname))) {
    stored.store_fname = legacy_fname; // keep the existing (old) path
    return stored;
  }
  stored.store_fname = legacy ? legacy_fname : sha.substr(0, 2) + "/" + sha;
  const fs::path full = full_path(stored.store_fname);
  if (fs::exists(full)) {
    return stored;
  }
  make_dirs(full.parent_path());
  write_whole_file(full, content);
  mark_for_gc(stored.store_fname); // in case the transaction aborts
  stored.written = true;
  return stored;
}

void Filestore::mark_for_gc(const std::string& store_fname) {
  const fs::path entry = m_root / "checklist" / store_fname;
  if (fs::exists(entry)) {
    return;
  }
  make_dirs(entry.parent_path());
  const odbox::util::UniqueFd fd(
      ::open(entry.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) {
    throw_errno("open", entry);
  }
}

std::vector<std::string> Filestore::checklist() const {
  std::vector<std::string> names;
  const fs::path dir = m_root / "checklist";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return names;
  }
  for (const auto& sub : fs::directory_iterator(dir)) {
    if (!sub.is_directory()) {
      continue;
    }
    for (const auto& file : fs::directory_iterator(sub.path())) {
      if (file.is_regular_file()) {
        names.push_back(sub.path().filename().string() + "/" +
                        file.path().filename().string());
      }
    }
  }
  return names;
}

bool Filestore::unlink(const std::string& store_fname) {
  const fs::path full = full_path(store_fname);
  if (::unlink(full.c_str()) != 0) {
    if (errno == ENOENT) {
      return false;
    }
    throw_errno("unlink", full);
  }
  return true;
}

void Filestore::unmark(const std::string& store_fname) {
  const fs::path entry = m_root / "checklist" / store_fname;
  if (::unlink(entry.c_str()) != 0 && errno != ENOENT) {
    throw_errno("unlink", entry);
  }
}

SessionLayout parse_session_layout(const std::string& text) {
  if (text == "flat") {
    return SessionLayout::flat;
  }
  if (text == "sharded") {
    return SessionLayout::sharded;
  }
  if (text == "both") {
    return SessionLayout::both;
  }
  throw std::invalid_argument("--session-layout must be flat, sharded or both, not '" +
                              text + "'");
}

SessionStore::SessionStore(const fs::path& data_dir, SessionLayout layout)
    : m_dir(data_dir / "sessions"), m_layout(layout) {}

fs::path SessionStore::create(std::mt19937_64& rng, std::int64_t age_seconds) {
  const std::string sid = random_hex(rng, 40);
  const bool flat = m_layout == SessionLayout::flat ||
                    (m_layout == SessionLayout::both && m_count % 2 == 0);
  ++m_count;
  const fs::path target =
      flat ? m_dir / ("werkzeug_" + sid + ".sess") : m_dir / sid.substr(0, 2) / sid;
  // 14/15 pickle their sessions, 16+ write JSON.
  const std::string content =
      flat ? "\x80\x04\x95" + random_bytes(rng, 180) + "."
           : R"({"db": "odoo", "login": null, "uid": null, "context": {}, "sid": ")" +
                 sid + R"(", "debug": "", "csrf": ")" + random_hex(rng, 40) + "\"}";
  make_dirs(target.parent_path());
  const fs::path temp =
      target.parent_path() / ("tmp" + random_hex(rng, 8) + ".__wz_sess");
  write_whole_file(temp, content);
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    throw_errno("rename", temp);
  }
  if (age_seconds > 0) {
    set_age(target, age_seconds);
  }
  return target;
}

fs::path SessionStore::leave_temp_file(std::mt19937_64& rng) {
  make_dirs(m_dir);
  const fs::path temp = m_dir / ("tmp" + random_hex(rng, 8) + ".__wz_sess");
  write_whole_file(temp, random_bytes(rng, 64));
  return temp;
}

} // namespace odbox_standin
