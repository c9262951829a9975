// Tamperings of a backup area that `verify` must catch: one row each. A row
// makes a good backup, checks that verify calls it sound, tampers with it,
// and requires exit 4 with the problem named on an error line, and the area
// left as verify found it.

#include "fault_contract.hpp"
#include "odbox/util/digest.hpp"
#include "odbox/util/text.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/stat.h>

using namespace odbox::it;

namespace {

using Tamper = void (*)(const OdooScratch&);

struct Tampering {
  std::string name{};
  Tamper tamper = nullptr;
  std::string problem{}; // part of an error line of verify
  Args verify_args{};    // e.g. {"--deep"}
  // What the row waits for, when verify does not catch it yet: skipped.
  const char* waits_for = nullptr;
};

fs::path files_tsv(const OdooScratch& odoo) {
  return odoo.area() / (odoo.db() + ".files.tsv");
}

// The first file the file list names with a size of its own, and its size.
std::pair<std::string, std::uintmax_t> referenced_file(const OdooScratch& odoo) {
  for (const auto& line : odbox_test::read_lines(files_tsv(odoo))) {
    std::istringstream fields(line);
    std::string name;
    std::string size;
    std::getline(fields, name, '\t');
    std::getline(fields, size, '\t');
    if (size != "\\N" && size != "0") {
      return {name, std::stoull(size)};
    }
  }
  throw std::runtime_error("no referenced file with a size in " +
                           files_tsv(odoo).string());
}

void flip_byte(const fs::path& file, std::uintmax_t at) {
  std::string text = read_file(file);
  text.at(at) = static_cast<char>(text.at(at) ^ 0x20);
  odbox_test::write_file(file, text);
}

void edit_manifest(const OdooScratch& odoo,
                   const std::function<void(nlohmann::json&)>& edit) {
  auto m = odoo.manifest();
  edit(m);
  odbox_test::write_file(odoo.manifest_path(), m.dump(2) + "\n");
}

// The file list without the line of `name`, and `name` gone from the mirror.
void drop_reference(const OdooScratch& odoo, const std::string& name) {
  std::string kept;
  for (const auto& line : odbox_test::read_lines(files_tsv(odoo))) {
    if (!line.starts_with(name + "\t")) {
      kept += line + "\n";
    }
  }
  odbox_test::write_file(files_tsv(odoo), kept);
  fs::remove(odoo.mirror() / name);
}

const Tampering k_rows[] = {
    // The dump
    {"dump_byte_flipped",
     [](const OdooScratch& o) { flip_byte(o.dump(), fs::file_size(o.dump()) / 2); },
     "differs from the manifest's"},
    {"dump_truncated",
     [](const OdooScratch& o) { fs::resize_file(o.dump(), fs::file_size(o.dump()) / 2); },
     "the dump has"},
    {"dump_emptied", [](const OdooScratch& o) { fs::resize_file(o.dump(), 0); },
     "the dump has 0 bytes"},
    {"dump_missing", [](const OdooScratch& o) { fs::remove(o.dump()); }, "is missing"},
    {"dump_only_the_closing_line_with_a_manifest_to_match",
     [](const OdooScratch& o) {
       odbox_test::write_file(o.dump(), "--\n-- PostgreSQL database dump complete\n--\n");
       const auto sha =
           odbox::util::file_digest(o.dump().string(), odbox::util::Digest::Kind::sha256);
       edit_manifest(o, [&](nlohmann::json& m) {
         m["dump"]["bytes"] = fs::file_size(o.dump());
         m["dump"]["sha256"] = sha;
       });
     },
     "header"},
    {"dump_a_symbolic_link_to_a_copy",
     [](const OdooScratch& o) {
       fs::rename(o.dump(), o.scratch() / "dump-copy.sql");
       fs::create_symlink(o.scratch() / "dump-copy.sql", o.dump());
     },
     "symbolic link"},
    // The manifest
    {"manifest_sha256_edited",
     [](const OdooScratch& o) {
       edit_manifest(
           o, [](nlohmann::json& m) { m["dump"]["sha256"] = std::string(64, '0'); });
     },
     "differs from the manifest's"},
    {"manifest_missing", [](const OdooScratch& o) { fs::remove(o.manifest_path()); },
     "no manifest"},
    {"manifest_not_json",
     [](const OdooScratch& o) {
       const auto text = read_file(o.manifest_path());
       odbox_test::write_file(o.manifest_path(), text.substr(0, text.size() / 2));
     },
     "manifest"},
    {"manifest_referenced_count_edited",
     [](const OdooScratch& o) {
       edit_manifest(o, [](nlohmann::json& m) {
         m["filestore"]["referenced"] = m["filestore"]["referenced"].get<int>() - 1;
       });
     },
     "file list"},
    // The file list
    {"file_list_deleted_and_a_referenced_file_removed",
     [](const OdooScratch& o) {
       fs::remove(o.mirror() / referenced_file(o).first);
       fs::remove(files_tsv(o));
     },
     "is missing"},
    {"file_list_emptied_and_a_referenced_file_removed",
     [](const OdooScratch& o) {
       fs::remove(o.mirror() / referenced_file(o).first);
       odbox_test::write_file(files_tsv(o), "");
     },
     "file list"},
    {"file_list_line_deleted_with_its_file",
     [](const OdooScratch& o) { drop_reference(o, referenced_file(o).first); },
     "file list"},
    // The mirror
    {"mirror_file_deleted",
     [](const OdooScratch& o) { fs::remove(o.mirror() / referenced_file(o).first); },
     "missing from the mirror"},
    {"mirror_file_truncated",
     [](const OdooScratch& o) {
       const auto [name, size] = referenced_file(o);
       fs::resize_file(o.mirror() / name, size - 1);
     },
     "expected"},
    {"mirror_file_content_changed",
     [](const OdooScratch& o) {
       const auto [name, size] = referenced_file(o);
       flip_byte(o.mirror() / name, size / 2);
     },
     "corrupted file",
     {"--deep"}},
    {"mirror_file_replaced_by_a_symbolic_link",
     [](const OdooScratch& o) {
       const auto name = referenced_file(o).first;
       fs::rename(o.mirror() / name, o.scratch() / "file-copy");
       fs::create_symlink(o.scratch() / "file-copy", o.mirror() / name);
     },
     "missing from the mirror"},
    {"mirror_removed", [](const OdooScratch& o) { fs::remove_all(o.mirror()); },
     "missing from the mirror"},
};

// Everything under the area, with its size and content digest.
std::map<std::string, std::string> area_state(const OdooScratch& odoo) {
  auto state = odbox_test::tree_digest(odoo.area());
  struct stat st {};
  for (auto& [name, digest] : state) {
    if (::lstat((odoo.area() / name).c_str(), &st) == 0) {
      digest += " mode=" + std::to_string(st.st_mode) +
                " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
                std::to_string(st.st_mtim.tv_nsec);
    }
  }
  return state;
}

// gtest names the row in its messages.
[[maybe_unused]] void PrintTo(const Tampering& row, std::ostream* os) {
  *os << row.name;
}

class Tampered : public ::testing::TestWithParam<Tampering> {};

} // namespace

TEST_P(Tampered, VerifyNamesTheProblem) {
  const Tampering& row = GetParam();
  if (row.waits_for != nullptr) {
    GTEST_SKIP() << "waits for " << row.waits_for;
  }
  OdooScratch odoo(
      OdooScratch::Options{.attachments = 8, .bulk_rows = 300, .sessions = 0});
  const auto backup = odoo.backup({"hot"});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  Args verify{"verify"};
  verify.insert(verify.end(), row.verify_args.begin(), row.verify_args.end());
  const auto sound = odoo.backup(verify);
  ASSERT_EQ(sound.exit_code, 0) << "the untouched backup: " << sound.err;

  row.tamper(odoo);
  const auto tampered = area_state(odoo);
  const auto out = odoo.backup(verify);
  EXPECT_EQ(out.exit_code, 4) << out.err;
  const auto errors = error_lines(out.err);
  ASSERT_FALSE(errors.empty()) << "no error line:\n" << out.err;
  EXPECT_TRUE(std::ranges::any_of(errors,
                                  [&](const std::string& line) {
                                    return line.find(row.problem) != std::string::npos;
                                  }))
      << "no error line says '" << row.problem << "':\n"
      << out.err;
  for (const auto& line : errors) {
    EXPECT_EQ(odbox::util::printable(line), line) << "a raw byte in the log";
  }
  EXPECT_EQ(area_state(odoo), tampered) << "verify changed the area";
}

INSTANTIATE_TEST_SUITE_P(Row, Tampered, ::testing::ValuesIn(k_rows),
                         [](const auto& row_info) { return row_info.param.name; });
