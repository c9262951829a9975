# Self-test of tests/nix/minilib.nix: the module-system behaviours the module
# tests rely on, each compared with what nixpkgs' lib does.
#   nix-instantiate --eval --strict tests/nix/minilib_test.nix   => true
let
  lib = import ./minilib.nix;
  inherit (lib) mkOption types;

  eval =
    modules:
    (lib.evalModules {
      inherit modules;
      specialArgs.pkgs = { };
    });

  decls = {
    options = {
      a = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      n = mkOption {
        type = types.int;
        default = 1;
      };
      flag = mkOption {
        type = types.bool;
        default = false;
      };
      units = mkOption {
        type = types.attrsOf (
          types.submodule (
            { name, ... }:
            {
              options.x = mkOption {
                type = types.str;
                default = name;
              };
            }
          )
        );
        default = { };
      };
      ro = mkOption {
        type = types.str;
        default = "fixed";
        readOnly = true;
      };
      text = mkOption {
        type = types.lines;
        default = "";
      };
    };
  };

  fails = expr: !(builtins.tryEval (builtins.deepSeq expr expr)).success;

  tests = {
    # Definitions of a list concatenate; mkBefore/mkAfter order them.
    listMerge =
      (eval [
        decls
        { a = [ "x" ]; }
        { a = lib.mkAfter [ "last" ]; }
        { a = lib.mkBefore [ "first" ]; }
      ]).config.a == [
        "first"
        "x"
        "last"
      ];
    # The highest priority wins: mkForce over plain over mkDefault over default.
    priorities =
      (eval [
        decls
        { n = lib.mkDefault 2; }
        { n = 3; }
      ]).config.n == 3
      && (eval [
        decls
        { n = lib.mkForce 4; }
        { n = 3; }
      ]).config.n == 4
      && (eval [ decls ]).config.n == 1;
    # A mkIf that reads config does not recurse; a false one defines nothing.
    conditional =
      let
        c =
          (eval [
            decls
            (
              { config, ... }:
              {
                config = lib.mkIf config.flag { n = 5; };
              }
            )
            { flag = true; }
          ]).config;
      in
      c.n == 5;
    # attrsOf: a key whose only definition is mkIf false disappears;
    # submodules get their name.
    attrsOfIf =
      let
        c =
          (eval [
            decls
            {
              units.kept = { };
              units.dropped = lib.mkIf false { };
            }
          ]).config;
      in
      builtins.attrNames c.units == [ "kept" ] && c.units.kept.x == "kept";
    # Undeclared options and wrong types are errors.
    undeclared = fails (eval [
      decls
      { b = 1; }
    ]).config;
    undeclaredInSubmodule = fails (eval [
      decls
      { units.u.y = "z"; }
    ]).config.units;
    wrongType = fails (eval [
      decls
      { n = "one"; }
    ]).config.n;
    wrongElementType = fails (eval [
      decls
      { a = [ 1 ]; }
    ]).config.a;
    conflicting = fails (eval [
      decls
      { n = 1; }
      { n = 2; }
    ]).config.n;
    readOnly = fails (eval [
      decls
      { ro = "changed"; }
    ]).config.ro;
    lines =
      (eval [
        decls
        { text = "one"; }
        { text = lib.mkAfter "two"; }
      ]).config.text == "one\ntwo";
    # An alias forwards its definitions to the target and reads it back.
    alias =
      let
        c =
          (eval [
            decls
            (lib.mkAliasOptionModule [ "a-alias" ] [ "a" ])
            { a-alias = [ "via-alias" ]; }
            { a = [ "direct" ]; }
          ]).config;
      in
      c.a == [
        "via-alias"
        "direct"
      ]
      && c.a-alias == c.a;
    aliasChecksType = fails (eval [
      decls
      (lib.mkAliasOptionModule [ "a-alias" ] [ "a" ])
      { a-alias = "not a list"; }
    ]).config.a;
    escapeShellArg =
      lib.escapeShellArg "11:00:00" == "11:00:00" && lib.escapeShellArg "Mon *-*-* 2:00" == "'Mon *-*-* 2:00'";
  };

  failed = builtins.filter (name: !tests.${name}) (builtins.attrNames tests);
in
if failed == [ ] then true else throw "minilib self-test failed: ${toString failed}"
