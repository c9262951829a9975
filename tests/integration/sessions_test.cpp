// The cold run's session purge: the sessions directory moved aside while
// Odoo (the stand-in, a service of the fake systemctl) is stopped, deleted
// once it runs again; in place where the move is not safe; what killed runs
// left, finished by the next run.

#include "sessions_scene.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace odbox::it;

// The run stops itself at the first unlink of the renamed tree: Odoo runs
// again by then, writes into the fresh directory, and the run's exit waits
// for the purge.
TEST(ColdSessions, MovedAsideWhileStoppedAndDeletedOnceOdooRuns) {
  OdooScratch odoo(OdooScratch::Options{.sessions = 300});
  odoo.install_odoo_service();
  const auto sessions = odoo.data_dir() / "sessions";
  ASSERT_EQ(::chmod(sessions.c_str(), 0750), 0);
  const struct stat before = stat_of(sessions);
  const auto outside = plant_traps(odoo);

  auto child = odoo.spawn_backup(
      cold_args(odoo),
      odbox_test::env_list({odoo.systemctl_env(), stop_at("sessions.deleting")}));
  const bool stopped = wait_until_stopped(child.pid(), std::chrono::minutes(2));
  if (!stopped) {
    ::kill(child.pid(), SIGKILL);
  }
  ASSERT_TRUE(stopped) << "the run did not reach the purge (exit "
                       << exit_code_of(child.wait()) << ")";
  // Odoo was started again before the first unlink of the renamed tree.
  EXPECT_TRUE(odoo.odoo_active());
  const auto calls = odoo.service_calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().second, "start odoo.service");
  const auto aside = moved_aside(sessions);
  ASSERT_EQ(aside.size(), 1U);
  // The fresh directory is like the old one; what Odoo writes now stays.
  const struct stat fresh = stat_of(sessions);
  EXPECT_NE(fresh.st_ino, before.st_ino);
  EXPECT_EQ(fresh.st_mode, before.st_mode);
  EXPECT_EQ(fresh.st_uid, before.st_uid);
  EXPECT_EQ(fresh.st_gid, before.st_gid);
  std::ofstream(sessions / "werkzeug_during.sess") << "new";
  fs::create_directories(sessions / "cd");
  std::ofstream(sessions / "cd" / "cd0123") << "new";
  // A file appearing in the renamed tree during the purge goes with it.
  std::ofstream(aside.front() / "werkzeug_late.sess") << "late";

  ::kill(child.pid(), SIGCONT);
  ASSERT_EQ(exit_code_of(child.wait()), 0);
  EXPECT_TRUE(moved_aside(sessions).empty());
  EXPECT_EQ(read_file(sessions / "werkzeug_during.sess"), "new");
  EXPECT_EQ(read_file(sessions / "cd" / "cd0123"), "new");
  expect_outside_intact(outside);
  const auto m = odoo.manifest();
  EXPECT_EQ(m["sessions"]["method"], "aside");
  EXPECT_EQ(m["sessions"]["complete"], true);
  EXPECT_GE(m["sessions"]["files_removed"].get<int>(), 300);
  EXPECT_LT(m["sessions"]["while_stopped_seconds"].get<double>(),
            m["downtime_seconds"].get<double>());
  EXPECT_EQ(odoo.runs().back()["sessions"], m["sessions"]);
}

// Killed between the rename aside and the fresh directory's rename into
// place: no sessions directory at all until cold-recover makes one.
TEST(ColdSessions, SigkillBetweenTheRenamesThenColdRecoverAndTheNextRun) {
  OdooScratch odoo;
  odoo.install_odoo_service();
  const auto sessions = odoo.data_dir() / "sessions";
  ASSERT_EQ(::chmod(sessions.c_str(), 0710), 0);
  auto child = odoo.spawn_backup(
      cold_args(odoo),
      odbox_test::env_list({odoo.systemctl_env(), stop_at("sessions.moved_aside")}));
  const bool stopped = wait_until_stopped(child.pid(), std::chrono::minutes(2));
  // The rename happens while Odoo is stopped.
  EXPECT_FALSE(odoo.odoo_active());
  EXPECT_FALSE(fs::exists(sessions));
  ::kill(child.pid(), SIGKILL);
  (void)child.wait();
  ASSERT_TRUE(stopped) << "the run did not reach the rename";

  const auto recover = odoo.backup({"--systemctl", fake_systemctl(), "cold-recover",
                                    "--marker-dir", odoo.marker_dir().string()},
                                   odoo.systemctl_env());
  EXPECT_EQ(recover.exit_code, 0) << recover.err;
  EXPECT_TRUE(odoo.odoo_active());
  ASSERT_TRUE(fs::is_directory(sessions)) << recover.err;
  EXPECT_EQ(stat_of(sessions).st_mode & 07777, 0710U);

  const auto next = odoo.cold();
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_TRUE(moved_aside(sessions).empty());
  EXPECT_GE(odoo.runs().back()["sessions"]["leftovers"].get<int>(), 1);
}

class ColdSessionsSignal : public ::testing::TestWithParam<int> {};

// A signal while the renamed tree is deleted: Odoo keeps running and the
// next run finishes the leftover.
TEST_P(ColdSessionsSignal, DuringTheBackgroundPurgeTheNextRunFinishesIt) {
  const int sig = GetParam();
  OdooScratch odoo(OdooScratch::Options{.sessions = 300});
  odoo.install_odoo_service();
  const auto sessions = odoo.data_dir() / "sessions";
  auto child = odoo.spawn_backup(
      cold_args(odoo),
      odbox_test::env_list({odoo.systemctl_env(), stop_at("sessions.deleting")}));
  const bool stopped = wait_until_stopped(child.pid(), std::chrono::minutes(2));
  ::kill(child.pid(), sig);
  ::kill(child.pid(), SIGCONT);
  const int code = exit_code_of(child.wait());
  ASSERT_TRUE(stopped) << "the run did not reach the purge";
  EXPECT_EQ(code, 128 + sig);
  EXPECT_TRUE(odoo.odoo_active());
  ASSERT_EQ(moved_aside(sessions).size(), 1U);
  if (sig == SIGTERM) {
    EXPECT_EQ(odoo.runs().back()["exit_code"], 128 + SIGTERM);
    EXPECT_EQ(odoo.runs().back()["sessions"]["complete"], false);
  }

  const auto next = odoo.cold();
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_TRUE(moved_aside(sessions).empty());
  EXPECT_EQ(odoo.runs().back()["sessions"]["leftovers"], 1);
}

INSTANTIATE_TEST_SUITE_P(Signals, ColdSessionsSignal, ::testing::Values(SIGKILL, SIGTERM),
                         [](const auto& row) {
                           return row.param == SIGKILL ? "Sigkill" : "Sigterm";
                         });

// A sessions directory that is a mount point (a bind mount of itself) is
// purged in place, with Odoo stopped, and the warning says why.
TEST(ColdSessions, MountPointFallsBackToInPlaceWithAWarning) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "a bind mount needs root";
  }
  OdooScratch odoo;
  odoo.install_odoo_service();
  const auto sessions = odoo.data_dir() / "sessions";
  if (::mount(sessions.c_str(), sessions.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "cannot bind-mount " << sessions << ": " << std::strerror(errno);
  }
  const auto outside = plant_traps(odoo);
  const auto out = odoo.cold();
  const struct stat after = stat_of(sessions);
  (void)::umount2(sessions.c_str(), MNT_DETACH);
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("it is a mount point"), std::string::npos) << out.err;
  EXPECT_TRUE(S_ISDIR(after.st_mode));
  EXPECT_TRUE(moved_aside(sessions).empty());
  expect_outside_intact(outside);
  const auto m = odoo.manifest();
  EXPECT_EQ(m["sessions"]["method"], "in_place");
  EXPECT_EQ(m["sessions"]["in_place_because"], "it is a mount point");
  EXPECT_GE(m["sessions"]["files_removed"].get<int>(), 1);
}

// purge-sessions finishes what a killed run moved aside, and nothing else.
TEST(PurgeSessions, FinishesALeftoverAndLeavesOtherNamesAlone) {
  OdooScratch odoo;
  const auto sessions = odoo.data_dir() / "sessions";
  const auto leftover = odoo.data_dir() / ".sessions.purge-20260101T000000Z-1";
  fs::create_directories(leftover / "ab");
  std::ofstream(leftover / "ab" / "ab01") << "old";
  std::ofstream(odoo.data_dir() / ".sessions.purge-not-a-dir") << "stays";
  fs::create_directories(odoo.data_dir() / "sessions.purge-other");
  const auto out = odoo.backup({"purge-sessions"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_EQ(read_file(odoo.data_dir() / ".sessions.purge-not-a-dir"), "stays");
  EXPECT_TRUE(fs::is_directory(odoo.data_dir() / "sessions.purge-other"));
  EXPECT_TRUE(fs::is_directory(sessions));
  EXPECT_TRUE(fs::is_empty(sessions));
}

// --sessions-keep-days: old files go before the stop, young ones stay, and
// the directory is neither moved nor purged while Odoo is stopped.
TEST(ColdSessions, KeepDaysDeletesOldFilesBeforeTheStopOnly) {
  OdooScratch odoo;
  odoo.install_odoo_service();
  const auto sessions = odoo.data_dir() / "sessions";
  const ino_t inode = stat_of(sessions).st_ino;
  fs::create_directories(sessions / "ef");
  const std::vector<fs::path> old{sessions / "werkzeug_old.sess",
                                  sessions / "ef" / "ef01"};
  const std::vector<fs::path> young{sessions / "werkzeug_young.sess",
                                    sessions / "ef" / "ef02"};
  const timespec ten_days_ago{.tv_sec = ::time(nullptr) - 10 * 86400, .tv_nsec = 0};
  const std::array<timespec, 2> times{ten_days_ago, ten_days_ago};
  for (const auto& file : old) {
    std::ofstream(file) << "old";
    ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times.data(), 0), 0) << file;
  }
  for (const auto& file : young) {
    std::ofstream(file) << "young";
  }
  const auto out = odoo.cold({"--sessions-keep-days", "2"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  for (const auto& file : old) {
    EXPECT_FALSE(fs::exists(file)) << file;
  }
  for (const auto& file : young) {
    EXPECT_EQ(read_file(file), "young") << file;
  }
  EXPECT_EQ(stat_of(sessions).st_ino, inode);
  EXPECT_TRUE(moved_aside(sessions).empty());
  const auto m = odoo.manifest();
  EXPECT_EQ(m["sessions"]["method"], "before_stop");
  EXPECT_GE(m["sessions"]["files_removed"].get<int>(), 2);
  EXPECT_EQ(m["sessions"]["while_stopped_seconds"].get<double>(), 0.0);
}
