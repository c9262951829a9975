# Evaluates nix/module.nix for one test configuration with tests/nix/minilib.nix
# and renders what NixOS would install from it, the way NixOS does
# (nixos/lib/systemd-lib.nix: serviceToUnit, timerToUnit, attrsToSection;
# nixos/modules/system/boot/systemd/tmpfiles.nix: settingsEntryToRule).
#
#   nix-instantiate --eval --strict --json tests/nix/render.nix \
#     --arg case ./cases/seed-example.nix --argstr storeDir DIR --argstr odboxPrefix DIR
#
# prints { units, tmpfiles, files, builds, postgresql, warnings, etc }:
#   units.<name>      unit file text (only enabled units)
#   tmpfiles.<name>   text of tmpfiles.d/<name>.conf
#   files.<path>      files the configuration refers to (pkgs.writeText stubs)
#   builds            derivations the units depend on (pkgs.runCommand stubs)
# Failed assertions abort the evaluation, as they abort a NixOS build.
{
  case,
  storeDir,
  odboxPrefix,
  postgresqlPrefix ? "/usr/lib/postgresql/15",
}:

let
  lib = import ./minilib.nix;
  pkgs = import ./stub-pkgs.nix {
    inherit
      lib
      storeDir
      odboxPrefix
      postgresqlPrefix
      ;
  };

  eval = lib.evalModules {
    modules = [
      ../../nix/module.nix
      ./nixos-stubs.nix
      case
    ];
    specialArgs = { inherit pkgs; };
  };
  cfg = eval.config;

  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) cfg.assertions);
  checked =
    if failedAssertions == [ ] then
      cfg
    else
      throw "\nFailed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failedAssertions}";

  # ---- nixos/lib/systemd-lib.nix ------------------------------------------
  toOption =
    x:
    if x == true then
      "true"
    else if x == false then
      "false"
    else
      toString x;

  attrsToSection =
    as:
    lib.concatStrings (
      lib.concatLists (
        lib.mapAttrsToList (
          name: value: map (x: "${name}=${toOption x}\n") (if lib.isList value then value else [ value ])
        ) as
      )
    );

  # The [Unit] keys NixOS derives from the unit options (unitConfig module).
  unitConfigOf =
    def:
    lib.optionalAttrs (def.requires != [ ]) { Requires = toString def.requires; }
    // lib.optionalAttrs (def.wants != [ ]) { Wants = toString def.wants; }
    // lib.optionalAttrs (def.upholds != [ ]) { Upholds = toString def.upholds; }
    // lib.optionalAttrs (def.after != [ ]) { After = toString def.after; }
    // lib.optionalAttrs (def.before != [ ]) { Before = toString def.before; }
    // lib.optionalAttrs (def.bindsTo != [ ]) { BindsTo = toString def.bindsTo; }
    // lib.optionalAttrs (def.partOf != [ ]) { PartOf = toString def.partOf; }
    // lib.optionalAttrs (def.conflicts != [ ]) { Conflicts = toString def.conflicts; }
    // lib.optionalAttrs (def.requisite != [ ]) { Requisite = toString def.requisite; }
    // lib.optionalAttrs (def.description != "") { Description = def.description; }
    // lib.optionalAttrs (def.documentation != [ ]) { Documentation = toString def.documentation; }
    // lib.optionalAttrs (def.onFailure != [ ]) { OnFailure = toString def.onFailure; }
    // lib.optionalAttrs (def.onSuccess != [ ]) { OnSuccess = toString def.onSuccess; }
    // def.unitConfig;

  commonUnitText =
    def: lines:
    ''
      [Unit]
      ${attrsToSection (unitConfigOf def)}
    ''
    + lines
    + lib.optionalString (def.wantedBy != [ ]) ''

      [Install]
      WantedBy=${lib.concatStringsSep " " def.wantedBy}
    '';

  serviceText =
    def:
    commonUnitText def (
      ''
        [Service]
      ''
      + lib.concatMapStrings (
        n:
        lib.optionalString (def.environment.${n} != null) "Environment=${builtins.toJSON "${n}=${def.environment.${n}}"}\n"
      ) (lib.attrNames def.environment)
      + (
        if def.reloadIfChanged then
          "X-ReloadIfChanged=true\n"
        else if !def.restartIfChanged then
          "X-RestartIfChanged=false\n"
        else
          ""
      )
      + lib.optionalString (!def.stopIfChanged) "X-StopIfChanged=false\n"
      + attrsToSection def.serviceConfig
    );

  timerText =
    def:
    commonUnitText def ''
      [Timer]
      ${attrsToSection def.timerConfig}
    '';

  enabled = lib.filterAttrs (_: def: def.enable);
  units =
    lib.mapAttrs' (n: def: lib.nameValuePair "${n}.service" (serviceText def)) (
      enabled checked.systemd.services
    )
    // lib.mapAttrs' (n: def: lib.nameValuePair "${n}.timer" (timerText def)) (
      enabled checked.systemd.timers
    );

  # ---- nixos/modules/system/boot/systemd/tmpfiles.nix -----------------------
  settingsEntryToRule = path: entry: ''
    '${entry.type}' '${path}' '${entry.mode}' '${entry.user}' '${entry.group}' '${entry.age}' ${entry.argument}
  '';
  tmpfiles = lib.mapAttrs (
    _: paths:
    lib.concatStrings (
      lib.mapAttrsToList (path: entries: lib.concatStrings (lib.mapAttrsToList (_: settingsEntryToRule path) entries)) paths
    )
  ) checked.systemd.tmpfiles.settings;

  # ---- what the units and /etc refer to -----------------------------------
  unitValues = lib.concatMap (def: lib.attrValues def.unitConfig) (
    lib.attrValues checked.systemd.services ++ lib.attrValues checked.systemd.timers
  );
  candidates = unitValues ++ map (e: e.source) (lib.attrValues checked.environment.etc);
  stubs = lib.filter (v: lib.isAttrs v && v ? stub) candidates;
  files = lib.listToAttrs (
    map (s: lib.nameValuePair s.outPath s.stub.text) (lib.filter (s: s.stub.kind == "file") stubs)
  );
  builds = map (s: {
    inherit (s) name;
    out = s.outPath;
    inherit (s.stub) script path;
  }) (lib.unique (lib.filter (s: s.stub.kind == "build") stubs));
in
{
  inherit
    units
    tmpfiles
    files
    builds
    ;
  warnings = checked.warnings;
  etc = lib.mapAttrs (_: e: toString e.source) checked.environment.etc;
  postgresql = {
    inherit (checked.services.postgresql) identMap authentication;
  };
}
