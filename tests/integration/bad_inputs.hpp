#pragma once

// The bad inputs of the command line, config file and disk that must end
// in exit 2 with nothing touched: one row each, for usage_test.cpp and the
// fault matrices that build on it.

#include "harness.hpp"

#include <span>
#include <string>
#include <vector>

namespace odbox::it {

using Args = std::vector<std::string>;
using Setup = void (*)(const OdooScratch&);

enum class Odoo {
  absent,  // no service: hot, verify, ...
  service, // Odoo runs as a service: the run must not stop or start it
};

struct BadInput {
  std::string name;
  // The command line; {BASEDIR} {DATA} {DB} {SCRATCH} {SYSTEMCTL} {MARKER}
  // {PSQL} stand for the scratch Odoo's paths and names (substitute()).
  Args args;
  std::string expected;  // part of the one error line (substituted too)
  Setup setup = nullptr; // what the row needs on disk, made before the "before" listing
  Odoo odoo = Odoo::absent;
  Setup teardown = nullptr; // what setup made outside the scratch directory
};

[[nodiscard]] std::span<const BadInput> bad_inputs();

// `text` with the placeholders of BadInput::args replaced for `odoo`.
[[nodiscard]] std::string substitute(std::string text, const OdooScratch& odoo);

} // namespace odbox::it
