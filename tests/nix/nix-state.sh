# Sourced by the Nix test scripts: skips the test (exit 77) when
# nix-instantiate is missing, and gives Nix a throwaway state directory,
# removed on exit, and a configuration of its own: the machine's nix.conf
# (Debian's names a 'nixbld' group that a fresh machine does not have) is
# not read, so evaluation prints nothing on stderr that depends on it.
if ! command -v nix-instantiate >/dev/null; then
  echo "SKIP: nix-instantiate not found (install nix-bin: bash tests/setup-debian)"
  exit 77
fi
nix_state=$(mktemp -d)
trap 'rm -rf "$nix_state"' EXIT
export NIX_STATE_DIR=$nix_state NIX_LOG_DIR=$nix_state/log
export NIX_CONF_DIR=$nix_state/etc NIX_USER_CONF_FILES=$nix_state/nix.conf
export NIX_CONFIG='build-users-group ='
