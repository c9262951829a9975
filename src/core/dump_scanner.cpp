#include "odbox/core/dump_scanner.hpp"

#include <algorithm>
#include <cstring>

namespace odbox::core {
namespace {

constexpr std::string_view k_copy_end = " FROM stdin;";
constexpr std::string_view k_copy_terminator = "\\.";

bool line_is(std::string_view head, std::uint64_t length, std::string_view text) {
  return length == text.size() && head == text;
}

} // namespace

PlainDumpScanner::PlainDumpScanner(std::string table)
    : m_copy_prefix("COPY " + table + " ("),
      m_head_limit(std::max(k_head, m_copy_prefix.size())) {
  m_head.reserve(m_head_limit);
  m_tail.reserve(k_tail);
}

void PlainDumpScanner::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const void* eol = std::memchr(chunk.data(), '\n', chunk.size());
    if (eol == nullptr) {
      add_to_line(chunk);
      return;
    }
    const auto size =
        static_cast<std::size_t>(static_cast<const char*>(eol) - chunk.data());
    const std::string_view rest = chunk.substr(0, size);
    if (m_length == 0) { // the whole line is in this chunk: no copy
      end_line(rest.substr(0, m_head_limit),
               rest.substr(rest.size() - std::min(rest.size(), k_tail)), rest.size());
    } else {
      add_to_line(rest);
      end_line(m_head, m_tail, m_length);
      m_head.clear();
      m_tail.clear();
      m_length = 0;
    }
    chunk.remove_prefix(size + 1);
  }
}

void PlainDumpScanner::add_to_line(std::string_view piece) {
  if (m_head.size() < m_head_limit) {
    m_head.append(piece.substr(0, m_head_limit - m_head.size()));
  }
  if (piece.size() >= k_tail) {
    m_tail.assign(piece.substr(piece.size() - k_tail));
  } else {
    m_tail.append(piece);
    if (m_tail.size() > k_tail) {
      m_tail.erase(0, m_tail.size() - k_tail);
    }
  }
  m_length += piece.size();
}

void PlainDumpScanner::end_line(std::string_view head, std::string_view tail,
                                std::uint64_t length) {
  if (m_header == Header::first_line || m_header == Header::title_line) {
    check_header(head, length);
  }
  if (m_in_copy) {
    if (line_is(head, length, k_copy_terminator)) {
      m_in_copy = false;
      if (m_counting) {
        m_rows = m_rows.value_or(0) + m_block_rows;
        m_counting = false;
      }
    } else if (m_counting) {
      ++m_block_rows;
    }
    return;
  }
  if (head.starts_with("COPY ") && tail.ends_with(k_copy_end)) {
    m_in_copy = true;
    m_counting = head.starts_with(m_copy_prefix);
    m_block_rows = 0;
  }
}

void PlainDumpScanner::check_header(std::string_view head, std::uint64_t length) {
  if (m_header == Header::first_line) {
    if (!m_restrict_seen && head.starts_with("\\restrict ")) {
      m_restrict_seen = true; // 15.14+ may put it first
    } else {
      m_header = line_is(head, length, "--") ? Header::title_line : Header::missing;
    }
    return;
  }
  m_header =
      line_is(head, length, "-- PostgreSQL database dump") ? Header::ok : Header::missing;
}

} // namespace odbox::core
