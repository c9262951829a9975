#include "odbox/core/filestore/mirror_listing.hpp"
#include "test_store.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace odbox::core;
using odbox::test::k_name_a;
using odbox::test::k_sha_a;
using odbox::test::store_name;

TEST(MirrorListing, FindsOdooNamesAndOtherNames) {
  MirrorListing listing;
  listing.add(k_name_a, 10);
  listing.add("checklist/ab/" + k_sha_a, 0);
  listing.add("AB/AB" + std::string(38, '1'), 11); // upper case: not Odoo's form
  listing.add("cd/" + k_sha_a, 12);                // directory is not the sha1's prefix
  listing.add("ab/ab" + std::string(37, '1') + "g", 13); // not hex
  listing.seal();
  EXPECT_EQ(listing.files(), 5U);
  EXPECT_EQ(listing.size_of("ab/ab" + std::string(37, '1') + "g"), 13U);
  EXPECT_FALSE(listing.size_of("ab/ab" + std::string(37, '1') + "0"));
  EXPECT_EQ(listing.size_of(k_name_a), 10U);
  EXPECT_EQ(listing.size_of("checklist/ab/" + k_sha_a), 0U);
  EXPECT_EQ(listing.size_of("AB/AB" + std::string(38, '1')), 11U);
  EXPECT_EQ(listing.size_of("cd/" + k_sha_a), 12U);
  EXPECT_FALSE(listing.size_of("ab/ab" + std::string(38, '2')));
  EXPECT_FALSE(listing.size_of("ab/x"));
}

TEST(MirrorListing, AbsorbTakesTheOtherListing) {
  MirrorListing listing;
  listing.add(store_name(1), 1);
  listing.add("odd/name", 2);
  MirrorListing other;
  other.add(store_name(2), 3);
  other.add("odd/other", 4);
  listing.absorb(std::move(other));
  listing.seal();
  EXPECT_EQ(listing.files(), 4U);
  EXPECT_EQ(listing.size_of(store_name(2)), 3U);
  EXPECT_EQ(listing.size_of("odd/other"), 4U);
  EXPECT_EQ(listing.size_of(store_name(1)), 1U);
}

TEST(MirrorListing, HintedLookupsAgreeInAnyOrder) {
  MirrorListing listing;
  std::vector<std::string> names;
  for (unsigned n = 0; n < 2000; ++n) {
    names.push_back(store_name(n));
    if (n % 3 != 0) { // every third one is not in the listing
      listing.add(names.back(), n + 1);
    }
  }
  listing.seal();
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> reversed(sorted.rbegin(), sorted.rend());
  for (const auto* order : {&sorted, &reversed, &names}) {
    std::size_t hint = 0;
    std::size_t found = 0;
    for (const std::string& name : *order) {
      const auto hinted = listing.size_of(name, hint);
      EXPECT_EQ(hinted, listing.size_of(name)) << name;
      found += hinted.has_value() ? 1U : 0U;
    }
    EXPECT_EQ(found, 2000U - 667U);
  }
  std::size_t hint = 5000; // past the end
  EXPECT_EQ(listing.size_of(store_name(1), hint), 2U);
  EXPECT_FALSE(listing.size_of(store_name(0), hint));
}
