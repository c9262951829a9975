#include "odbox/core/errors.hpp"
#include "odbox/core/run_lock.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

using namespace odbox::core;

TEST(RunLock, SecondHolderGetsExitThreeNamingTheFirst) {
  odbox::test::ScratchDir dir;
  const auto file = dir.path() / ".lock";
  RunLock first(file, "hot", false);
  try {
    RunLock second(file, "cold", false);
    FAIL() << "second lock taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::locked);
    EXPECT_NE(std::string(e.what()).find("hot"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--wait-lock"), std::string::npos);
  }
}

TEST(RunLock, ReleasedWithItsOwner) {
  odbox::test::ScratchDir dir;
  const auto file = dir.path() / ".lock";
  { RunLock first(file, "hot", false); }
  EXPECT_NO_THROW(RunLock(file, "cold", false));
}
