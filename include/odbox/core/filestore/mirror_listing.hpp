#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace odbox::core {

// The regular files rsync reported while mirroring (every file of the live
// store as it was copied or found up to date) with their sizes, so that the
// check and the prune need not stat each file again. Names of Odoo's own
// "xx/<sha1>" form take 32 bytes each; other names are kept as strings.
class MirrorListing {
public:
  void add(std::string_view name, std::uint64_t size);
  // Takes over what `other` holds (names not already here).
  void absorb(MirrorListing&& other);
  // Sorts what was added; call once before the lookups.
  void seal();
  [[nodiscard]] std::optional<std::uint64_t> size_of(std::string_view name) const;
  // The same, starting from `hint` (updated: pass the same variable again):
  // fast when the names come in sorted order, right in any order.
  [[nodiscard]] std::optional<std::uint64_t> size_of(std::string_view name,
                                                     std::size_t& hint) const;
  [[nodiscard]] std::uint64_t files() const { return m_hashed.size() + m_other.size(); }

private:
  struct Hashed {
    std::array<unsigned char, 20> sha1{};
    std::uint64_t size = 0;
  };
  static std::optional<std::array<unsigned char, 20>> pack(std::string_view name);
  std::vector<Hashed> m_hashed;
  std::unordered_map<std::string, std::uint64_t> m_other;
};

} // namespace odbox::core
