#!/usr/bin/env bash
# Parses every .nix file of the repository with nix-instantiate --parse (the
# flake, the package, the NixOS module, the VM test and the test helpers):
# the files that cannot be evaluated here (they need nixpkgs) get at least
# their syntax checked; so does the VM test's Python script.
# Exit 0: all parse; 1: a syntax error; 77: nix-instantiate missing (skipped).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/nix-state.sh"

# Tracked and new files, without build trees; find where there is no git.
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -t files < <(git -C "$root" ls-files --cached --others --exclude-standard -- '*.nix' | sort)
else
  mapfile -t files < <(cd "$root" && find . -name .git -prune -o -name 'build*' -prune -o \
    -name '*.nix' -print | sed 's|^\./||' | sort)
fi
echo "checks: nix-instantiate --parse of the ${#files[@]} .nix files of the repository"
((${#files[@]} > 0)) || { echo "FAIL: no .nix file found under $root"; exit 1; }

failed=0
for f in "${files[@]}"; do
  [[ -e "$root/$f" ]] || continue   # deleted in the work tree
  if out=$(nix-instantiate --parse "$root/$f" 2>&1 >/dev/null); then
    echo "  ok   $f"
  else
    echo "  FAIL $f"
    echo "$out" | sed 's/^/       /'
    failed=1
  fi
done
# The NixOS VM test's script is Python, run by the NixOS test driver.
vm_script=nix/tests/vm_test_script.py
if command -v python3 >/dev/null && [[ -e "$root/$vm_script" ]]; then
  if out=$(python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' \
    "$root/$vm_script" 2>&1); then
    echo "  ok   $vm_script (Python syntax)"
  else
    echo "  FAIL $vm_script"
    echo "$out" | sed 's/^/       /'
    failed=1
  fi
fi
for required in flake.nix nix/package.nix nix/module.nix nix/tests/vm.nix; do
  if [[ ! -e "$root/$required" ]]; then
    echo "  FAIL $required is missing"
    failed=1
  fi
done
exit "$failed"
