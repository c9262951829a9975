#pragma once

#include "odbox/core/area.hpp"

#include <expected>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace odbox::core {

// Writes a run's record (as appended to runs.jsonl) as Prometheus text for
// node_exporter's textfile collector, atomically and world-readable. A
// database that failed in this run keeps its last success time, read from
// the area's runs.jsonl, so that its series never vanishes after one failed
// run. The error names the cause.
std::expected<void, std::string> write_metrics(const std::filesystem::path& file,
                                               const nlohmann::json& record,
                                               const BackupArea& area);

} // namespace odbox::core
