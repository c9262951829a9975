#include "odbox/core/offsite/generations.hpp"

#include "odbox/core/errors.hpp"
#include "odbox/util/time.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace odbox::core {
namespace {

// "key=value" tags as a map; other tags (e.g. "odbox") map to "".
std::map<std::string, std::string> tags_of(const nlohmann::json& snapshot) {
  std::map<std::string, std::string> tags;
  for (const auto& tag : snapshot.value("tags", nlohmann::json::array())) {
    if (!tag.is_string()) {
      continue;
    }
    const std::string text = tag.get<std::string>();
    const auto eq = text.find('=');
    tags[text.substr(0, eq)] = eq == std::string::npos ? "" : text.substr(eq + 1);
  }
  return tags;
}

std::string cell_bytes(const std::optional<std::uint64_t>& bytes) {
  return bytes ? util::format_bytes(*bytes) : "-";
}

} // namespace

nlohmann::json Generation::to_json() const {
  nlohmann::json j = {{"database", database},
                      {"time", time},
                      {"kind", kind},
                      {"snapshot_id", id},
                      {"short_id", short_id},
                      {"hostname", hostname},
                      {"manifest_sha256", manifest_sha256}};
  j["consistent"] = consistent ? nlohmann::json(*consistent) : nlohmann::json();
  j["dump_bytes"] = dump_bytes ? nlohmann::json(*dump_bytes) : nlohmann::json();
  return j;
}

std::optional<std::chrono::system_clock::time_point>
parse_restic_time(const std::string& text) {
  if (text.size() < 20) {
    return std::nullopt;
  }
  const std::string base = text.substr(0, 19);
  std::size_t pos = 19;
  std::string fraction;
  if (text[pos] == '.') {
    const auto end = text.find_first_not_of("0123456789", pos + 1);
    fraction = text.substr(pos, std::min<std::size_t>(end, text.size()) - pos);
    pos = end == std::string::npos ? text.size() : end;
  }
  const std::string zone = text.substr(pos);
  std::chrono::minutes offset{0};
  if (zone != "Z") {
    int hours = 0;
    int minutes = 0;
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') ||
        std::sscanf(zone.c_str() + 1, "%2d:%2d", &hours, &minutes) != 2) {
      return std::nullopt;
    }
    offset = std::chrono::minutes(hours * 60 + minutes) * (zone[0] == '-' ? -1 : 1);
  }
  const auto utc = util::parse_rfc3339(base + fraction.substr(0, 4) + "Z");
  if (!utc) {
    return std::nullopt;
  }
  return *utc - offset;
}

std::vector<Generation> parse_generations(const std::string& json_text) {
  const auto parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    throw RunError("restic snapshots --json printed no JSON list");
  }
  std::vector<Generation> out;
  for (const auto& snapshot : parsed) {
    const auto tags = tags_of(snapshot);
    if (!tags.contains("odbox") || !tags.contains("db")) {
      continue;
    }
    Generation g;
    g.id = snapshot.value("id", "");
    g.short_id = snapshot.value("short_id", g.id.substr(0, 8));
    g.time = snapshot.value("time", "");
    g.when = parse_restic_time(g.time).value_or(std::chrono::system_clock::time_point{});
    g.hostname = snapshot.value("hostname", "");
    g.database = tags.at("db");
    g.kind = tags.contains("kind") ? tags.at("kind") : "";
    if (tags.contains("consistent")) {
      g.consistent = tags.at("consistent") == "true";
    }
    g.manifest_sha256 = tags.contains("manifest") ? tags.at("manifest") : "";
    if (tags.contains("dump_bytes")) {
      try {
        g.dump_bytes = std::stoull(tags.at("dump_bytes"));
      } catch (const std::exception&) {
        g.dump_bytes.reset();
      }
    }
    out.push_back(std::move(g));
  }
  std::ranges::stable_sort(out, {}, &Generation::when);
  return out;
}

std::vector<Generation> list_generations(const Restic& restic,
                                         const std::vector<std::string>& databases) {
  Restic::Call call{.args = {"snapshots", "--json", "--tag", "odbox"},
                    .working_dir = {},
                    .on_json_line = {}};
  auto generations = parse_generations(restic.run_checked(call, "snapshots").out);
  if (!databases.empty()) {
    std::erase_if(generations, [&](const Generation& g) {
      return std::ranges::find(databases, g.database) == databases.end();
    });
  }
  return generations;
}

std::optional<Generation> newest_generation(const std::vector<Generation>& generations,
                                            const std::string& database) {
  std::optional<Generation> newest;
  for (const auto& g : generations) {
    if (g.database == database && (!newest || g.when >= newest->when)) {
      newest = g;
    }
  }
  return newest;
}

std::string format_generations(const std::vector<Generation>& generations) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-20s %-24s %-5s %-10s %10s  %s\n", "DATABASE",
                "TIME", "KIND", "CONSISTENT", "DUMP", "SNAPSHOT");
  out += line;
  for (const auto& g : generations) {
    const char* consistent = !g.consistent ? "-" : (*g.consistent ? "yes" : "NO");
    std::snprintf(line, sizeof line, "%-20s %-24s %-5s %-10s %10s  %s\n",
                  g.database.c_str(), util::rfc3339(g.when).c_str(), g.kind.c_str(),
                  consistent, cell_bytes(g.dump_bytes).c_str(), g.short_id.c_str());
    out += line;
  }
  return out;
}

} // namespace odbox::core
