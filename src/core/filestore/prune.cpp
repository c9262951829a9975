#include "odbox/core/filestore/prune.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/core/filestore/references.hpp"
#include "odbox/util/dir_walk.hpp"
#include "odbox/util/fd.hpp"
#include "odbox/util/sys_error.hpp"
#include "odbox/util/test_point.hpp"

#include <cerrno>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace odbox::core {
namespace {

// The live store as the scan looks files up in it. After the first failure
// other than ENOENT nothing more is looked up: the prune is held back.
class LiveLookup {
public:
  explicit LiveLookup(const std::filesystem::path& live) : m_path(live) {
    // The store itself may be a symlink (a data dir on another disk).
    auto dir = util::open_directory(AT_FDCWD, live.c_str(), /*follow_symlink=*/true);
    if (dir) {
      m_dir = std::move(*dir);
    } else if (dir.error().err == ENOENT) {
      m_missing = true;
    } else {
      m_unreadable = "cannot open the live store " + live.string() + ": " +
                     util::errno_text(dir.error().err);
    }
  }

  // Is the file `rel` (NUL-terminated) known to be gone from the live store?
  bool gone(std::string_view rel) {
    if (m_missing) {
      return true;
    }
    if (m_unreadable) {
      return false;
    }
    struct stat st {};
    if (::fstatat(m_dir.get(), rel.data(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      return false;
    }
    const int err = errno;
    if (err == ENOENT) {
      return true;
    }
    m_unreadable =
        "cannot stat " + (m_path / rel).string() + ": " + util::errno_text(err);
    return false;
  }

  // Why the prune must wait, or nothing. A missing store matters only when
  // the mirror holds files.
  [[nodiscard]] std::optional<std::string> unreadable(std::uint64_t mirror_files) const {
    if (m_missing && mirror_files > 0) {
      return "the live store " + m_path.string() +
             " does not exist (is its file system mounted?)";
    }
    return m_unreadable;
  }

private:
  std::filesystem::path m_path;
  util::UniqueFd m_dir;
  bool m_missing = false;
  std::optional<std::string> m_unreadable;
};

} // namespace

MirrorScan scan_mirror(const std::filesystem::path& mirror,
                       const std::filesystem::path& live, const MirrorListing* listing) {
  MirrorScan scan;
  const auto top = util::open_directory(AT_FDCWD, mirror.c_str());
  if (!top) {
    if (top.error().err == ENOENT) {
      return scan;
    }
    throw RunError("cannot open the mirror " + mirror.string() + ": " +
                   util::errno_text(top.error().err));
  }
  LiveLookup live_store(live);
  const auto visit = [&](const util::WalkedFile& file) -> util::SysResult<void> {
    std::uint64_t size = 0;
    if (const auto listed =
            listing != nullptr ? listing->size_of(file.rel) : std::nullopt) {
      size = *listed; // rsync found it in the live store and copied it
    } else {
      struct stat st {};
      if (::fstatat(file.dir, file.name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
          return {};
        }
        return std::unexpected(util::sys_error("fstatat", std::string(file.rel)));
      }
      if (!S_ISREG(st.st_mode)) {
        return {};
      }
      size = static_cast<std::uint64_t>(st.st_size);
      if (live_store.gone(file.rel)) {
        scan.gone.emplace_back(file.rel, size); // few, normally
      }
    }
    ++scan.files;
    scan.bytes += size;
    return {};
  };
  if (auto walked = util::walk_regular_files(top->get(), k_max_store_depth, visit);
      !walked) {
    walked.error().path = (mirror / walked.error().path).string();
    throw RunError("cannot read the mirror: " + walked.error().message());
  }
  scan.live_unreadable = live_store.unreadable(scan.files);
  return scan;
}

PrunePlan plan_prune(const MirrorScan& scan, const std::filesystem::path& references,
                     std::size_t max_listed) {
  PrunePlan plan;
  plan.files = scan.files;
  plan.bytes = scan.bytes;
  plan.not_pruned_because = scan.live_unreadable;
  if (scan.gone.empty()) {
    return plan;
  }
  // Keep those the dump references: they are lost from the live store.
  std::unordered_set<std::string_view> candidates; // views of scan.gone's names
  for (const auto& [rel, size] : scan.gone) {
    candidates.insert(rel);
  }
  std::unordered_set<std::string_view> keep;
  for_each_reference(references, [&](const ReferencedFile& ref) {
    const auto found = candidates.find(ref.store_fname);
    if (found == candidates.end() || !keep.insert(*found).second) {
      return;
    }
    ++plan.lost_from_live_count;
    if (plan.lost_from_live.size() < max_listed) {
      plan.lost_from_live.push_back(ref.store_fname);
    }
  });
  if (plan.not_pruned_because) {
    return plan;
  }
  for (const auto& [rel, size] : scan.gone) {
    if (!keep.contains(rel)) {
      plan.doomed.emplace_back(rel, size);
      --plan.files;
      plan.bytes -= size;
    }
  }
  return plan;
}

PruneResult apply_prune(const PrunePlan& plan, const std::filesystem::path& mirror) {
  PruneResult result{.pruned = 0, .files = plan.files, .bytes = plan.bytes};
  for (const auto& [rel, size] : plan.doomed) {
    const auto path = mirror / rel;
    if (::unlink(path.c_str()) == 0) {
      ++result.pruned;
      util::test_point("prune.deleting");
    } else if (const int err = errno; err != ENOENT) { // ENOENT: gone since the scan
      ++result.files;
      result.bytes += size;
      spdlog::warn("cannot remove {} from the mirror: {}", path.string(),
                   util::errno_text(err));
    }
  }
  spdlog::debug("pruned {} files gone from the live store", result.pruned);
  return result;
}

} // namespace odbox::core
