#include "attachments.hpp"

#include <array>

namespace odbox_standin {

std::string random_content(std::mt19937_64& rng, std::size_t max_size) {
  std::uniform_int_distribution<std::size_t> size(1, std::max<std::size_t>(1, max_size));
  return random_bytes(rng, size(rng));
}

AttachmentRow random_document(std::mt19937_64& rng, std::int64_t serial) {
  struct Kind {
    const char* model;
    const char* prefix;
    const char* extension;
    const char* mimetype;
  };
  static constexpr std::array<Kind, 5> k_kinds{{
      {"res.partner", "avatar", "png", "image/png"},
      {"mail.message", "scan", "pdf", "application/pdf"},
      {"account.move", "INV_2024_", "pdf", "application/pdf"},
      {"product.template", "photo", "jpg", "image/jpeg"},
      {"mail.message", "export", "xlsx",
       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
  }};
  const Kind& kind = k_kinds.at(rng() % k_kinds.size());
  AttachmentRow row;
  row.name = std::string(kind.prefix) + std::to_string(serial) + "." + kind.extension;
  row.res_model = kind.model;
  row.res_id = static_cast<std::int64_t>(1 + rng() % 500);
  row.mimetype = kind.mimetype;
  if (row.res_model == "res.partner") {
    row.res_field = "image_1920";
  }
  if (rng() % 4 == 0) {
    row.access_token = random_hex(rng, 36);
  }
  if (rng() % 6 == 0) {
    row.index_content = "Facture n° " + std::to_string(serial) + "\tmontant\n" +
                        std::to_string(rng() % 100000) + " €";
  }
  row.is_public = rng() % 20 == 0;
  return row;
}

AttachmentRow file_attachment(std::mt19937_64& rng, std::int64_t serial,
                              const Filestore::Stored& stored, std::size_t size) {
  AttachmentRow row = random_document(rng, serial);
  row.store_fname = stored.store_fname;
  row.checksum = stored.checksum;
  row.file_size = static_cast<std::int64_t>(size);
  return row;
}

std::int64_t insert_attachment(PgConnection& conn, const AttachmentRow& row) {
  auto optional_text = [](const std::optional<std::string>& value) {
    return value ? PgParam::text(*value) : PgParam::null();
  };
  const PgRows rows = conn.query(
      "INSERT INTO ir_attachment (name, res_model, res_field, res_id, company_id, type, "
      "url, "
      "public, access_token, db_datas, store_fname, file_size, checksum, mimetype, "
      "index_content, create_uid, create_date, write_uid, write_date) "
      "VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 2, "
      "now() AT TIME ZONE 'UTC', 2, now() AT TIME ZONE 'UTC') RETURNING id",
      {PgParam::text(row.name), PgParam::text(row.res_model),
       optional_text(row.res_field), PgParam::text(std::to_string(row.res_id)),
       PgParam::text(row.type), optional_text(row.url),
       PgParam::text(row.is_public ? "t" : "f"), optional_text(row.access_token),
       row.db_datas ? PgParam::bytes(*row.db_datas) : PgParam::null(),
       optional_text(row.store_fname), PgParam::text(std::to_string(row.file_size)),
       optional_text(row.checksum), PgParam::text(row.mimetype),
       optional_text(row.index_content)});
  return std::stoll(rows.text(0, 0));
}

} // namespace odbox_standin
