#include "odbox/util/text.hpp"

#include <charconv>
#include <cstdint>

namespace odbox::util {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not a
// valid, shortest-form sequence of a code point outside the surrogates.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  struct Lead {
    std::uint8_t first, last; // the range of lead bytes
    std::size_t length;       // bytes in the sequence
    std::uint32_t min;        // smallest code point of that length (no overlong forms)
    std::uint8_t mask;        // the lead byte's payload bits
  };
  static constexpr Lead k_leads[] = {{0xC2, 0xDF, 2, 0x80, 0x1F},
                                     {0xE0, 0xEF, 3, 0x800, 0x0F},
                                     {0xF0, 0xF4, 4, 0x10000, 0x07}};
  const std::uint8_t lead = byte(i);
  const Lead* kind = nullptr;
  for (const auto& candidate : k_leads) {
    if (lead >= candidate.first && lead <= candidate.last) {
      kind = &candidate;
    }
  }
  if (kind == nullptr) {
    return 0;
  }
  const std::size_t length = kind->length;
  std::uint32_t code = lead & kind->mask;
  if (i + length > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0U) != 0x80U) {
      return 0;
    }
    code = (code << 6U) | (byte(i + k) & 0x3FU);
  }
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  return code < kind->min || code > 0x10FFFF || surrogate ? 0 : length;
}

} // namespace

std::string printable(std::string_view text) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<std::uint8_t>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += text[i++];
      continue;
    }
    if (const std::size_t length = c >= 0x80 ? utf8_sequence_length(text, i) : 0;
        length > 0) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    out += "\\x";
    out += k_hex[c >> 4U];
    out += k_hex[c & 0x0FU];
    ++i;
  }
  return out;
}

std::optional<long long> parse_decimal(std::string_view text) {
  const std::string_view digits = text.starts_with('-') ? text.substr(1) : text;
  if (digits.empty() ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

} // namespace odbox::util
