#include "odbox/core/dump.hpp"

#include <gtest/gtest.h>

using odbox::core::dump_tail_is_complete;

TEST(DumpTail, CompleteWithoutRestrictLine) {
  EXPECT_TRUE(dump_tail_is_complete("COPY ...\n\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n"));
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
