#pragma once

#include "odbox/core/config.hpp"
#include "odbox/core/service.hpp"

#include <string>

namespace odbox::app {

// Options shared by the commands (beyond the Config).
struct CommonOptions {
  bool json = false;  // print the run record as JSON on stdout
};

// Each subcommand sequences the core steps and returns its exit code;
// errors propagate as core::Error to app::run().
int run_hot(const core::Config& config, const CommonOptions& common);
int run_cold(const core::Config& config, const CommonOptions& common,
             core::ServiceControl& services);
int run_cold_recover(const core::Config& config, core::ServiceControl& services);

} // namespace odbox::app
