#include "odbox/core/dump.hpp"
#include "odbox/core/errors.hpp"
#include "odbox/util/digest.hpp"
#include "test_dir.hpp"

#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>

using odbox::core::dump_tail_is_complete;

TEST(DumpTail, CompleteWithoutRestrictLine) {
  EXPECT_TRUE(dump_tail_is_complete(
      "COPY ...\n\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n"));
}

TEST(DumpTail, CompleteWithUnrestrictLine) {
  // 15.14+ (CVE-2025-8714) end with "\unrestrict <key>" after the marker.
  EXPECT_TRUE(dump_tail_is_complete(
      "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abcDEF123\n\n"));
}

TEST(DumpTail, TruncatedIsIncomplete) {
  EXPECT_FALSE(dump_tail_is_complete("COPY public.t (a) FROM stdin;\n1\n2\n"));
  EXPECT_FALSE(dump_tail_is_complete(""));
  EXPECT_FALSE(dump_tail_is_complete("-- PostgreSQL database dump comp"));
}

TEST(DumpTail, SqlAfterTheMarkerIsIncomplete) {
  // A marker inside data followed by more SQL is not the end of the dump.
  EXPECT_FALSE(dump_tail_is_complete(
      "-- PostgreSQL database dump complete\nINSERT INTO t VALUES (1);\n"));
}
namespace {

using odbox::core::DumpOutcome;
using odbox::core::DumpRequest;
using odbox::core::DumpStream;

// A stand-in for pg_dump: a script that prints `body` (from a file next to
// it) and exits with `code`, whatever its arguments.
DumpRequest fake_pg_dump(const odbox::test::ScratchDir& dir, const std::string& body,
                         int code = 0, const std::string& before = {}) {
  odbox::test::write_text(dir.path() / "body.sql", body);
  const auto program = dir.path() / "pg_dump";
  odbox::test::write_text(program, "#!/bin/sh\n" + before + "cat '" +
                                       (dir.path() / "body.sql").string() + "'\nexit " +
                                       std::to_string(code) + "\n");
  std::filesystem::permissions(program, std::filesystem::perms::owner_all);
  return DumpRequest{.pg_dump = program.string(),
                     .env = {},
                     .database = "db",
                     .snapshot_id = "00000003-0000001B-1",
                     .lock_wait_timeout = std::chrono::seconds(600),
                     .target = dir.path() / "db.dump.sql",
                     .compression = {}};
}

std::string sha256_hex(const std::string& data) {
  odbox::util::Digest digest(odbox::util::Digest::Kind::sha256);
  digest.update(data);
  return digest.hex_final();
}

const std::string k_dump = "--\n-- PostgreSQL database dump\n--\n\n"
                           "COPY public.ir_attachment (id) FROM stdin;\n1\n2\n\\.\n\n"
                           "--\n-- PostgreSQL database dump complete\n--\n\n";

} // namespace

TEST(DumpStream, StreamsHashesCountsAndCommits) {
  odbox::test::ScratchDir dir;
  DumpStream stream(fake_pg_dump(dir, k_dump));
  const DumpOutcome& outcome = stream.wait();
  EXPECT_TRUE(outcome.complete) << outcome.error;
  EXPECT_TRUE(outcome.header_ok);
  EXPECT_EQ(outcome.attachment_rows, std::optional<std::uint64_t>(2));
  EXPECT_EQ(outcome.bytes, k_dump.size());
  EXPECT_EQ(outcome.sha256, sha256_hex(k_dump));
  EXPECT_EQ(stream.bytes_so_far(), k_dump.size());
  ASSERT_TRUE(stream.complete_file().commit());
  EXPECT_EQ(odbox::test::read_text(dir.path() / "db.dump.sql"), k_dump);
}

// The 37 bytes of a stream that is only pg_dump's closing line.
TEST(DumpStream, OnlyTheClosingLineIsNotADump) {
  odbox::test::ScratchDir dir;
  DumpStream stream(
      fake_pg_dump(dir, "--\n-- PostgreSQL database dump complete\n--\n\n"));
  const DumpOutcome& outcome = stream.wait();
  EXPECT_FALSE(outcome.complete);
  EXPECT_FALSE(outcome.header_ok);
  EXPECT_NE(outcome.error.find("does not start with its header"), std::string::npos)
      << outcome.error;
  EXPECT_THROW((void)stream.complete_file(), odbox::core::RunError);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "db.dump.sql"));
}

TEST(DumpStream, TruncatedIsNotADump) {
  odbox::test::ScratchDir dir;
  DumpStream stream(fake_pg_dump(dir, k_dump.substr(0, k_dump.size() / 2)));
  const DumpOutcome& outcome = stream.wait();
  EXPECT_FALSE(outcome.complete);
  EXPECT_TRUE(outcome.header_ok);
  EXPECT_EQ(outcome.attachment_rows, std::nullopt);
  EXPECT_NE(outcome.error.find("lacks its completion line"), std::string::npos)
      << outcome.error;
}

TEST(DumpStream, FailureNamesTheStatusAndLastErrorLine) {
  odbox::test::ScratchDir dir;
  DumpStream stream(fake_pg_dump(dir, k_dump, 1, "echo 'pg_dump: error: gone' >&2\n"));
  const DumpOutcome& outcome = stream.wait();
  EXPECT_FALSE(outcome.complete);
  EXPECT_EQ(outcome.error, "pg_dump exited with status 1: pg_dump: error: gone");
}

// abort() ends a pg_dump that is silent (waiting for a lock) at once.
TEST(DumpStream, AbortStopsASilentPgDump) {
  odbox::test::ScratchDir dir;
  DumpStream stream(
      fake_pg_dump(dir, "--\n-- PostgreSQL database dump\n", 0, "exec sleep 60\n"));
  const auto start = std::chrono::steady_clock::now();
  stream.abort();
  const DumpOutcome& outcome = stream.wait();
  EXPECT_FALSE(outcome.complete);
  EXPECT_EQ(outcome.error, "pg_dump stopped: the run was aborted");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}
