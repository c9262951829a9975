#!/usr/bin/env bash
# Runs the self-test of tests/nix/minilib.nix (minilib_test.nix): the
# module-system behaviours the module tests rely on match nixpkgs' lib.
# Exit 0: all hold; 1: one does not; 77: nix-instantiate missing (skipped).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nix-instantiate >/dev/null; then
  echo "SKIP: nix-instantiate not found (install nix-bin: bash tests/setup-debian)"
  exit 77
fi
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
export NIX_STATE_DIR=$state NIX_LOG_DIR=$state/log

echo "checks: minilib.nix merges, prioritises, orders, aliases and rejects definitions as nixpkgs' lib does"
awk '/^  tests = \{/ { inside = 1; next } /^  \};/ { inside = 0 }
     inside && /^    [a-zA-Z]+ =/ { print "  - " $1 }' "$here/minilib_test.nix"
result=$(nix-instantiate --eval --strict "$here/minilib_test.nix")
[[ $result == true ]] || { echo "FAIL: $result"; exit 1; }
echo "all checks hold"
