#include "odbox/core/errors.hpp"
#include "odbox/core/service.hpp"
#include "odbox/util/process.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

using namespace odbox::core;
using odbox::test::ScratchDir;

namespace {

using namespace std::chrono_literals;

// Records calls; start/stop fail on request and take at least the time asked.
class FakeServices : public ServiceControl {
public:
  bool exists(const std::string&) override { return true; }
  bool is_active(const std::string&) override { return active; }
  void stop(const std::string& unit, std::chrono::seconds) override {
    calls.push_back("stop " + unit);
    std::this_thread::sleep_for(stop_takes);
    if (fail_stop) {
      throw RunError("stop failed");
    }
    active = false;
  }
  void start(const std::string& unit, std::chrono::seconds) override {
    calls.push_back("start " + unit);
    std::this_thread::sleep_for(start_takes);
    if (fail_start) {
      throw RunError("start failed");
    }
    active = true;
  }
  bool active = true;
  bool fail_stop = false;
  bool fail_start = false;
  std::chrono::milliseconds stop_takes{0};
  std::chrono::milliseconds start_takes{0};
  std::vector<std::string> calls;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST(OdooStoppedGuard, MarkerLivesExactlyWhileOdooIsStopped) {
  ScratchDir dir;
  FakeServices services;
  const auto marker = OdooStoppedGuard::marker_path(dir.path() / "run", "odoo.service");
  {
    OdooStoppedGuard guard(services, "odoo.service", dir.path() / "run",
                           std::chrono::seconds(5));
    guard.stop(std::chrono::seconds(5));
    EXPECT_FALSE(services.active);
    EXPECT_TRUE(std::filesystem::exists(marker));
    guard.restart();
    EXPECT_TRUE(services.active);
    EXPECT_FALSE(std::filesystem::exists(marker));
  }
  EXPECT_EQ(services.calls,
            (std::vector<std::string>{"stop odoo.service", "start odoo.service"}));
}

// The downtime is the time from the stop request until Odoo is active again:
// it holds the whole stop and the whole start, nothing before or after.
TEST(OdooStoppedGuard, DowntimeRunsFromTheStopRequestUntilOdooIsActiveAgain) {
  ScratchDir dir;
  FakeServices services;
  services.stop_takes = 30ms;
  services.start_takes = 20ms;
  OdooStoppedGuard guard(services, "odoo.service", dir.path(), 5s);
  const auto before_stop = std::chrono::steady_clock::now();
  guard.stop(5s);
  const double while_stopped = guard.downtime_seconds();
  EXPECT_GE(while_stopped, 0.030);
  guard.restart();
  const double since_stop = seconds_since(before_stop);
  const double downtime = guard.downtime_seconds();
  EXPECT_GE(downtime, 0.050);
  EXPECT_GE(downtime, while_stopped + 0.020);
  EXPECT_LE(downtime, since_stop);
  // Once Odoo runs again the figure no longer grows.
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(guard.downtime_seconds(), downtime);
}

TEST(OdooStoppedGuard, DestructorStartsOdooOnUnwinding) {
  ScratchDir dir;
  FakeServices services;
  try {
    OdooStoppedGuard guard(services, "odoo.service", dir.path(), std::chrono::seconds(5));
    guard.stop(std::chrono::seconds(5));
    throw RunError("pg_dump failed");
  } catch (const RunError&) {
  }
  EXPECT_TRUE(services.active);
}

TEST(OdooStoppedGuard, FailedRestartIsExitFiveAndKeepsTheMarker) {
  ScratchDir dir;
  FakeServices services;
  OdooStoppedGuard guard(services, "odoo.service", dir.path(), std::chrono::seconds(5));
  guard.stop(std::chrono::seconds(5));
  services.fail_start = true;
  try {
    guard.restart();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::restart_failed);
    EXPECT_NE(std::string(e.what()).find("ODOO IS DOWN"), std::string::npos);
  }
  EXPECT_TRUE(
      std::filesystem::exists(OdooStoppedGuard::marker_path(dir.path(), "odoo.service")));
}

TEST(OdooStoppedGuard, NothingHappensWhenNotStopped) {
  ScratchDir dir;
  FakeServices services;
  {
    OdooStoppedGuard guard(services, "odoo.service", dir.path(), std::chrono::seconds(5));
    guard.restart();
    EXPECT_EQ(guard.downtime_seconds(), 0.0);
  }
  EXPECT_TRUE(services.calls.empty());
}

TEST(ColdRecover, StartsUnitsWhoseRunIsGone) {
  ScratchDir dir;
  FakeServices services;
  services.active = false;
  // pid 0 never names a live run
  odbox::test::write_text(dir.path() / "odoo.service.stopped",
                          R"({"unit": "odoo.service", "pid": 0})");
  EXPECT_EQ(recover_stopped_units(services, dir.path(), std::chrono::seconds(5)), 1);
  EXPECT_TRUE(services.active);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "odoo.service.stopped"));
  EXPECT_EQ(recover_stopped_units(services, dir.path(), std::chrono::seconds(5)), 0);
}

TEST(ColdRecover, LeavesALiveRunAlone) {
  ScratchDir dir;
  FakeServices services;
  services.active = false;
  // A live process whose name starts with odbox-backup stands for a run
  // still in progress: its marker is its own business.
  const auto program = dir.path() / "odbox-backup-run";
  const auto sleep = odbox::util::find_executable("sleep");
  ASSERT_TRUE(sleep);
  std::filesystem::create_symlink(*sleep, program);
  odbox::util::SpawnSpec spec;
  spec.argv = {program.string(), "30"};
  auto child = odbox::util::spawn(spec);
  ASSERT_TRUE(child);
  // posix_spawn returns once the exec has begun; the kernel sets the new
  // process name a moment later.
  const auto comm = "/proc/" + std::to_string(child->pid()) + "/comm";
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!odbox::test::read_text(comm).starts_with("odbox-backup") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(odbox::test::read_text(comm).starts_with("odbox-backup"))
      << "the child is named " << odbox::test::read_text(comm);
  odbox::test::write_text(dir.path() / "odoo.service.stopped",
                          R"({"pid": )" + std::to_string(child->pid()) + "}");
  EXPECT_EQ(recover_stopped_units(services, dir.path(), std::chrono::seconds(5)), 0);
  EXPECT_TRUE(services.calls.empty());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "odoo.service.stopped"));
  child->terminate();
  EXPECT_EQ(recover_stopped_units(services, dir.path(), std::chrono::seconds(5)), 1);
}

TEST(ColdRecover, NoMarkerDirectoryIsNothingToDo) {
  ScratchDir dir;
  FakeServices services;
  EXPECT_EQ(recover_stopped_units(services, dir.path() / "none", std::chrono::seconds(5)),
            0);
  EXPECT_TRUE(services.calls.empty());
}

TEST(ColdRecover, FailedStartIsExitFive) {
  ScratchDir dir;
  FakeServices services;
  services.fail_start = true;
  odbox::test::write_text(dir.path() / "odoo.service.stopped", R"({"pid": 0})");
  try {
    recover_stopped_units(services, dir.path(), std::chrono::seconds(5));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::restart_failed);
  }
}
