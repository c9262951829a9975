#include "odbox/core/dump_scanner.hpp"

#include <gtest/gtest.h>

using odbox::core::PlainDumpScanner;

namespace {

// What pg_dump 15.18 prints, cut short: its header, a \restrict line after
// it, a table whose row reads like a COPY statement, the counted table (one
// row holds the escaped bytes "\."), and a table whose name extends it.
const std::string k_sample =
    "--\n"
    "-- PostgreSQL database dump\n"
    "--\n"
    "\n"
    "\\restrict JNeRIPOX4yR4JzaotnTbl\n"
    "\n"
    "SET statement_timeout = 0;\n"
    "COPY public.note (body) FROM stdin;\n"
    "COPY public.ir_attachment (id) FROM stdin;\n"
    "\\.\n"
    "\n"
    "COPY public.ir_attachment (id, store_fname, n) FROM stdin;\n"
    "1\tab/cd\tx\n"
    "2\tback\\\\.slash\t\\\\.\n"
    "\\\\.\n"
    "3\t\\N\ta\\nb\n"
    "\\.\n"
    "\n"
    "COPY public.ir_attachment_foo (id) FROM stdin;\n"
    "1\n"
    "2\n"
    "\\.\n"
    "\n"
    "--\n"
    "-- PostgreSQL database dump complete\n"
    "--\n"
    "\n"
    "\\unrestrict JNeRIPOX4yR4JzaotnTbl\n"
    "\n";

PlainDumpScanner scan(std::initializer_list<std::string_view> chunks) {
  PlainDumpScanner scanner;
  for (std::string_view chunk : chunks) {
    scanner.feed(chunk);
  }
  return scanner;
}

} // namespace

TEST(PlainDumpScanner, CountsTheRowsOfTheTable) {
  const auto scanner = scan({k_sample});
  EXPECT_TRUE(scanner.header_ok());
  EXPECT_EQ(scanner.table_rows(), std::optional<std::uint64_t>(4));
}

TEST(PlainDumpScanner, SameResultWhereverAChunkEnds) {
  for (std::size_t cut = 0; cut <= k_sample.size(); ++cut) {
    const std::string_view all(k_sample);
    const auto scanner = scan({all.substr(0, cut), all.substr(cut)});
    EXPECT_TRUE(scanner.header_ok()) << "cut at " << cut;
    EXPECT_EQ(scanner.table_rows(), std::optional<std::uint64_t>(4)) << "cut at " << cut;
  }
  PlainDumpScanner bytewise;
  for (char c : k_sample) {
    bytewise.feed(std::string_view(&c, 1));
  }
  EXPECT_TRUE(bytewise.header_ok());
  EXPECT_EQ(bytewise.table_rows(), std::optional<std::uint64_t>(4));
}

TEST(PlainDumpScanner, LongRowsAreOneRowEach) {
  const std::string row(200000, 'x');
  std::string dump = "--\n-- PostgreSQL database dump\n--\n"
                     "COPY public.ir_attachment (id, db_datas) FROM stdin;\n";
  for (int i = 0; i < 3; ++i) {
    dump += std::to_string(i) + "\t" + row + "\n";
  }
  dump += "\\.\n";
  PlainDumpScanner scanner;
  for (std::size_t pos = 0; pos < dump.size(); pos += 4096) {
    scanner.feed(std::string_view(dump).substr(pos, 4096));
  }
  EXPECT_EQ(scanner.table_rows(), std::optional<std::uint64_t>(3));
}

TEST(PlainDumpScanner, NoBlockOfTheTableIsNoCount) {
  const auto scanner = scan({"--\n-- PostgreSQL database dump\n--\n"
                             "COPY public.ir_attachment_foo (id) FROM stdin;\n1\n\\.\n"});
  EXPECT_TRUE(scanner.header_ok());
  EXPECT_EQ(scanner.table_rows(), std::nullopt);
}

TEST(PlainDumpScanner, EmptyBlockCountsZero) {
  const auto scanner = scan({"--\n-- PostgreSQL database dump\n--\n"
                             "COPY public.ir_attachment (id) FROM stdin;\n\\.\n"});
  EXPECT_EQ(scanner.table_rows(), std::optional<std::uint64_t>(0));
}

TEST(PlainDumpScanner, TruncatedBlockIsNoCount) {
  const auto scanner = scan({"--\n-- PostgreSQL database dump\n--\n"
                             "COPY public.ir_attachment (id) FROM stdin;\n1\n2\n"});
  EXPECT_EQ(scanner.table_rows(), std::nullopt);
}

TEST(PlainDumpScanner, OtherTableNamed) {
  PlainDumpScanner scanner("public.ir_attachment_foo");
  scanner.feed(k_sample);
  EXPECT_EQ(scanner.table_rows(), std::optional<std::uint64_t>(2));
}

// The header: one row per way a stream can start.
struct HeaderCase {
  const char* name;
  std::string start;
  bool ok;
};

class PlainDumpHeaderTest : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(PlainDumpHeaderTest, Header) {
  const HeaderCase& row = GetParam();
  PlainDumpScanner scanner;
  scanner.feed(row.start);
  EXPECT_EQ(scanner.header_ok(), row.ok);
}

INSTANTIATE_TEST_SUITE_P(
    PlainDumpScanner, PlainDumpHeaderTest,
    ::testing::Values(
        HeaderCase{"pg_dump_15_18",
                   "--\n-- PostgreSQL database dump\n--\n\n\\restrict k\n", true},
        HeaderCase{"restrict_first",
                   "\\restrict k\n--\n-- PostgreSQL database dump\n--\n", true},
        HeaderCase{"no_restrict", "--\n-- PostgreSQL database dump\n--\n\nSET x;\n",
                   true},
        HeaderCase{"only_the_closing_line",
                   "--\n-- PostgreSQL database dump complete\n--\n", false},
        HeaderCase{"empty", "", false},
        HeaderCase{"sql_first", "SET statement_timeout = 0;\n", false},
        HeaderCase{"cut_in_the_title", "--\n-- PostgreSQL database du", false},
        HeaderCase{"title_without_its_newline", "--\n-- PostgreSQL database dump", false},
        HeaderCase{"two_restrict_lines",
                   "\\restrict a\n\\restrict b\n--\n"
                   "-- PostgreSQL database dump\n",
                   false},
        HeaderCase{"blank_line_first", "\n--\n-- PostgreSQL database dump\n", false},
        HeaderCase{"custom_format", "PGDMP\x0e\x01", false}),
    [](const auto& row) { return std::string(row.param.name); });
