#include "odbox/core/filestore/references.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/digest.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace odbox::core {
namespace {

// One row per distinct file, sorted: several attachments may share a file.
constexpr const char* k_copy_references = R"SQL(
COPY (SELECT DISTINCT ON (store_fname) store_fname, file_size, checksum
        FROM ir_attachment
       WHERE store_fname IS NOT NULL AND store_fname <> ''
       ORDER BY store_fname, id) TO STDOUT
)SQL";

// Undoes COPY text-format escapes of one field, into `out` (its buffer reused).
void unescape_copy_field(std::string_view field, std::string& out) {
  if (field.find('\\') == std::string_view::npos) {
    out.assign(field);
    return;
  }
  out.clear();
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out += field[i];
      continue;
    }
    const char c = field[++i];
    switch (c) {
    case 't':
      out += '\t';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case '\\':
      out += '\\';
      break;
    default:
      out += c;
      break;
    }
  }
}

// One line of the file into `ref`, whose strings keep their buffers from one
// line to the next; false if malformed.
bool parse_reference(std::string_view line, ReferencedFile& ref) {
  const auto tab1 = line.find('\t');
  if (tab1 == std::string_view::npos) {
    return false;
  }
  const auto tab2 = line.find('\t', tab1 + 1);
  if (tab2 == std::string_view::npos) {
    return false;
  }
  unescape_copy_field(line.substr(0, tab1), ref.store_fname);
  ref.size.reset();
  const auto size = line.substr(tab1 + 1, tab2 - tab1 - 1);
  if (size != "\\N") {
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), value);
    if (ec == std::errc() && ptr == size.data() + size.size()) {
      ref.size = value;
    }
  }
  const auto checksum = line.substr(tab2 + 1);
  if (checksum == "\\N") {
    ref.checksum.clear();
  } else {
    unescape_copy_field(checksum, ref.checksum);
  }
  return true;
}

// Hands the file list to `take` a read at a time (`buffer_size` bytes at most).
void read_file_list(const std::filesystem::path& file, int open_flags,
                    std::size_t buffer_size,
                    const std::function<void(std::string_view)>& take) {
  const util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | open_flags));
  if (!fd) {
    throw RunError("cannot read the file list: " +
                   util::sys_error("open", file).message());
  }
  std::string buf(buffer_size, '\0');
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw RunError("cannot read the file list: " +
                     util::sys_error("read", file).message());
    }
    if (n == 0) {
      return;
    }
    take(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
}

} // namespace

bool is_safe_store_name(std::string_view name) {
  if (name.empty() || name.front() == '/') {
    return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = std::min(name.find('/', start), name.size());
    const auto part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return false;
    }
    start = end + 1;
  }
  return name.find('\0') == std::string_view::npos;
}

ReferencesList read_references(PgConnection& snapshot_conn,
                               const std::filesystem::path& target) {
  auto file = util::AtomicFile::create(target);
  if (!file) {
    throw RunError("cannot create the file list: " + file.error().message());
  }
  // COPY hands over one row at a time: written one by one they would cost a
  // write call each.
  constexpr std::size_t k_batch_bytes = 256 * 1024;
  std::string batch;
  batch.reserve(k_batch_bytes);
  util::Digest digest(util::Digest::Kind::sha256);
  const auto flush = [&] {
    digest.update(batch);
    if (auto ok = file->write(batch); !ok) {
      throw RunError("cannot write the file list: " + ok.error().message());
    }
    batch.clear();
  };
  std::uint64_t rows = 0;
  snapshot_conn.copy_out(k_copy_references, [&](std::string_view chunk) {
    rows += static_cast<std::uint64_t>(std::count(chunk.begin(), chunk.end(), '\n'));
    if (batch.size() + chunk.size() > k_batch_bytes) {
      flush();
    }
    batch.append(chunk);
  });
  flush();
  return {std::move(*file), {.lines = rows, .sha256 = digest.hex_final()}};
}

FileListSummary summarize_file_list(const std::filesystem::path& file) {
  util::Digest digest(util::Digest::Kind::sha256);
  FileListSummary summary;
  read_file_list(file, O_NOFOLLOW, 256 * 1024, [&](std::string_view chunk) {
    digest.update(chunk);
    summary.lines +=
        static_cast<std::uint64_t>(std::count(chunk.begin(), chunk.end(), '\n'));
  });
  summary.sha256 = digest.hex_final();
  return summary;
}

void for_each_reference(const std::filesystem::path& file,
                        const std::function<void(const ReferencedFile&)>& visit) {
  ReferencedFile ref;
  const auto take = [&](std::string_view line) {
    if (parse_reference(line, ref)) {
      visit(ref);
    } else if (!line.empty()) {
      spdlog::warn("{}: skipping a malformed line", file.string());
    }
  };
  std::string partial; // a line split over two reads
  read_file_list(file, 0, 64 * 1024, [&](std::string_view chunk) {
    for (auto eol = chunk.find('\n'); eol != std::string_view::npos;
         eol = chunk.find('\n')) {
      if (partial.empty()) {
        take(chunk.substr(0, eol));
      } else {
        take(partial.append(chunk.substr(0, eol)));
        partial.clear();
      }
      chunk.remove_prefix(eol + 1);
    }
    partial.append(chunk);
  });
  take(partial); // a last line without its newline
}

} // namespace odbox::core
