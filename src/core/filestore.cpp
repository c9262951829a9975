#include "odbox/core/filestore.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/process.hpp"
#include "odbox/util/time.hpp"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <fstream>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace odbox::core {
namespace {

// One row per distinct file, sorted: several attachments may share a file.
constexpr const char* k_copy_references = R"SQL(
COPY (SELECT DISTINCT ON (store_fname) store_fname, file_size, checksum
        FROM ir_attachment
       WHERE store_fname IS NOT NULL AND store_fname <> ''
       ORDER BY store_fname, id) TO STDOUT
)SQL";

// Undoes COPY text-format escapes of one field.
std::string unescape_copy_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
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
  return out;
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

std::optional<ReferencedFile> parse_reference_line(std::string_view line) {
  const auto tab1 = line.find('\t');
  if (tab1 == std::string_view::npos) {
    return std::nullopt;
  }
  const auto tab2 = line.find('\t', tab1 + 1);
  if (tab2 == std::string_view::npos) {
    return std::nullopt;
  }
  ReferencedFile ref;
  ref.store_fname = unescape_copy_field(line.substr(0, tab1));
  const auto size = line.substr(tab1 + 1, tab2 - tab1 - 1);
  if (size != "\\N") {
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), value);
    if (ec == std::errc() && ptr == size.data() + size.size()) {
      ref.size = value;
    }
  }
  const auto checksum = line.substr(tab2 + 1);
  ref.checksum = checksum == "\\N" ? "" : unescape_copy_field(checksum);
  return ref;
}

std::pair<util::AtomicFile, std::uint64_t>
read_references(PgConnection& snapshot_conn, const std::filesystem::path& target) {
  auto file = util::AtomicFile::create(target);
  if (!file) {
    throw RunError("cannot create the file list: " + file.error().message());
  }
  std::uint64_t rows = 0;
  snapshot_conn.copy_out(k_copy_references, [&](std::string_view chunk) {
    for (const char c : chunk) {
      rows += c == '\n' ? 1U : 0U;
    }
    if (auto ok = file->write(chunk); !ok) {
      throw RunError("cannot write the file list: " + ok.error().message());
    }
  });
  return {std::move(*file), rows};
}

void for_each_reference(const std::filesystem::path& file,
                        const std::function<void(const ReferencedFile&)>& visit) {
  std::ifstream in(file);
  if (!in) {
    throw RunError("cannot read the file list " + file.string());
  }
  std::string line;
  while (std::getline(in, line)) {
    if (auto ref = parse_reference_line(line)) {
      visit(*ref);
    } else if (!line.empty()) {
      spdlog::warn("{}: skipping a malformed line", file.string());
    }
  }
}

MirrorResult mirror_filestore(const std::filesystem::path& source,
                              const std::filesystem::path& mirror,
                              const MirrorOptions& options) {
  MirrorResult result;
  const auto start = std::chrono::steady_clock::now();
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) {
    spdlog::warn("file store {} does not exist: the database has no stored files yet",
                 source.string());
    return result;
  }
  util::SpawnSpec spec;
  spec.argv = {options.rsync, "--archive", "--chmod=D0700,F0600", "--human-readable"};
  if (options.progress) {
    spec.argv.emplace_back("--info=progress2");
    spec.stdout_fd = STDERR_FILENO;
  } else {
    spec.capture_stdout = false;
  }
  spec.argv.push_back(source.string() + "/");
  spec.argv.push_back(mirror.string() + "/");
  auto run = util::run_capture(spec);
  if (!run) {
    throw RunError("cannot run rsync: " + run.error().message() + " (check --rsync or PATH)");
  }
  throw_if_interrupted();
  result.seconds = util::seconds_since(start);
  if (run->status.code == 24) {
    spdlog::info("rsync: some files vanished during the copy (normal on a live store)");
    result.vanished = true;
    return result;
  }
  if (!run->status.success()) {
    throw RunError("rsync " + run->status.describe() + " copying " + source.string() +
                   ": " + util::last_line(run->err));
  }
  return result;
}

CheckResult check_references(const std::filesystem::path& references,
                             const std::filesystem::path& mirror, std::size_t max_listed) {
  CheckResult result;
  util::UniqueFd dir(::open(mirror.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for_each_reference(references, [&](const ReferencedFile& ref) {
    ++result.referenced;
    std::string problem;
    struct stat st {};
    if (!is_safe_store_name(ref.store_fname)) {
      problem = ref.store_fname + " (unsafe name, not checked)";
    } else if (!dir || ::fstatat(dir.get(), ref.store_fname.c_str(), &st,
                                 AT_SYMLINK_NOFOLLOW) != 0 ||
               !S_ISREG(st.st_mode)) {
      problem = ref.store_fname;
    } else if (ref.size && static_cast<std::uint64_t>(st.st_size) != *ref.size) {
      problem = ref.store_fname + " (size " + std::to_string(st.st_size) + ", expected " +
                std::to_string(*ref.size) + ")";
    }
    if (!problem.empty()) {
      ++result.missing_count;
      if (result.missing.size() < max_listed) {
        result.missing.push_back(std::move(problem));
      }
    }
  });
  return result;
}

PruneResult prune_mirror(const std::filesystem::path& mirror, const std::filesystem::path& live,
                         const std::filesystem::path& references) {
  PruneResult result;
  std::error_code ec;
  if (!std::filesystem::is_directory(mirror, ec)) {
    return result;
  }
  // Pass 1: the mirror's files that left the live store (few, normally).
  std::vector<std::pair<std::string, std::uint64_t>> gone;
  util::UniqueFd live_dir(::open(live.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (auto it = std::filesystem::recursive_directory_iterator(mirror, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) {
      continue;
    }
    const auto size = it->file_size(ec);
    const std::string rel = it->path().lexically_relative(mirror).string();
    struct stat st {};
    const bool in_live = live_dir && ::fstatat(live_dir.get(), rel.c_str(), &st,
                                               AT_SYMLINK_NOFOLLOW) == 0;
    if (!in_live) {
      gone.emplace_back(rel, size);
    }
    ++result.files;
    result.bytes += size;
  }
  if (ec) {
    throw RunError("cannot walk the mirror " + mirror.string() + ": " + ec.message());
  }
  if (gone.empty()) {
    return result;
  }
  // Pass 2: keep those the dump references.
  std::unordered_set<std::string> keep;
  std::unordered_set<std::string> candidates;
  for (const auto& [rel, size] : gone) {
    candidates.insert(rel);
  }
  for_each_reference(references, [&](const ReferencedFile& ref) {
    if (candidates.contains(ref.store_fname)) {
      keep.insert(ref.store_fname);
    }
  });
  for (const auto& [rel, size] : gone) {
    if (keep.contains(rel)) {
      continue;
    }
    const auto path = mirror / rel;
    if (::unlink(path.c_str()) == 0) {
      ++result.pruned;
      --result.files;
      result.bytes -= size;
    } else if (errno != ENOENT) {
      spdlog::warn("cannot remove {} from the mirror: {}", path.string(),
                   util::errno_text(errno));
    }
  }
  spdlog::debug("pruned {} files gone from the live store", result.pruned);
  return result;
}

} // namespace odbox::core
