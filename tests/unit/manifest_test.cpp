#include "odbox/core/manifest.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

using namespace odbox::core;

TEST(Manifest, RoundTripThroughTheFile) {
  odbox::test::ScratchDir dir;
  Manifest m;
  m.kind = "cold";
  m.database = "odoo";
  m.dump_file = "odoo.dump.sql";
  m.dump_bytes = 123;
  m.dump_sha256 = "ab";
  m.references_file = "odoo.files.tsv";
  m.missing_count = 1;
  m.missing = {"aa/x"};
  m.downtime_seconds = 2.5;
  m.sessions = SessionsPurged{.files_removed = 10,
                              .bytes_removed = 2000,
                              .seconds = 1.5,
                              .while_stopped_seconds = 0.25,
                              .method = "in_place",
                              .in_place_because = "it is a mount point",
                              .leftovers = 1,
                              .errors = 2,
                              .complete = false};
  m.phases["stop"] = 1.0;
  write_manifest(dir.path() / "m.json", m);
  const auto back = read_manifest(dir.path() / "m.json");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to_json(), m.to_json());
  ASSERT_TRUE(back->sessions);
  EXPECT_EQ(back->sessions->in_place_because, "it is a mount point");
  EXPECT_FALSE(back->sessions->complete);
  EXPECT_EQ(back->sessions->leftovers, 1U);
  EXPECT_FALSE(back->consistent());
  EXPECT_FALSE(read_manifest(dir.path() / "none.json"));
}

TEST(RunRecords, AppendOneLineEach) {
  odbox::test::ScratchDir dir;
  append_run_record(dir.path() / "runs.jsonl", {{"n", 1}});
  append_run_record(dir.path() / "runs.jsonl", {{"n", 2}});
  EXPECT_EQ(odbox::test::read_text(dir.path() / "runs.jsonl"), "{\"n\":1}\n{\"n\":2}\n");
}
