#include "odbox/core/errors.hpp"

#include "odbox/util/signals.hpp"

namespace odbox::core {

void throw_if_interrupted() {
  if (const int sig = util::pending_signal(); sig != 0) {
    throw Interrupted(sig);
  }
}

} // namespace odbox::core
