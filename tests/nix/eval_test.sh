#!/usr/bin/env bash
# Evaluates a Nix test file of tests/nix (minilib_test.nix, flake_test.nix):
# each evaluates to true, or throws naming the checks that do not hold. The
# checks are the attributes of its `tests = { ... }` set, listed here.
#   eval_test.sh FILE.nix
# Exit 0: all hold; 1: one does not; 77: nix-instantiate missing (skipped).
set -euo pipefail

file=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
. "$(dirname "$0")/nix-state.sh"

echo "checks of ${file#"$(cd "$(dirname "$0")/../.." && pwd)/"}:"
sed -n '1,/^let/p' "$file" | sed '$d; s/^# \{0,1\}/  /'
awk '/^  tests = \{/ { inside = 1; next } /^  \};/ { inside = 0 }
     inside && /^    [a-zA-Z]+ =/ { print "  - " $1 }' "$file"
# The result is stdout alone: a warning on stderr is shown, never compared.
errors=$nix_state/stderr
if ! result=$(nix-instantiate --eval --strict "$file" 2>"$errors"); then
  echo "FAIL:"
  sed 's/^/  /' "$errors"
  exit 1
fi
if [[ -s $errors ]]; then
  echo "nix-instantiate said on stderr:"
  sed 's/^/  /' "$errors"
fi
[[ $result == true ]] || { echo "FAIL: $result"; exit 1; }
echo "all checks hold"
