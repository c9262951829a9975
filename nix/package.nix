# The odbox-backup package: a CMake build of the one executable, with its
# unit tests run in the check phase (the integration tests need a running
# PostgreSQL and are left to `ctest` outside the sandbox).
#
#   pkgs.callPackage ./nix/package.nix { }
#
# pg_dump must be at least the server's major version: pick the PostgreSQL
# whose pg_dump/psql the wrapper falls back to with
#   pkgs.callPackage ./nix/package.nix { postgresql = pkgs.postgresql_16; }
# (the NixOS module passes absolute tool paths in its configuration file
# anyway, taken from services.postgresql.package).
{
  lib,
  stdenv,
  cmake,
  ninja,
  pkg-config,
  makeBinaryWrapper,
  cli11,
  spdlog,
  nlohmann_json,
  libpq,
  openssl,
  gtest,
  postgresql,
  rsync,
}:

stdenv.mkDerivation (finalAttrs: {
  pname = "odbox-backup";
  version = "0.1.0";

  # Only what the build reads: editing the README, the Nix files or the
  # systemd units does not rebuild the package.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../CMakeLists.txt
      ../cmake
      ../include
      ../src
      ../tests
      ../LICENSE
    ];
  };

  nativeBuildInputs = [
    cmake
    ninja
    pkg-config
    makeBinaryWrapper
  ];

  buildInputs = [
    cli11
    spdlog
    nlohmann_json
    libpq
    openssl
  ];

  checkInputs = [ gtest ];

  # The test tree needs GoogleTest; without the check phase it is not built.
  cmakeFlags = [ (lib.cmakeBool "ODBOX_BUILD_TESTS" finalAttrs.doCheck) ];

  doCheck = true;
  # Unit tests only: the integration tests start a PostgreSQL cluster and
  # drive rsync and systemctl, which the build sandbox does not offer.
  checkPhase = ''
    runHook preCheck
    ctest --output-on-failure --label-regex '^unit$' -j "$NIX_BUILD_CORES"
    runHook postCheck
  '';

  # pg_dump, psql and rsync come from PATH (or from absolute paths in the
  # configuration file). The wrapper appends this package's own as a
  # fallback, so a `path` or PATH chosen by the caller still wins. The real
  # binary keeps its name (libexec/odbox-backup/odbox-backup): cold-recover
  # recognises a live run by the process name "odbox-backup", which a
  # `.odbox-backup-wrapped` executable would not have.
  postInstall = ''
    mkdir -p $out/libexec/odbox-backup
    mv $out/bin/odbox-backup $out/libexec/odbox-backup/odbox-backup
    makeBinaryWrapper $out/libexec/odbox-backup/odbox-backup $out/bin/odbox-backup \
      --suffix PATH : ${
        lib.makeBinPath [
          postgresql
          rsync
        ]
      }
  '';

  meta = {
    description = "Hot and cold backups of an Odoo server: PostgreSQL database and file store";
    longDescription = ''
      odbox-backup dumps an Odoo database from an exported snapshot,
      streamed into the backup area, mirrors the file store with rsync and
      checks that every file the dump references is in the mirror. A cold
      backup stops Odoo only for the seconds that need it, purges stale
      session files, and always starts Odoo again.
    '';
    license = lib.licenses.mit;
    mainProgram = "odbox-backup";
    platforms = lib.platforms.linux;
  };
})
