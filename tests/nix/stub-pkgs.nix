# The parts of `pkgs` that nix/module.nix (and tests/nix/nixos-stubs.nix) use,
# as stubs for the tests.
#   - Packages are this host's installations (Debian paths), so the rendered
#     units point at programs that exist: systemd-analyze verify checks that.
#   - writeText / runCommand return derivation-shaped sets whose outPath is
#     under storeDir; `stub` carries the file text or the build script, which
#     tests/nix/render writes out or runs (a stand-in for building them).
{
  lib,
  # Scratch directory standing in for /nix/store.
  storeDir,
  # Prefix holding bin/odbox-backup (the package under test).
  odboxPrefix,
  # Prefix holding bin/pg_dump and bin/psql.
  postgresqlPrefix ? "/usr/lib/postgresql/15",
}:

let
  hostPackage = name: prefix: {
    type = "derivation";
    inherit name;
    outPath = prefix;
  };

  mkStub = name: stub: {
    type = "derivation";
    inherit name stub;
    outPath = "${storeDir}/${builtins.substring 0 32 (builtins.hashString "sha256" (builtins.toJSON stub))}-${name}";
  };

  # nixpkgs' pkgs.formats.json { }: type and generate.
  jsonType =
    let
      t = lib.types;
      valueType =
        t.nullOr (
          t.oneOf [
            t.bool
            t.int
            t.float
            t.str
            t.path
            (t.attrsOf valueType)
            (t.listOf valueType)
          ]
        )
        // {
          description = "JSON value";
        };
    in
    valueType;
in
rec {
  systemd = hostPackage "systemd" "/usr";
  rsync = hostPackage "rsync" "/usr";
  restic = hostPackage "restic" "/usr";
  coreutils = hostPackage "coreutils" "/usr";
  findutils = hostPackage "findutils" "/usr";
  gnugrep = hostPackage "gnugrep" "/usr";
  gnused = hostPackage "gnused" "/usr";
  postgresql = hostPackage "postgresql" postgresqlPrefix;
  odbox-backup = hostPackage "odbox-backup-0.1.0" odboxPrefix // {
    pname = "odbox-backup";
    meta.mainProgram = "odbox-backup";
  };

  writeText =
    name: text:
    mkStub name {
      kind = "file";
      inherit text;
    };

  runCommand =
    name: env: script:
    mkStub name {
      kind = "build";
      inherit script;
      path = map (p: "${p}/bin") (env.nativeBuildInputs or [ ]);
    };

  formats.json =
    { }:
    {
      type = jsonType;
      generate = name: value: writeText name (builtins.toJSON value);
    };
}
