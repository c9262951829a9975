// What a cold run reports of its session purge, apart from the downtime:
// the files and bytes it deleted and the time it took, in the manifest, the
// log line and the metrics, checked against what the sessions directory
// held when Odoo was stopped.

#include "fault_contract.hpp"
#include "odbox/util/time.hpp"
#include "sessions_scene.hpp"

#include <gtest/gtest.h>

using namespace odbox::it;

TEST(ColdSessionsReport, FilesBytesAndTimeOfTheBackgroundPurgeApartFromTheDowntime) {
  OdooScratch odoo(OdooScratch::Options{.sessions = 300});
  odoo.install_odoo_service();
  const auto sessions = sessions_of(odoo);
  const auto metrics = odoo.scratch() / "odbox.prom";
  const auto digests = odoo.scratch() / "snapshot-digests";
  const Before before = take_before(odoo);
  StoppedRun run(odoo, RunKind::cold,
                 {"--metrics-file", metrics.string(), "--pg-dump",
                  wrapper("pg_dump-snapshot-digests").string()},
                 {"ODBOX_DIGESTS_OUT=" + digests.string()}, "sessions.while_stopped");
  ASSERT_TRUE(run.reached()) << run.err();
  const RegularFiles files = regular_files(sessions); // Odoo stopped: all there is
  ASSERT_GE(files.paths.size(), 300U);
  const Outcome outcome = run.resume(0);
  expect_contract(odoo, RunKind::cold, before, outcome,
                  {.exit_code = 0, .backup = Backup::either});
  EXPECT_EQ(odoo.restore_digests(odoo.dump()), parse_digests(read_file(digests)))
      << "the dump does not restore to its snapshot";
  for (const auto& file : files.paths) {
    EXPECT_FALSE(fs::exists(fs::symlink_status(file))) << file;
  }

  // The manifest (runs.jsonl has the same object: ColdSessions tests).
  const auto m = odoo.manifest();
  const auto purged = m["sessions"];
  EXPECT_EQ(purged["method"], "aside");
  EXPECT_EQ(purged["files_removed"], files.paths.size());
  EXPECT_EQ(purged["bytes_removed"], files.bytes);
  EXPECT_GT(purged["seconds"].get<double>(), 0.0);
  EXPECT_GT(purged["while_stopped_seconds"].get<double>(), 0.0);
  EXPECT_EQ(purged["leftovers"], 0);
  EXPECT_EQ(purged["errors"], 0);
  EXPECT_EQ(purged["complete"], true);
  EXPECT_FALSE(purged.contains("in_place_because"));

  // The log line of the purge, once Odoo runs again, after the one of the
  // downtime.
  const auto lines = lines_with(outcome.err, " moved aside, in ");
  ASSERT_EQ(lines.size(), 1U) << outcome.err;
  EXPECT_TRUE(lines[0].starts_with(
      "<6>sessions: deleted " + std::to_string(files.paths.size()) + " files (" +
      odbox::util::format_bytes(files.bytes) + ") moved aside, in "))
      << lines[0];
  EXPECT_TRUE(lines[0].ends_with(", Odoo running")) << lines[0];
  const auto downtime = outcome.err.find("Odoo was down for ");
  ASSERT_NE(downtime, std::string::npos) << outcome.err;
  EXPECT_GT(outcome.err.find(lines[0]), downtime) << outcome.err;

  // The metrics: one sample of each, for this database.
  const auto samples = metric_samples(read_file(metrics));
  const std::string label = "{kind=\"cold\",database=\"" + odoo.db() + "\"}";
  const auto value = [&](const std::string& name) {
    return sample(samples, "odbox_backup_sessions_" + name + label);
  };
  EXPECT_EQ(value("removed_files"), std::to_string(files.paths.size()));
  EXPECT_EQ(value("removed_bytes"), std::to_string(files.bytes));
  EXPECT_EQ(value("purge_seconds"), purged["seconds"].dump());
  EXPECT_GT(std::stod(value("purge_seconds")), 0.0) << value("purge_seconds");
  EXPECT_EQ(value("downtime_seconds"), purged["while_stopped_seconds"].dump());
  EXPECT_LT(std::stod(value("downtime_seconds")),
            std::stod(sample(samples, "odbox_backup_downtime_seconds" + label)));
  EXPECT_EQ(value("purged_in_place"), "0");
  EXPECT_EQ(value("purge_complete"), "1");
}
