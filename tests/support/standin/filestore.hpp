#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace odbox_standin {

// Odoo's file store of one database, <data_dir>/filestore/<db>, written the
// way odoo/addons/base/models/ir_attachment.py does it. Errors throw
// std::system_error naming the call and the path.
class Filestore {
public:
  Filestore(const std::filesystem::path& data_dir, const std::string& db);

  // Where a file went and whether this call wrote it.
  struct Stored {
    std::string store_fname; // "<sha1[:2]>/<sha1>" (or a legacy "<sha1[:3]>/<sha1>")
    std::string checksum;    // sha1 hex of the content
    bool written = false;    // false: an identical file was already there
  };

  // _file_write: content -> sha1; an existing legacy <sha1[:3]>/<sha1> file is
  // reused, else <sha1[:2]>/<sha1> (or the legacy path when `legacy`). A new
  // file is written in place (open/write/close, not atomic, no fsync) and
  // marked in the checklist; an existing one is left untouched.
  Stored write(const std::string& content, bool legacy = false);

  // _mark_for_gc: creates the empty file checklist/<store_fname>.
  void mark_for_gc(const std::string& store_fname);

  // The checklist entries ("<xx>/<sha1>"), as _gc_file_store_unsafe lists them.
  [[nodiscard]] std::vector<std::string> checklist() const;
  // Unlinks a file of the store (relative name); false when it was absent.
  bool unlink(const std::string& store_fname);
  // Unlinks a checklist entry; absence is not an error.
  void unmark(const std::string& store_fname);

  [[nodiscard]] std::filesystem::path full_path(const std::string& store_fname) const {
    return m_root / store_fname;
  }
  [[nodiscard]] const std::filesystem::path& root() const noexcept { return m_root; }

private:
  std::filesystem::path m_root;
};

// Session files layouts: 14/15 flat "werkzeug_<sid>.sess", 16+ "<sid[:2]>/<sid>".
enum class SessionLayout { flat, sharded, both };
SessionLayout parse_session_layout(const std::string& text); // throws invalid_argument

// Writes session files into <data_dir>/sessions like werkzeug's
// FilesystemSessionStore: a temporary "*.__wz_sess" in the target directory,
// renamed over the session file.
class SessionStore {
public:
  SessionStore(const std::filesystem::path& data_dir, SessionLayout layout);
  // A new session file (random 40-hex sid); returns its path. When
  // `age_seconds` > 0 its mtime is set that far in the past.
  std::filesystem::path create(std::mt19937_64& rng, std::int64_t age_seconds = 0);
  // Leaves a temporary "*.__wz_sess" file behind, as an interrupted save does.
  std::filesystem::path leave_temp_file(std::mt19937_64& rng);
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return m_dir; }

private:
  std::filesystem::path m_dir;
  SessionLayout m_layout;
  std::uint64_t m_count = 0;
};

// Helpers shared by the commands.
std::string random_bytes(std::mt19937_64& rng, std::size_t size);
std::string random_hex(std::mt19937_64& rng, std::size_t chars);
std::string sha1_hex(const std::string& content);
// Writes a whole file in place (O_CREAT|O_TRUNC, mode 0644); throws system_error.
void write_whole_file(const std::filesystem::path& path, const std::string& content);

} // namespace odbox_standin
