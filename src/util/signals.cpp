#include "odbox/util/signals.hpp"

#include <atomic>
#include <csignal>

namespace odbox::util {
namespace {

std::atomic<int> g_pending{0};

extern "C" void on_termination_signal(int sig) {
  int expected = 0;
  // Keep the first signal: it decides the exit code (128 + N).
  g_pending.compare_exchange_strong(expected, sig);
}

} // namespace

void install_termination_handlers() {
  struct sigaction action {};
  action.sa_handler = on_termination_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and loops look
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    ::sigaction(sig, &action, nullptr);
  }
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

int pending_signal() noexcept { return g_pending.load(); }

void clear_pending_signal() noexcept { g_pending.store(0); }

} // namespace odbox::util
