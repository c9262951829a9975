#pragma once

#include <cstdint>
#include <string>

namespace odbox_standin {

// DDL of the Odoo-shaped tables: ir_attachment (Odoo's columns and
// indexes), ir_config_parameter, ir_module_module, res_partner, mail_message,
// account_move_line (numerics, timestamps, booleans,
// jsonb and text with tabs, newlines, backslashes and non-ASCII characters).
[[nodiscard]] std::string schema_sql();

// Foreign keys of the bulk tables (added after the data, as pg_dump does).
[[nodiscard]] std::string constraints_sql();

// How many rows of each bulk table.
struct BulkRows {
  std::int64_t partners = 0;
  std::int64_t messages = 0;
  std::int64_t move_lines = 0;
};
// Splits a total: 10% partners (at least 1), 40% messages, the rest lines.
[[nodiscard]] BulkRows split_bulk_rows(std::int64_t total);

// INSERT ... SELECT FROM generate_series statements filling the bulk tables;
// deterministic for a given seed (setseed + random()).
[[nodiscard]] std::string bulk_data_sql(const BulkRows& rows, std::uint64_t seed);

// Installed modules and configuration parameters of a 17.0 database.
[[nodiscard]] std::string base_data_sql(const std::string& uuid,
                                        const std::string& secret);

} // namespace odbox_standin
