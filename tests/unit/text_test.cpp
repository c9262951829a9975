#include "odbox/util/text.hpp"

#include <gtest/gtest.h>

using odbox::util::parse_decimal;
using odbox::util::printable;

TEST(Printable, KeepsAsciiAndValidUtf8) {
  EXPECT_EQ(printable("odoo_prod-17.0"), "odoo_prod-17.0");
  EXPECT_EQ(printable("/backup/donn\xc3\xa9"
                      "es"),
            "/backup/donn\xc3\xa9"
            "es");
  EXPECT_EQ(printable("\xe2\x82\xac \xf0\x9f\x98\x80"), "\xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(Printable, EscapesControlsAndBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("a\nb\tc\x1b[31m"), "a\\x0ab\\x09c\\x1b[31m");
  EXPECT_EQ(printable("db\xff\xfe"), "db\\xff\\xfe");
  EXPECT_EQ(printable("\xc3"), "\\xc3");                   // truncated sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // a surrogate
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
}

TEST(ParseDecimal, WholeNumbersOnly) {
  EXPECT_EQ(parse_decimal("0"), 0);
  EXPECT_EQ(parse_decimal("600"), 600);
  EXPECT_EQ(parse_decimal("-3"), -3);
  EXPECT_EQ(parse_decimal("9223372036854775807"), 9223372036854775807LL);
  for (const char* bad : {"", "-", " 5", "5 ", "1e3", "1e300", "0x10", "5s", "+5", "1.0",
                          "99999999999999999999", "--1"}) {
    EXPECT_EQ(parse_decimal(bad), std::nullopt) << bad;
  }
}
