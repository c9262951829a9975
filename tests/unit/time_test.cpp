#include "odbox/util/time.hpp"

#include <gtest/gtest.h>

using namespace odbox::util;

TEST(Time, Rfc3339RoundTrip) {
  const auto t =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1764308860123));
  const std::string text = rfc3339(t);
  EXPECT_EQ(text, "2025-11-28T05:47:40.123Z");
  EXPECT_EQ(parse_rfc3339(text), t);
  EXPECT_FALSE(parse_rfc3339("2025-11-28 05:47:40"));
}

TEST(Time, Durations) {
  EXPECT_EQ(parse_duration("90"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("15min"), std::chrono::seconds(900));
  EXPECT_EQ(parse_duration("1h30min"), std::chrono::seconds(5400));
  EXPECT_EQ(parse_duration("2d"), std::chrono::seconds(172800));
  EXPECT_FALSE(parse_duration("soon"));
  EXPECT_FALSE(parse_duration("5 parsecs"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_EQ(format_duration(std::chrono::duration<double>(0.25)), "250ms");
  EXPECT_EQ(format_duration(std::chrono::duration<double>(4.2)), "4.2s");
  EXPECT_EQ(format_duration(std::chrono::duration<double>(3723)), "1h 02min 03s");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(3U << 20U), "3.0 MiB");
}
