// The dump compressed with zstd, against the real PostgreSQL fixture: the
// round trip, the standard zstd tools, switching modes, faults and verify.

#include "harness.hpp"
#include "odbox/util/time.hpp"

#include <fstream>
#include <gtest/gtest.h>

using namespace odbox::it;

namespace {

std::vector<fs::path> temporaries(const fs::path& area) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(area)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) {
      out.push_back(e.path());
    }
  }
  return out;
}

class Compression : public ::testing::Test {
protected:
  [[nodiscard]] fs::path zst() const {
    return odoo.area() / (odoo.db() + ".dump.sql.zst");
  }
  RunOutput verify(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--basedir", odoo.basedir().string(), "verify"};
    args.insert(args.end(), extra.begin(), extra.end());
    return odoo.raw(args);
  }
  RunOutput shell(const std::string& script) {
    return run({"bash", "-c", script}, odoo.pg().env());
  }
  OdooScratch odoo;
};

} // namespace

TEST_F(Compression, RoundTripWithStandardTools) {
  const auto out = odoo.backup({"hot", "--compression", "zstd:3"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(fs::exists(odoo.dump()));
  ASSERT_TRUE(fs::is_regular_file(zst()));
  const auto m = odoo.manifest();
  EXPECT_EQ(m["dump"]["file"], odoo.db() + ".dump.sql.zst");
  EXPECT_EQ(m["dump"]["compression"], "zstd");
  EXPECT_EQ(m["dump"]["bytes"], fs::file_size(zst()));
  EXPECT_GT(m["dump"]["plain_bytes"].get<std::uint64_t>(), 3 * fs::file_size(zst()));

  EXPECT_EQ(shell("zstd -q -t " + zst().string()).exit_code, 0);
  const auto plain = odoo.scratch() / "by-hand.sql";
  ASSERT_EQ(shell("zstd -q -dc " + zst().string() + " > " + plain.string()).exit_code, 0);
  EXPECT_EQ(shell("sha256sum " + plain.string()).out.substr(0, 64),
            m["dump"]["plain_sha256"].get<std::string>());
  EXPECT_EQ(odoo.restore_digests(plain), odoo.digests(odoo.db()));

  const std::string by_pipe = odoo.db() + "_pipe";
  ASSERT_EQ(shell("createdb " + by_pipe + " && zstd -q -dc " + zst().string() +
                  " | psql -X -q -v ON_ERROR_STOP=1 -d " + by_pipe + " >/dev/null")
                .exit_code,
            0);
  EXPECT_EQ(odoo.digests(by_pipe), odoo.digests(odoo.db()));
  shell("dropdb " + by_pipe);

  const auto checked = verify({"--deep", "--restore-test"});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_NE(checked.err.find("test restore passed"), std::string::npos) << checked.err;
}

// `restore` reads the .zst as a stream: under a new name (a new identity),
// then in place over a database changed since the backup.
TEST_F(Compression, RestoreFromTheZst) {
  odoo.install_odoo_service(false); // known to systemctl, not running
  ASSERT_EQ(odoo.backup({"hot", "--compression", "zstd:3"}).exit_code, 0);
  ASSERT_EQ(odoo.manifest()["dump"]["compression"], "zstd");
  const auto source = odoo.digests(odoo.db());
  const auto files = odoo.referenced_files(odoo.db());
  ASSERT_FALSE(files.empty());

  const std::string copy = odoo.db() + "_zst_copy";
  const auto out = odoo.backup({"restore", "--target-db", copy});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  expect_copy_of(odoo, copy, source);
  shell("dropdb " + copy);

  odoo.sql("CREATE TABLE after_backup (x int); "
           "UPDATE res_partner SET name = name || ' (changed)' WHERE id % 3 = 0");
  const std::string lost = read_file(odoo.live_store() / files.front());
  fs::remove(odoo.live_store() / files.front());
  const auto in_place =
      odoo.backup({"--systemctl", fake_systemctl(), "restore", "--force", "--marker-dir",
                   odoo.marker_dir().string()},
                  odoo.systemctl_env());
  ASSERT_EQ(in_place.exit_code, 0) << in_place.err;
  EXPECT_EQ(odoo.digests(odoo.db()), source);
  EXPECT_TRUE(read_file(odoo.live_store() / files.front()) == lost) << files.front();
  for (const auto& f : files) {
    EXPECT_TRUE(fs::is_regular_file(odoo.live_store() / f)) << f;
  }
}

// status reports the dump as it is on disk: the .zst's size and SHA-256.
TEST_F(Compression, StatusShowsTheCompressedDump) {
  ASSERT_EQ(odoo.backup({"hot", "--compression", "zstd"}).exit_code, 0);
  const auto json = odoo.raw({"--basedir", odoo.basedir().string(), "--json", "status"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto status = nlohmann::json::parse(json.out);
  ASSERT_EQ(status.size(), 1U);
  const auto& success = status[0]["last_success"];
  EXPECT_EQ(success["dump_bytes"], fs::file_size(zst()));
  EXPECT_EQ(success["dump_sha256"], odoo.manifest()["dump"]["sha256"]);
  EXPECT_NE(success["dump_sha256"], odoo.manifest()["dump"]["plain_sha256"]);
  EXPECT_EQ(success["dump_compression"], "zstd");
  EXPECT_EQ(success["dump_plain_bytes"], odoo.manifest()["dump"]["plain_bytes"]);
  EXPECT_GT(success["dump_plain_bytes"].get<std::uint64_t>(), fs::file_size(zst()));
  const auto text = odoo.raw({"--basedir", odoo.basedir().string(), "status"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(odoo.db()), std::string::npos) << text.out;
  EXPECT_NE(
      text.out.find(" " + odbox::util::format_bytes(fs::file_size(zst())) + " zstd "),
      std::string::npos)
      << text.out;
}

TEST_F(Compression, ExportHoldsThePlainSql) {
  ASSERT_EQ(odoo.backup({"hot", "--compression", "zstd"}).exit_code, 0);
  const auto zip = odoo.scratch() / "export.zip";
  const auto out = odoo.raw({"--basedir", odoo.basedir().string(), "export", "--db",
                             odoo.db(), "--zip", zip.string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  // unzip -t checks every entry's CRC-32 against the bytes it holds.
  EXPECT_EQ(shell("unzip -qt " + zip.string()).exit_code, 0);
  const auto sha =
      shell("unzip -p " + zip.string() + " dump.sql | sha256sum").out.substr(0, 64);
  EXPECT_EQ(sha, odoo.manifest()["dump"]["plain_sha256"].get<std::string>());
}

// none -> zstd -> (a failed run back to none) -> none: the previous file
// stays through the failure, and each success leaves one dump.
TEST_F(Compression, SwitchingModesKeepsOneDump) {
  ASSERT_EQ(odoo.backup({"hot"}).exit_code, 0);
  ASSERT_TRUE(fs::exists(odoo.dump()));
  ASSERT_EQ(odoo.backup({"hot", "--compression", "zstd:1"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(zst()));
  EXPECT_FALSE(fs::exists(odoo.dump()));
  const std::string before = read_file(zst());

  const auto failed =
      odoo.backup({"--pg-dump", wrapper("pg_dump-truncating").string(), "hot"},
                  {"ODBOX_TRUNCATE_BYTES=50000"});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_TRUE(read_file(zst()) == before) << "the .zst changed";
  EXPECT_FALSE(fs::exists(odoo.dump()));
  EXPECT_EQ(odoo.manifest()["dump"]["compression"], "zstd");
  EXPECT_EQ(verify().exit_code, 0);

  ASSERT_EQ(odoo.backup({"hot", "--compression", "none"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(odoo.dump()));
  EXPECT_FALSE(fs::exists(zst()));
  EXPECT_TRUE(temporaries(odoo.area()).empty());
  EXPECT_EQ(odoo.restore_digests(odoo.dump()), odoo.digests(odoo.db()));
}

TEST_F(Compression, PgDumpDyingWhileCompressingKeepsThePreviousDump) {
  ASSERT_EQ(odoo.backup({"hot", "--compression", "zstd"}).exit_code, 0);
  const std::string before = read_file(zst());
  const std::string manifest = read_file(odoo.manifest_path());
  const auto out =
      odoo.backup({"--pg-dump", wrapper("pg_dump-truncating").string(), "hot",
                   "--compression", "zstd", "--compression-threads", "2"},
                  {"ODBOX_TRUNCATE_BYTES=200000"});
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_NE(out.err.find("previous dump is kept"), std::string::npos) << out.err;
  EXPECT_TRUE(read_file(zst()) == before) << "the previous .zst changed";
  EXPECT_TRUE(read_file(odoo.manifest_path()) == manifest);
  EXPECT_TRUE(temporaries(odoo.area()).empty());
}

TEST_F(Compression, VerifyFindsAFlippedByte) {
  ASSERT_EQ(odoo.backup({"hot", "--compression", "zstd"}).exit_code, 0);
  std::string bytes = read_file(zst());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x20);
  std::ofstream(zst(), std::ios::binary | std::ios::trunc) << bytes;
  const auto quick = verify();
  EXPECT_EQ(quick.exit_code, 4) << quick.err;
  EXPECT_NE(quick.err.find("SHA-256"), std::string::npos) << quick.err;
  const auto deep = verify({"--deep"});
  EXPECT_EQ(deep.exit_code, 4) << deep.err;
  EXPECT_NE(deep.err.find("cannot be read whole"), std::string::npos) << deep.err;
  EXPECT_NE(deep.err.find("zstd"), std::string::npos) << deep.err;
}

// A .zst cut at a frame boundary is a valid zstd file: only the SQL's
// missing closing line (and its size and SHA-256) tell.
TEST_F(Compression, VerifyFindsAZstTruncatedAtAFrameBoundary) {
  ASSERT_EQ(odoo.backup({"hot", "--compression", "zstd"}).exit_code, 0);
  const auto plain = odoo.manifest()["dump"]["plain_bytes"].get<std::uint64_t>();
  const auto cut = odoo.scratch() / "cut.zst";
  ASSERT_EQ(shell("zstd -q -dc " + zst().string() + " | head -c " +
                  std::to_string(plain / 2) + " | zstd -q -3 --check > " + cut.string() +
                  " && zstd -q -t " + cut.string() + " && cp " + cut.string() + " " +
                  zst().string())
                .exit_code,
            0);
  const auto deep = verify({"--deep"});
  EXPECT_EQ(deep.exit_code, 4) << deep.err;
  EXPECT_NE(deep.err.find("truncated (no pg_dump completion line)"), std::string::npos)
      << deep.err;
}
