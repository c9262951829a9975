#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace odbox::util {

// `text` made safe for a log line or a terminal: valid UTF-8 is kept, while
// control characters and bytes that are not UTF-8 become \xHH. For names and
// paths that come from the user or the disk and are printed.
[[nodiscard]] std::string printable(std::string_view text);

// A whole decimal number ("0", "600", "-3"): digits only, with an optional
// leading '-'; nothing for anything else ("", " 5", "1e3", "0x10", "5s")
// and for values beyond long long.
[[nodiscard]] std::optional<long long> parse_decimal(std::string_view text);

} // namespace odbox::util
