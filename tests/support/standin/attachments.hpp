#pragma once

#include "filestore.hpp"
#include "pg.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <string>

namespace odbox_standin {

// One ir_attachment row as Odoo writes it (create_date/write_date: now, UTC).
struct AttachmentRow {
  std::string name;
  std::string res_model;
  std::optional<std::string> res_field;
  std::int64_t res_id = 0;
  std::string type = "binary"; // "binary" | "url"
  std::optional<std::string> url;
  std::optional<std::string> db_datas; // bytes stored in the database
  std::optional<std::string> store_fname;
  std::int64_t file_size = 0;
  std::optional<std::string> checksum;
  std::string mimetype = "application/octet-stream";
  std::optional<std::string> access_token;
  bool is_public = false;
  std::optional<std::string> index_content;
};

// Name, model, res_id, mimetype... of a random business document.
AttachmentRow random_document(std::mt19937_64& rng, std::int64_t serial);

// A binary attachment whose content went to the file store.
AttachmentRow file_attachment(std::mt19937_64& rng, std::int64_t serial,
                              const Filestore::Stored& stored, std::size_t size);

// INSERT ... RETURNING id. Throws PgError.
std::int64_t insert_attachment(PgConnection& conn, const AttachmentRow& row);

// Content of a random size in [1, max_size].
std::string random_content(std::mt19937_64& rng, std::size_t max_size);

} // namespace odbox_standin
