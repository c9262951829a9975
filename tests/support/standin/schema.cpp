#include "schema.hpp"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace odbox_standin {
namespace {

// Replaces every "@name@" of `text` (g++ 12 has no std::format).
std::string fill(std::string text,
                 std::initializer_list<std::pair<std::string_view, std::string>> values) {
  for (const auto& [name, value] : values) {
    const std::string token = "@" + std::string(name) + "@";
    for (auto pos = text.find(token); pos != std::string::npos;
         pos = text.find(token, pos + value.size())) {
      text.replace(pos, token.size(), value);
    }
  }
  return text;
}

} // namespace

std::string schema_sql() {
  return R"sql(
CREATE TABLE ir_attachment (
    id serial PRIMARY KEY,
    name varchar NOT NULL,
    description text,
    res_model varchar,
    res_field varchar,
    res_id int4,
    company_id int4,
    type varchar NOT NULL,
    url varchar(1024),
    public boolean,
    access_token varchar,
    db_datas bytea,
    store_fname varchar,
    file_size int4,
    checksum varchar(40),
    mimetype varchar,
    index_content text,
    original_id int4,
    create_uid int4,
    create_date timestamp without time zone,
    write_uid int4,
    write_date timestamp without time zone
);
CREATE INDEX ir_attachment_res_idx ON ir_attachment (res_model, res_id);
CREATE INDEX ir_attachment__checksum_index ON ir_attachment (checksum);
CREATE INDEX ir_attachment__store_fname_index ON ir_attachment (store_fname);
CREATE INDEX ir_attachment__url_index ON ir_attachment (url) WHERE url IS NOT NULL;

CREATE TABLE ir_config_parameter (
    id serial PRIMARY KEY,
    key varchar NOT NULL UNIQUE,
    value text NOT NULL,
    create_uid int4,
    create_date timestamp without time zone,
    write_uid int4,
    write_date timestamp without time zone
);

CREATE TABLE ir_module_module (
    id serial PRIMARY KEY,
    name varchar NOT NULL UNIQUE,
    state varchar,
    latest_version varchar,
    author varchar,
    license varchar,
    shortdesc jsonb,
    auto_install boolean,
    application boolean DEFAULT false,
    create_date timestamp without time zone,
    write_date timestamp without time zone
);

CREATE TABLE res_partner (
    id serial PRIMARY KEY,
    name varchar,
    display_name varchar,
    email varchar,
    phone varchar,
    street varchar,
    city varchar,
    zip varchar,
    country_id int4,
    is_company boolean,
    active boolean DEFAULT true,
    credit_limit numeric,
    partner_latitude numeric(10, 7),
    comment text,
    properties jsonb,
    create_uid int4,
    create_date timestamp without time zone,
    write_uid int4,
    write_date timestamp without time zone
);
CREATE INDEX res_partner__display_name_index ON res_partner (display_name);

CREATE TABLE mail_message (
    id serial PRIMARY KEY,
    subject varchar,
    body text,
    model varchar,
    res_id int4,
    message_type varchar NOT NULL,
    author_id int4,
    is_internal boolean,
    date timestamp without time zone,
    create_uid int4,
    create_date timestamp without time zone,
    write_uid int4,
    write_date timestamp without time zone
);
CREATE INDEX mail_message_model_res_id_idx ON mail_message (model, res_id);

CREATE TABLE account_move_line (
    id serial PRIMARY KEY,
    move_id int4 NOT NULL,
    name varchar,
    partner_id int4,
    account_id int4 NOT NULL,
    date date,
    debit numeric,
    credit numeric,
    balance numeric,
    amount_currency numeric,
    quantity numeric,
    price_unit double precision,
    reconciled boolean,
    analytic_distribution jsonb,
    create_uid int4,
    create_date timestamp without time zone,
    write_uid int4,
    write_date timestamp without time zone
);
CREATE INDEX account_move_line_partner_id_index ON account_move_line (partner_id);
)sql";
}

std::string constraints_sql() {
  return R"sql(
ALTER TABLE mail_message ADD CONSTRAINT mail_message_author_id_fkey
    FOREIGN KEY (author_id) REFERENCES res_partner (id) ON DELETE SET NULL;
ALTER TABLE account_move_line ADD CONSTRAINT account_move_line_partner_id_fkey
    FOREIGN KEY (partner_id) REFERENCES res_partner (id) ON DELETE RESTRICT;
)sql";
}

BulkRows split_bulk_rows(std::int64_t total) {
  BulkRows rows;
  rows.partners = std::max<std::int64_t>(1, total / 10);
  rows.messages = total * 4 / 10;
  rows.move_lines = std::max<std::int64_t>(0, total - rows.partners - rows.messages);
  return rows;
}

std::string bulk_data_sql(const BulkRows& rows, std::uint64_t seed) {
  const double setseed = static_cast<double>(seed % 1000U) / 1000.0;
  return fill(R"sql(
SELECT setseed(@seed@);
INSERT INTO res_partner (name, display_name, email, phone, street, city, zip, country_id,
    is_company, active, credit_limit, partner_latitude, comment, properties,
    create_uid, create_date, write_uid, write_date)
SELECT 'Partner ' || g, 'Partner ' || g || CASE WHEN g % 7 = 0 THEN ', Inc.' ELSE '' END,
    CASE WHEN g % 13 <> 0 THEN 'partner' || g || '@example.com' END,
    '+32 2 ' || lpad((g * 7919 % 1000000)::text, 6, '0'),
    (g % 300) || ' Rue de l''Exemple',
    (ARRAY['Bruxelles', 'Liège', 'Gent', 'Zürich', 'München', 'Kraków'])[1 + g % 6],
    lpad((1000 + g % 8999)::text, 4, '0'), 1 + g % 250, g % 7 = 0, g % 50 <> 0,
    round((random() * 10000)::numeric, 2), round((random() * 180 - 90)::numeric, 7),
    CASE WHEN g % 11 = 0 THEN E'<p>Line one\nline\ttwo \\ back''slash é ✓</p>' END,
    jsonb_build_object('tier', g % 3, 'tags', jsonb_build_array('vip', g % 5), 'note', E'a\tb'),
    2, timestamp '2024-01-01' + g * interval '17 minutes', 2,
    timestamp '2024-06-01' + g * interval '3 minutes'
FROM generate_series(1, @partners@) AS g;

INSERT INTO mail_message (subject, body, model, res_id, message_type, author_id, is_internal,
    date, create_uid, create_date, write_uid, write_date)
SELECT CASE WHEN g % 4 = 0 THEN 'Re: order S' || lpad(g::text, 5, '0') END,
    '<p>' || repeat(md5(g::text || random()::text), 1 + g % 8) || E'</p>\n<p>Cordialement, ' ||
        (ARRAY['Anaïs', 'Jürgen', 'Zoë', 'O''Brien'])[1 + g % 4] || '</p>',
    (ARRAY['res.partner', 'sale.order', 'account.move'])[1 + g % 3], 1 + g % @partners@,
    (ARRAY['comment', 'notification', 'email'])[1 + g % 3],
    CASE WHEN g % 9 <> 0 THEN 1 + g % @partners@ END, g % 5 = 0,
    timestamp '2024-01-01' + g * interval '61 seconds', 2,
    timestamp '2024-01-01' + g * interval '61 seconds', 2,
    timestamp '2024-01-01' + g * interval '61 seconds'
FROM generate_series(1, @messages@) AS g;

INSERT INTO account_move_line (move_id, name, partner_id, account_id, date, debit, credit,
    balance, amount_currency, quantity, price_unit, reconciled, analytic_distribution,
    create_uid, create_date, write_uid, write_date)
SELECT 1 + g / 3, 'INV/2024/' || lpad((1 + g / 3)::text, 5, '0') || ' line ' || g % 3,
    1 + g % @partners@, 400000 + g % 40, date '2024-01-01' + g % 366,
    CASE WHEN g % 2 = 0 THEN round((random() * 5000)::numeric, 2) ELSE 0 END,
    CASE WHEN g % 2 = 1 THEN round((random() * 5000)::numeric, 2) ELSE 0 END,
    round((random() * 10000 - 5000)::numeric, 2), round((random() * 1000)::numeric, 6),
    1 + g % 12, random() * 100, g % 3 = 0,
    CASE WHEN g % 4 = 0 THEN jsonb_build_object((g % 17)::text, 100.0) END,
    2, timestamp '2024-01-01' + g * interval '29 seconds', 2,
    timestamp '2024-01-01' + g * interval '29 seconds'
FROM generate_series(1, @lines@) AS g;
)sql",
              {{"seed", std::to_string(setseed)},
               {"partners", std::to_string(rows.partners)},
               {"messages", std::to_string(rows.messages)},
               {"lines", std::to_string(rows.move_lines)}});
}

std::string base_data_sql(const std::string& uuid, const std::string& secret) {
  return fill(R"sql(
INSERT INTO ir_config_parameter (key, value, create_uid, create_date, write_uid, write_date)
VALUES ('database.uuid', '@uuid@', 1, now(), 1, now()),
       ('database.secret', '@secret@', 1, now(), 1, now()),
       ('database.create_date', to_char(now(), 'YYYY-MM-DD HH24:MI:SS'), 1, now(), 1, now()),
       ('web.base.url', 'http://localhost:8069', 1, now(), 1, now()),
       ('base.login_cooldown_after', '10', 1, now(), 1, now()),
       ('mail.catchall.domain', 'example.com', 1, now(), 1, now());
INSERT INTO ir_module_module (name, state, latest_version, author, license, shortdesc,
    auto_install, application, create_date, write_date)
VALUES ('base', 'installed', '17.0.1.3', 'Odoo S.A.', 'LGPL-3', '{"en_US": "Base"}',
        true, false, now(), now()),
       ('web', 'installed', '17.0.1.0', 'Odoo S.A.', 'LGPL-3', '{"en_US": "Web"}',
        true, false, now(), now()),
       ('mail', 'installed', '17.0.1.15', 'Odoo S.A.', 'LGPL-3',
        '{"en_US": "Discuss", "fr_FR": "Discussion"}', false, true, now(), now()),
       ('contacts', 'installed', '17.0.1.0', 'Odoo S.A.', 'LGPL-3', '{"en_US": "Contacts"}',
        false, true, now(), now()),
       ('account', 'installed', '17.0.1.2', 'Odoo S.A.', 'LGPL-3',
        '{"en_US": "Invoicing", "de_DE": "Rechnungsstellung"}', false, true, now(), now()),
       ('sale', 'to upgrade', '17.0.1.2', 'Odoo S.A.', 'LGPL-3', '{"en_US": "Sales"}',
        false, true, now(), now()),
       ('website', 'uninstalled', NULL, 'Odoo S.A.', 'LGPL-3', '{"en_US": "Website"}',
        false, true, now(), now());
)sql",
              {{"uuid", uuid}, {"secret", secret}});
}

} // namespace odbox_standin
