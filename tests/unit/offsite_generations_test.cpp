#include "odbox/core/errors.hpp"
#include "odbox/core/offsite/generations.hpp"
#include "odbox/util/time.hpp"

#include <gtest/gtest.h>

using odbox::core::parse_generations;
using odbox::core::parse_restic_time;

TEST(OffsiteGenerations, ResticTimesWithZonesAndNanoseconds) {
  const auto utc = parse_restic_time("2026-12-01T23:27:11.408173798Z");
  ASSERT_TRUE(utc);
  EXPECT_EQ(odbox::util::rfc3339(*utc), "2026-12-01T23:27:11.408Z");
  const auto paris = parse_restic_time("2026-12-02T00:27:11.408173798+01:00");
  ASSERT_TRUE(paris);
  EXPECT_EQ(*paris, *utc);
  EXPECT_EQ(odbox::util::rfc3339(*parse_restic_time("2026-12-01T18:27:11-05:30")),
            "2026-12-01T23:57:11.000Z");
  EXPECT_FALSE(parse_restic_time("yesterday"));
}

TEST(OffsiteGenerations, TagsBecomeFieldsAndForeignSnapshotsAreLeftOut) {
  const auto generations = parse_generations(R"([
    {"id": "bbbb2222", "short_id": "bbbb", "time": "2026-11-02T10:00:00Z", "hostname": "erp",
     "tags": ["odbox", "db=odoo", "kind=cold", "consistent=false", "manifest=abc",
              "dump_bytes=1234"]},
    {"id": "aaaa1111", "short_id": "aaaa", "time": "2026-11-01T10:00:00Z",
     "tags": ["odbox", "db=odoo", "kind=hot", "consistent=true"]},
    {"id": "cccc3333", "time": "2026-11-03T10:00:00Z", "tags": ["home"]},
    {"id": "dddd4444", "time": "2026-11-04T10:00:00Z"}
  ])");
  ASSERT_EQ(generations.size(), 2U);
  EXPECT_EQ(generations[0].id, "aaaa1111"); // oldest first
  EXPECT_EQ(generations[1].kind, "cold");
  EXPECT_EQ(generations[1].consistent, false);
  EXPECT_EQ(generations[1].manifest_sha256, "abc");
  EXPECT_EQ(generations[1].dump_bytes, 1234U);
  EXPECT_FALSE(generations[0].dump_bytes);
  EXPECT_EQ(odbox::core::newest_generation(generations, "odoo")->id, "bbbb2222");
  EXPECT_FALSE(odbox::core::newest_generation(generations, "other"));
  EXPECT_THROW(parse_generations("not json"), odbox::core::RunError);
}
