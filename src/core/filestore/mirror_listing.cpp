#include "odbox/core/filestore/mirror_listing.hpp"

#include <algorithm>

namespace odbox::core {
namespace {
// Lowercase hex digit -> value, anything else -> 0xff.
constexpr std::array<unsigned char, 256> k_hex_value = [] {
  std::array<unsigned char, 256> table{};
  table.fill(0xff);
  for (int c = '0'; c <= '9'; ++c) {
    table[static_cast<std::size_t>(c)] = static_cast<unsigned char>(c - '0');
  }
  for (int c = 'a'; c <= 'f'; ++c) {
    table[static_cast<std::size_t>(c)] = static_cast<unsigned char>(c - 'a' + 10);
  }
  return table;
}();

} // namespace

std::optional<std::array<unsigned char, 20>> MirrorListing::pack(std::string_view name) {
  // "ab/ab01...": the directory is the first two of the 40 lowercase hex digits.
  constexpr std::size_t k_length = 2 + 1 + 40;
  if (name.size() != k_length || name[2] != '/' || name[0] != name[3] ||
      name[1] != name[4]) {
    return std::nullopt;
  }
  std::array<unsigned char, 20> out{};
  unsigned char invalid = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned char high = k_hex_value[static_cast<unsigned char>(name[3 + 2 * i])];
    const unsigned char low = k_hex_value[static_cast<unsigned char>(name[4 + 2 * i])];
    invalid |= static_cast<unsigned char>(high | low);
    out[i] = static_cast<unsigned char>((high << 4) | low);
  }
  if ((invalid & 0xf0) != 0) {
    return std::nullopt; // a byte that is not a lowercase hex digit
  }
  return out;
}

void MirrorListing::add(std::string_view name, std::uint64_t size) {
  if (const auto sha1 = pack(name)) {
    m_hashed.push_back(Hashed{*sha1, size});
  } else {
    m_other[std::string(name)] = size;
  }
}

void MirrorListing::absorb(MirrorListing&& other) {
  m_hashed.insert(m_hashed.end(), other.m_hashed.begin(), other.m_hashed.end());
  m_other.merge(other.m_other);
  other = MirrorListing();
}

void MirrorListing::seal() {
  std::sort(m_hashed.begin(), m_hashed.end(),
            [](const Hashed& a, const Hashed& b) { return a.sha1 < b.sha1; });
}

std::optional<std::uint64_t> MirrorListing::size_of(std::string_view name) const {
  std::size_t hint = 0;
  return size_of(name, hint);
}

std::optional<std::uint64_t> MirrorListing::size_of(std::string_view name,
                                                    std::size_t& hint) const {
  if (const auto sha1 = pack(name)) {
    const auto before = [](const Hashed& entry,
                           const std::array<unsigned char, 20>& key) {
      return entry.sha1 < key;
    };
    // Names asked for in order (the file list is sorted) sit at or just
    // after the previous one: gallop forward from there; otherwise search
    // the part before it.
    const std::size_t n = m_hashed.size();
    std::size_t low = 0;
    std::size_t high = std::min(hint, n);
    if (high != n && !(*sha1 < m_hashed[high].sha1)) {
      low = high;
      std::size_t step = 1;
      while (n - low > step && before(m_hashed[low + step], *sha1)) {
        low += step;
        step *= 2;
      }
      high = low + std::min(step + 1, n - low);
    }
    const auto begin = m_hashed.begin();
    const auto it =
        std::lower_bound(begin + static_cast<std::ptrdiff_t>(low),
                         begin + static_cast<std::ptrdiff_t>(high), *sha1, before);
    hint = static_cast<std::size_t>(it - begin);
    if (it != m_hashed.end() && it->sha1 == *sha1) {
      return it->size;
    }
    return std::nullopt;
  }
  const auto it = m_other.find(std::string(name));
  return it == m_other.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
}

} // namespace odbox::core
