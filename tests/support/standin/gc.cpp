#include "gc.hpp"

#include <algorithm>
#include <set>

namespace odbox_standin {
namespace {

// A PostgreSQL text[] literal: {"a","b"}.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

constexpr std::size_t k_chunk = 1000; // Odoo's cr.IN_MAX

} // namespace

GcResult collect_garbage(PgConnection& conn, Filestore& store,
                         std::chrono::milliseconds lock_timeout) {
  GcResult result;
  PgTransaction transaction(conn);
  conn.exec("SET LOCAL lock_timeout = '" + std::to_string(lock_timeout.count()) + "ms'");
  try {
    conn.exec("LOCK ir_attachment IN SHARE MODE");
  } catch (const PgError& error) {
    if (!error.lock_not_available()) {
      throw;
    }
    transaction.rollback();
    result.skipped = true;
    return result;
  }
  const std::vector<std::string> checklist = store.checklist();
  for (std::size_t start = 0; start < checklist.size(); start += k_chunk) {
    const std::vector<std::string> names(
        checklist.begin() + static_cast<std::ptrdiff_t>(start),
        checklist.begin() +
            static_cast<std::ptrdiff_t>(std::min(start + k_chunk, checklist.size())));
    const PgRows rows = conn.query(
        "SELECT store_fname FROM ir_attachment WHERE store_fname = ANY($1::text[])",
        {PgParam::text(text_array(names))});
    std::set<std::string> whitelist;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      whitelist.insert(rows.text(r, 0));
    }
    for (const std::string& name : names) {
      ++result.checked;
      if (!whitelist.contains(name) && store.unlink(name)) {
        ++result.unlinked;
      }
      store.unmark(name);
    }
  }
  transaction.commit();
  return result;
}

std::vector<std::string> referenced_files(PgConnection& conn) {
  const PgRows rows = conn.query(
      "SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL "
      "AND store_fname <> ''");
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out.push_back(rows.text(r, 0));
  }
  std::ranges::sort(out);
  return out;
}

} // namespace odbox_standin
