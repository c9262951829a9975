# The NixOS options that nix/module.nix sets or reads, declared with the
# types NixOS gives them (nixos/lib/systemd-unit-options.nix,
# nixos/modules/system/boot/systemd/tmpfiles.nix, services/databases/
# postgresql.nix, misc/assertions.nix, ...), so that evaluating the module
# with tests/nix/minilib.nix catches a misspelt or mistyped setting as NixOS
# would ("The option `systemd.services.x.serviceConfg' does not exist").
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkOption types;

  # nixos/lib/systemd-unit-options.nix: unitOption. Lists concatenate, other
  # values must agree.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    check = v: !(lib.isFunction v);
    merge =
      loc: defs:
      if lib.any (d: lib.isList d.value) defs then
        lib.concatMap (d: lib.toList d.value) defs
      else
        lib.mergeEqualOption loc defs;
  };

  unitList = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };

  # Options every unit kind has (commonUnitOptions + the [Unit] helpers).
  commonUnit = {
    options = {
      enable = mkOption {
        type = types.bool;
        default = true;
      };
      description = mkOption {
        type = types.strMatching "[^\n]*";
        default = "";
      };
      documentation = unitList;
      requires = unitList;
      wants = unitList;
      upholds = unitList;
      after = unitList;
      before = unitList;
      bindsTo = unitList;
      partOf = unitList;
      conflicts = unitList;
      requisite = unitList;
      onFailure = unitList;
      onSuccess = unitList;
      wantedBy = unitList;
      requiredBy = unitList;
      upheldBy = unitList;
      aliases = unitList;
      unitConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
    };
  };

  service =
    { config, ... }:
    {
    imports = [ commonUnit ];
    options = {
      serviceConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
      environment = mkOption {
        type = types.attrsOf (
          types.nullOr (
            types.oneOf [
              types.str
              types.path
              types.package
            ]
          )
        );
        default = { };
      };
      path = mkOption {
        type = types.listOf (types.either types.package types.str);
        default = [ ];
      };
      script = mkOption {
        type = types.lines;
        default = "";
      };
      restartIfChanged = mkOption {
        type = types.bool;
        default = true;
      };
      reloadIfChanged = mkOption {
        type = types.bool;
        default = false;
      };
      stopIfChanged = mkOption {
        type = types.bool;
        default = true;
      };
      startAt = mkOption {
        type = types.either types.str (types.listOf types.str);
        default = [ ];
      };
    };
    # nixos/lib/systemd-lib.nix (serviceConfig, stage2ServiceConfig): every
    # service's PATH ends with these, even when it sets no `path`.
    config.path = lib.mkAfter [
      pkgs.coreutils
      pkgs.findutils
      pkgs.gnugrep
      pkgs.gnused
      pkgs.systemd
    ];
    config.environment.PATH = lib.mkIf (config.path != [ ]) "${lib.makeBinPath config.path}:${lib.makeSearchPathOutput "bin" "sbin" config.path}";
  };

  timer = {
    imports = [ commonUnit ];
    options.timerConfig = mkOption {
      type = types.attrsOf unitOption;
      default = { };
    };
  };

  # nixos/modules/system/boot/systemd/tmpfiles.nix: settings.<file>.<path>.<type>
  tmpfilesEntry =
    { name, ... }:
    {
      options = {
        type = mkOption {
          type = types.str;
          default = name;
        };
        mode = mkOption {
          type = types.str;
          default = "-";
        };
        user = mkOption {
          type = types.str;
          default = "-";
        };
        group = mkOption {
          type = types.str;
          default = "-";
        };
        age = mkOption {
          type = types.str;
          default = "-";
        };
        argument = mkOption {
          type = types.str;
          default = "";
        };
      };
    };

  etcEntry = {
    options = {
      source = mkOption { type = types.path; };
      mode = mkOption {
        type = types.str;
        default = "symlink";
      };
    };
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };

    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };
    environment.etc = mkOption {
      type = types.attrsOf (types.submodule etcEntry);
      default = { };
    };

    systemd.package = mkOption {
      type = types.package;
      default = pkgs.systemd;
    };
    systemd.services = mkOption {
      type = types.attrsOf (types.submodule service);
      default = { };
    };
    systemd.timers = mkOption {
      type = types.attrsOf (types.submodule timer);
      default = { };
    };
    systemd.tmpfiles.settings = mkOption {
      type = types.attrsOf (types.attrsOf (types.attrsOf (types.submodule tmpfilesEntry)));
      default = { };
    };

    services.postgresql = {
      enable = mkOption {
        type = types.bool;
        default = false;
      };
      package = mkOption {
        type = types.package;
        default = pkgs.postgresql;
      };
      settings = mkOption {
        type = types.attrsOf types.unspecified;
        default = { };
      };
      identMap = mkOption {
        type = types.lines;
        default = "";
      };
      authentication = mkOption {
        type = types.lines;
        default = "";
      };
    };
  };

  # As services/databases/postgresql.nix: the catch-all rules come after
  # everything other modules add.
  config.services.postgresql.authentication = lib.mkIf config.services.postgresql.enable (
    lib.mkAfter ''
      local all all              peer
      host  all all 127.0.0.1/32 md5
      host  all all ::1/128      md5
    ''
  );
}
