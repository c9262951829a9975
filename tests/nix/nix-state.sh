# Sourced by the Nix test scripts: skips the test (exit 77) when
# nix-instantiate is missing, and gives Nix a throwaway state directory,
# removed on exit.
if ! command -v nix-instantiate >/dev/null; then
  echo "SKIP: nix-instantiate not found (install nix-bin: bash tests/setup-debian)"
  exit 77
fi
nix_state=$(mktemp -d)
trap 'rm -rf "$nix_state"' EXIT
export NIX_STATE_DIR=$nix_state NIX_LOG_DIR=$nix_state/log
