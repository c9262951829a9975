{
  description = "odbox-backup: hot and cold backups of an Odoo server (PostgreSQL database and file store)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      # pkgs.odbox-backup for a nixpkgs of your own.
      overlays.default = final: _prev: {
        odbox-backup = final.callPackage ./nix/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/package.nix { };
      });

      # The NixOS module (options odbox.backup.*), with the package built
      # from the system's own nixpkgs unless odbox.backup.package is set.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          odbox.backup.package = lib.mkDefault (pkgs.callPackage ./nix/package.nix { });
        };

      # `nix flake check`: the package (with its unit tests) and, where KVM
      # is available, a NixOS VM with PostgreSQL and an Odoo stand-in taking
      # a hot and a cold backup.
      checks = forAllSystems (pkgs: {
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        vm = pkgs.testers.runNixOSTest (
          import ./nix/tests/vm.nix { odboxModule = self.nixosModules.default; }
        );
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.default ];
          packages = [
            pkgs.postgresql
            pkgs.rsync
            pkgs.python3
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-rfc-style);
    };
}
