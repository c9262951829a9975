#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace odbox::core {

// Reads a plain-format pg_dump stream as it passes, in chunks cut anywhere,
// without keeping it: checks that it starts with pg_dump's header and counts
// the rows of one table's COPY block. Memory stays flat: it keeps only the
// first and last few bytes of the line in progress.
//
// The header is the line "--" then "-- PostgreSQL database dump"; one
// "\restrict <key>" line (15.14+) may come before it. COPY blocks are
// tracked for every table, so that a data row that looks like SQL is never
// taken for it; a block ends at the line "\." (a row holding those bytes
// writes its backslash escaped, "\\.").
class PlainDumpScanner {
public:
  // `table` as pg_dump names it in COPY: "public.ir_attachment".
  explicit PlainDumpScanner(std::string table = "public.ir_attachment");

  void feed(std::string_view chunk);

  // The stream so far began with pg_dump's header.
  [[nodiscard]] bool header_ok() const noexcept { return m_header == Header::ok; }
  // Rows in the table's COPY block once its "\." line has passed; nothing
  // when no complete block of that table was seen.
  [[nodiscard]] std::optional<std::uint64_t> table_rows() const noexcept {
    return m_rows;
  }

private:
  enum class Header { first_line, title_line, ok, missing };
  static constexpr std::size_t k_head = 64; // the header lines, "COPY public.x ("
  static constexpr std::size_t k_tail = 16; // enough for " FROM stdin;"

  void add_to_line(std::string_view piece);
  void end_line(std::string_view head, std::string_view tail, std::uint64_t length);
  void check_header(std::string_view head, std::uint64_t length);

  std::string m_copy_prefix; // "COPY public.ir_attachment ("
  std::size_t m_head_limit;  // bytes kept from the start of a line
  Header m_header = Header::first_line;
  bool m_restrict_seen = false;
  bool m_in_copy = false;  // between a COPY ... FROM stdin; line and its "\."
  bool m_counting = false; // ... of the counted table
  std::uint64_t m_block_rows = 0;
  std::optional<std::uint64_t> m_rows;
  // The line in progress when a chunk ends inside it.
  std::string m_head;
  std::string m_tail;
  std::uint64_t m_length = 0;
};

} // namespace odbox::core
