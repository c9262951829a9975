# Evaluates flake.nix against a stand-in for nixpkgs (tests/nix/minilib.nix
# plus stub packages) and checks its wiring: the package's attributes as
# nix/package.nix sets them, the overlay, the NixOS module of the flake (its
# package default included) evaluated for the seed's example, and the VM
# check's nodes and script. What it cannot check: that the package builds,
# that the VM test passes (that takes real nixpkgs: `nix flake check`).
#   nix-instantiate --eval --strict tests/nix/flake_test.nix   => true
let
  minilib = import ./minilib.nix;
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];

  lib = minilib // {
    genAttrs = names: f: minilib.genAttrs names f;
    cmakeBool = name: value: "-D${name}:BOOL=${if value then "TRUE" else "FALSE"}";
    fileset = {
      toSource = { root, fileset }: fileset;
      unions = files: files;
    };
    licenses.mit = {
      spdxId = "MIT";
    };
    platforms.linux = systems;
  };

  # A package of nixpkgs, as callPackage arguments see it.
  fakePackage = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/fake-${name}";
  };

  pkgsFor =
    system:
    let
      stubs = import ./stub-pkgs.nix {
        inherit lib;
        storeDir = "/nix/store";
        odboxPrefix = "/nix/store/stub-odbox-backup";
      };
      pkgs =
        stubs
        // lib.genAttrs [
          "cmake"
          "ninja"
          "pkg-config"
          "makeBinaryWrapper"
          "cli11"
          "spdlog"
          "nlohmann_json"
          "libpq"
          "openssl"
          "gtest"
          "python3"
          "nixfmt-rfc-style"
        ] fakePackage
        // {
          inherit lib;
          postgresql = fakePackage "postgresql";
          rsync = fakePackage "rsync";
          stdenv = {
            hostPlatform.system = system;
            # The finalAttrs fixed point of stdenv.mkDerivation.
            mkDerivation =
              f:
              let
                attrs = f attrs;
              in
              attrs
              // {
                type = "derivation";
                name = "${attrs.pname}-${attrs.version}";
                outPath = "/nix/store/fake-${attrs.pname}-${attrs.version}";
              };
          };
          callPackage =
            path: overrides:
            let
              f = import path;
            in
            f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // overrides);
          testers.runNixOSTest = test: test;
          mkShell = attrs: attrs;
        };
    in
    pkgs;

  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs systems pkgsFor;
  };

  outputs = (import ../../flake.nix).outputs {
    self = outputs;
    inherit nixpkgs;
  };

  pkgs = nixpkgs.legacyPackages.x86_64-linux;
  package = outputs.packages.x86_64-linux.default;

  # The flake's module for the seed's example, as a NixOS system would see it.
  system = lib.evalModules {
    modules = [
      outputs.nixosModules.default
      ./nixos-stubs.nix
      ./cases/seed-example-local-postgres.nix
    ];
    specialArgs = { inherit pkgs; };
  };
  units = system.config.systemd.services;

  vmTest = outputs.checks.x86_64-linux.vm { inherit lib; };
  vmMachine = vmTest.nodes.machine {
    inherit lib;
    config.services.postgresql.package = fakePackage "postgresql";
    pkgs = pkgs // {
      writeShellApplication = a: fakePackage a.name // { meta.mainProgram = a.name; };
      coreutils = fakePackage "coreutils";
    };
  };

  has = list: x: builtins.elem x list;

  tests = {
    packageName = package.pname == "odbox-backup" && package.version == "0.1.0";
    packageMeta =
      package.meta.mainProgram == "odbox-backup" && package.meta.license == lib.licenses.mit;
    packageInputs =
      lib.all (has (map (p: p.name) package.nativeBuildInputs)) [
        "cmake"
        "ninja"
        "pkg-config"
      ]
      && lib.all (has (map (p: p.name) package.buildInputs)) [
        "cli11"
        "spdlog"
        "nlohmann_json"
        "libpq"
        "openssl"
      ]
      && map (p: p.name) package.checkInputs == [ "gtest" ];
    packageTests =
      package.doCheck
      && package.cmakeFlags == [ "-DODBOX_BUILD_TESTS:BOOL=TRUE" ]
      && lib.hasInfix "--label-regex '^unit$'" package.checkPhase;
    packageWrapper =
      lib.hasInfix "libexec/odbox-backup/odbox-backup" package.postInstall
      && lib.hasInfix "/nix/store/fake-postgresql/bin" package.postInstall
      && lib.hasInfix "/nix/store/fake-rsync/bin" package.postInstall;
    packageSource = has package.src ../../src && has package.src ../../tests;
    overlay = ((outputs.overlays.default pkgs { }).odbox-backup).pname == "odbox-backup";
    allSystems =
      builtins.attrNames outputs.packages == builtins.sort builtins.lessThan systems
      && builtins.attrNames outputs.checks == builtins.attrNames outputs.packages;
    checkPackage = outputs.checks.x86_64-linux.package == package;
    # The flake's module defaults the package to one built with the
    # system's nixpkgs, not to pkgs.odbox-backup (absent from nixpkgs).
    modulePackage = system.config.odbox.backup.package.pname == "odbox-backup";
    moduleUnits =
      lib.hasPrefix "/nix/store/fake-odbox-backup-0.1.0/bin/odbox-backup --config "
        units.odbox-backup-hot.serviceConfig.ExecStart
      && builtins.attrNames system.config.systemd.timers == [
        "odbox-backup-cold"
        "odbox-backup-hot"
      ];
    vmName = vmTest.name == "odbox-backup";
    vmNode =
      # (functions do not compare equal in Nix: the flake's module is the
      # only import, and a function)
      builtins.length vmMachine.imports == 1
      && lib.isFunction (builtins.head vmMachine.imports)
      && vmMachine.odbox.backup.odoo.hot-schedule == [
        "11:00:00"
        "14:00:00"
        "16:00:00"
      ]
      && vmMachine.systemd.services.odoo.serviceConfig.ExecStart == "/nix/store/fake-odoo-standin/bin/odoo-standin";
    vmScript = lib.hasInfix "systemctl kill -s KILL odbox-backup-cold.service" vmTest.testScript;
    devShell = outputs.devShells.x86_64-linux.default.inputsFrom == [ package ];
  };

  failed = builtins.filter (name: !tests.${name}) (builtins.attrNames tests);
in
if failed == [ ] then true else throw "flake test failed: ${toString failed}"
