# A small stand-in for nixpkgs' `lib`, written for the tests: nixpkgs is not
# available on the test machines, yet nix/module.nix (a real NixOS module that
# knows nothing of this file) must be evaluated and its units rendered.
#
# It provides the subset of lib that nix/module.nix and tests/nix/nixos-stubs.nix
# use, with nixpkgs' semantics where they matter for the checks:
#   - option declarations (mkOption, mkEnableOption, mkPackageOption) with
#     types that check every definition (str, bool, ints, listOf, attrsOf,
#     nullOr, enum, either/oneOf, lines, path, package, submodule, ...);
#   - properties pushed down and discharged lazily as in lib/modules.nix
#     (mkIf, mkMerge, mkOverride/mkDefault/mkForce, mkOrder/mkBefore/mkAfter):
#     a mkIf condition is only evaluated where a value is merged, so a module
#     that would recurse infinitely under NixOS recurses here too;
#   - definitions of undeclared options are errors ("does not exist");
#   - read-only options, `apply`, and mkAliasOptionModule (the alias is
#     declared with the target's type and forwards its definitions);
#   - evalModules returning { config, options } with isDefined/definitions.
# What it does not model: option docs rendering, _module.args, disabledModules,
# freeformType, priorities of aliases beyond the highest one, type merging of
# repeated declarations.
let
  b = builtins;

  lib = rec {
    inherit (b)
      all
      any
      attrNames
      attrValues
      concatLists
      concatMap
      concatStringsSep
      elem
      elemAt
      filter
      foldl'
      genList
      hasAttr
      head
      isAttrs
      isBool
      isFloat
      isFunction
      isInt
      isList
      isPath
      isString
      length
      listToAttrs
      mapAttrs
      match
      replaceStrings
      stringLength
      substring
      tail
      toJSON
      typeOf
      ;

    # ---- general helpers -------------------------------------------------
    id = x: x;
    const = x: _: x;
    min = x: y: if x < y then x else y;
    last = l: elemAt l (length l - 1);
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalString = cond: s: if cond then s else "";
    optionalAttrs = cond: as: if cond then as else { };
    toList = x: if isList x then x else [ x ];
    flatten = x: if isList x then concatMap flatten x else [ x ];
    unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
    imap1 = f: list: genList (i: f (i + 1) (elemAt list i)) (length list);
    concatStrings = concatStringsSep "";
    concatMapStrings = f: list: concatStrings (map f list);
    concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);
    hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
    hasSuffix =
      suffix: s:
      let
        ls = stringLength s;
        lx = stringLength suffix;
      in
      lx <= ls && substring (ls - lx) lx s == suffix;
    hasInfix =
      infix: s:
      let
        li = stringLength infix;
        ls = stringLength s;
        from = i: i + li <= ls && (substring i li s == infix || from (i + 1));
      in
      from 0;
    removePrefix =
      prefix: s: if hasPrefix prefix s then substring (stringLength prefix) (stringLength s) s else s;
    removeSuffix =
      suffix: s:
      if hasSuffix suffix s then substring 0 (stringLength s - stringLength suffix) s else s;
    boolToString = x: if x then "true" else "false";
    nameValuePair = name: value: { inherit name value; };
    mapAttrsToList = f: as: map (n: f n as.${n}) (attrNames as);
    mapAttrs' = f: as: listToAttrs (mapAttrsToList f as);
    filterAttrs =
      pred: as:
      listToAttrs (concatMap (n: optional (pred n as.${n}) (nameValuePair n as.${n})) (attrNames as));
    genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
    # As nixpkgs: merges nested attribute sets, the right side wins elsewhere.
    recursiveUpdate =
      lhs: rhs:
      lhs
      // mapAttrs (
        n: r: if lhs ? ${n} && isAttrs lhs.${n} && isAttrs r then recursiveUpdate lhs.${n} r else r
      ) rhs;
    setAttrByPath = path: value: if path == [ ] then value else { ${head path} = setAttrByPath (tail path) value; };
    attrByPath =
      path: default: set:
      if path == [ ] then
        set
      else if isAttrs set && set ? ${head path} then
        attrByPath (tail path) default set.${head path}
      else
        default;
    getAttrFromPath =
      path: set: attrByPath path (throw "cannot find attribute `${concatStringsSep "." path}'") set;
    showOption = concatStringsSep ".";
    isDerivation = x: isAttrs x && (x.type or null) == "derivation";
    isStringLike = x: isString x || isPath x || (isAttrs x && (x ? outPath || x ? __toString));
    # As nixpkgs: only quote what needs quoting.
    escapeShellArg =
      arg:
      let
        s = toString arg;
      in
      if match "[[:alnum:],._+:@%/-]+" s != null then s else "'${replaceStrings [ "'" ] [ "'\\''" ] s}'";
    escapeShellArgs = concatMapStringsSep " " escapeShellArg;
    makeBinPath = concatMapStringsSep ":" (p: "${p}/bin");
    makeSearchPathOutput =
      _output: subDir: concatMapStringsSep ":" (p: "${p}/${subDir}");
    getExe =
      pkg:
      if pkg ? meta.mainProgram then
        "${pkg}/bin/${pkg.meta.mainProgram}"
      else
        throw "getExe: ${pkg.name or "package"} has no meta.mainProgram";
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    literalMD = text: {
      _type = "literalMD";
      inherit text;
    };

    # ---- properties ------------------------------------------------------
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkMerge = contents: {
      _type = "merge";
      inherit contents;
    };
    mkOverride = priority: content: {
      _type = "override";
      inherit priority content;
    };
    mkOptionDefault = mkOverride 1500;
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    defaultOverridePriority = 100;
    mkOrder = priority: content: {
      _type = "order";
      inherit priority content;
    };
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
    defaultOrderPriority = 1000;

    propertyType = v: if isAttrs v then v._type or null else null;

    # The values found at `path` inside a module's config, with the
    # properties met on the way pushed down onto them (lib/modules.nix:
    # pushDownProperties). Conditions are not evaluated here.
    valuesAt =
      path: v:
      let
        t = propertyType v;
      in
      if path == [ ] then
        [ v ]
      else if t == "if" then
        map (mkIf v.condition) (valuesAt path v.content)
      else if t == "merge" then
        concatMap (valuesAt path) v.contents
      else if t == "override" then
        map (mkOverride v.priority) (valuesAt path v.content)
      else if t == "order" then
        map (mkOrder v.priority) (valuesAt path v.content)
      else if isAttrs v then
        (if v ? ${head path} then valuesAt (tail path) v.${head path} else [ ])
      else
        throw "a definition of `${showOption path}' sits under a value that is not an attribute set";

    # mkIf and mkMerge resolved; mkOverride and mkOrder kept as wrappers.
    dischargeProperties =
      v:
      let
        t = propertyType v;
      in
      if t == "merge" then
        concatMap dischargeProperties v.contents
      else if t == "if" then
        if !isBool v.condition then
          throw "mkIf called with a non-Boolean condition"
        else if v.condition then
          dischargeProperties v.content
        else
          [ ]
      else if t == "override" then
        map (mkOverride v.priority) (dischargeProperties v.content)
      else if t == "order" then
        map (mkOrder v.priority) (dischargeProperties v.content)
      else
        [ v ];

    # lib/modules.nix mergeDefinitions: discharge, keep the highest priority,
    # sort by order, check every value against the type, merge.
    mergeDefinitions =
      loc: type: defs:
      let
        discharged = concatMap (
          d:
          map (v: {
            inherit (d) file;
            value = v;
          }) (dischargeProperties d.value)
        ) defs;
        prioOf = d: if propertyType d.value == "override" then d.value.priority else defaultOverridePriority;
        highestPrio = foldl' min 9999 (map prioOf discharged);
        kept = map (
          d: if propertyType d.value == "override" then d // { value = d.value.content; } else d
        ) (filter (d: prioOf d == highestPrio) discharged);
        orderOf = d: if propertyType d.value == "order" then d.value.priority else defaultOrderPriority;
        sorted = map (d: if propertyType d.value == "order" then d // { value = d.value.content; } else d) (
          b.sort (x: y: orderOf x < orderOf y) kept
        );
        checked = map (
          d:
          if type.check d.value then
            d
          else
            throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition value (in ${d.file}): ${showValue d.value}"
        ) sorted;
      in
      {
        defsFinal = checked;
        isDefined = checked != [ ];
        inherit highestPrio;
        mergedValue = type.merge loc checked;
      };

    showValue =
      v:
      if isString v then
        toJSON v
      else if isAttrs v || isList v then
        "<${typeOf v}>"
      else if isFunction v then
        "<function>"
      else
        toJSON v;

    # ---- options ---------------------------------------------------------
    mkOption = attrs: attrs // { _type = "option"; };
    isOption = v: isAttrs v && (v._type or null) == "option";
    mkEnableOption =
      name:
      mkOption {
        type = types.bool;
        default = false;
        example = true;
        description = "Whether to enable ${name}.";
      };
    mkPackageOption =
      pkgs: name:
      {
        default ? [ name ],
        pkgsText ? "pkgs",
        ...
      }:
      let
        path = toList default;
      in
      mkOption {
        type = types.package;
        default = attrByPath path (throw "${pkgsText}.${showOption path} does not exist") pkgs;
        defaultText = literalExpression "${pkgsText}.${showOption path}";
        description = "The ${toString name} package to use.";
      };

    # As nixpkgs' mkAliasOptionModule: `from` is declared with the type of
    # `to`, its definitions (at their priority) become definitions of `to`,
    # and reading `from` reads `to`.
    mkAliasOptionModule =
      from: to:
      { config, options, ... }:
      let
        fromOpt = getAttrFromPath from options;
        toOpt = getAttrFromPath to options;
      in
      {
        options = setAttrByPath from (mkOption {
          type = toOpt.type;
          visible = false;
          description = "Alias of `${showOption to}'.";
          apply = _: getAttrFromPath to config;
        });
        config = setAttrByPath to (
          mkIf fromOpt.isDefined (mkMerge (map (mkOverride fromOpt.highestPrio) fromOpt.definitions))
        );
      };

    # ---- types -----------------------------------------------------------
    mergeEqualOption =
      loc: defs:
      let
        first = head defs;
      in
      if defs == [ ] then
        throw "the option `${showOption loc}' has no definition"
      else if all (d: d.value == first.value) defs then
        first.value
      else
        throw "The option `${showOption loc}' has conflicting definition values: ${
          concatMapStringsSep ", " (d: "${showValue d.value} (in ${d.file})") defs
        }";

    mkOptionType =
      {
        name,
        description ? name,
        check ? (_: true),
        merge ? mergeEqualOption,
        ...
      }@attrs:
      attrs
      // {
        _type = "option-type";
        inherit
          name
          description
          check
          merge
          ;
      };

    types = rec {
      unspecified = mkOptionType {
        name = "unspecified";
        merge =
          loc: defs:
          let
            values = map (d: d.value) defs;
          in
          if all isList values then concatLists values else mergeEqualOption loc defs;
      };
      raw = mkOptionType { name = "raw"; };
      anything = unspecified;
      bool = mkOptionType {
        name = "bool";
        description = "boolean";
        check = isBool;
      };
      int = mkOptionType {
        name = "int";
        description = "signed integer";
        check = isInt;
      };
      float = mkOptionType {
        name = "float";
        check = isFloat;
      };
      ints = {
        between =
          lo: hi:
          mkOptionType {
            name = "intBetween";
            description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
            check = x: isInt x && x >= lo && x <= hi;
          };
        unsigned = mkOptionType {
          name = "unsignedInt";
          description = "unsigned integer, meaning >=0";
          check = x: isInt x && x >= 0;
        };
        positive = mkOptionType {
          name = "positiveInt";
          description = "positive integer, meaning >0";
          check = x: isInt x && x > 0;
        };
      };
      port = ints.between 0 65535;
      str = mkOptionType {
        name = "str";
        description = "string";
        check = isString;
      };
      nonEmptyStr = mkOptionType {
        name = "nonEmptyStr";
        description = "non-empty string";
        check = x: isString x && match "[ \t\n]*" x == null;
      };
      strMatching =
        pattern:
        mkOptionType {
          name = "strMatching ${toJSON pattern}";
          description = "string matching the pattern ${pattern}";
          check = x: isString x && match pattern x != null;
        };
      lines = mkOptionType {
        name = "lines";
        description = "strings concatenated with \"\\n\"";
        check = isString;
        merge = _loc: defs: concatStringsSep "\n" (map (d: d.value) defs);
      };
      # As nixpkgs: a path or a string-like value that starts with "/".
      path = mkOptionType {
        name = "path";
        check = x: isStringLike x && substring 0 1 (toString x) == "/";
      };
      package = mkOptionType {
        name = "package";
        check = x: isDerivation x || isStringLike x;
      };
      enum =
        values:
        mkOptionType {
          name = "enum";
          description = "one of ${concatMapStringsSep ", " toJSON values}";
          check = x: elem x values;
        };
      listOf =
        elemType:
        mkOptionType {
          name = "listOf";
          description = "list of ${elemType.description}";
          check = isList;
          merge =
            loc: defs:
            concatLists (
              imap1 (
                n: d:
                concatLists (
                  imap1 (
                    m: v:
                    let
                      r = mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) elemType [
                        {
                          inherit (d) file;
                          value = v;
                        }
                      ];
                    in
                    optional r.isDefined r.mergedValue
                  ) d.value
                )
              ) defs
            );
          inherit elemType;
        };
      attrsOf =
        elemType:
        mkOptionType {
          name = "attrsOf";
          description = "attribute set of ${elemType.description}";
          check = isAttrs;
          merge =
            loc: defs:
            let
              names = unique (concatMap (d: attrNames d.value) defs);
              merged =
                n:
                mergeDefinitions (loc ++ [ n ]) elemType (
                  concatMap (
                    d:
                    optional (d.value ? ${n}) {
                      inherit (d) file;
                      value = d.value.${n};
                    }
                  ) defs
                );
            in
            listToAttrs (
              concatMap (
                n:
                let
                  r = merged n;
                in
                optional r.isDefined (nameValuePair n r.mergedValue)
              ) names
            );
          inherit elemType;
        };
      nullOr =
        elemType:
        mkOptionType {
          name = "nullOr";
          description = "null or ${elemType.description}";
          check = x: x == null || elemType.check x;
          merge =
            loc: defs:
            let
              nulls = length (filter (d: d.value == null) defs);
            in
            if nulls == length defs then
              null
            else if nulls == 0 then
              elemType.merge loc defs
            else
              throw "The option `${showOption loc}' is defined both null and not null";
        };
      either =
        t1: t2:
        mkOptionType {
          name = "either";
          description = "${t1.description} or ${t2.description}";
          check = x: t1.check x || t2.check x;
          merge =
            loc: defs:
            let
              values = map (d: d.value) defs;
            in
            if all t1.check values then
              t1.merge loc defs
            else if all t2.check values then
              t2.merge loc defs
            else
              mergeEqualOption loc defs;
        };
      oneOf = ts: foldl' either (head ts) (tail ts);
      submodule = modules: submoduleWith { modules = toList modules; };
      submoduleWith =
        {
          modules,
          specialArgs ? { },
        }:
        mkOptionType {
          name = "submodule";
          check = x: isAttrs x || isFunction x;
          merge =
            loc: defs:
            (evalModules {
              modules =
                modules
                ++ map (
                  d:
                  if isFunction d.value then
                    d.value
                  else
                    {
                      _file = d.file;
                      config = d.value;
                    }
                ) defs;
              specialArgs = specialArgs // {
                name = last loc;
              };
              prefix = loc;
            }).config;
        };
    };

    # ---- evaluation ------------------------------------------------------
    # modules: paths, functions or attribute sets, with `imports`, `options`
    # and `config` (or config alone, as shorthand). specialArgs: extra module
    # arguments (pkgs, name). Returns { config, options }.
    evalModules =
      {
        modules,
        specialArgs ? { },
        prefix ? [ ],
      }:
      let
        args = specialArgs // {
          inherit lib config options;
        };

        load =
          file: m:
          let
            imported = if isPath m || isString m then import m else m;
            here = if isPath m || isString m then toString m else file;
            value = if isFunction imported then imported args else imported;
            # As lib/modules.nix unifyModuleSyntax: without `options` and
            # `config`, everything but `imports` and `_file` is config.
            structured = value ? options || value ? config;
            norm =
              if structured then
                value
              else
                {
                  imports = value.imports or [ ];
                  config = removeAttrs value [
                    "_file"
                    "imports"
                  ];
                };
            where = value._file or here;
          in
          [
            {
              file = where;
              options = norm.options or { };
              config = norm.config or { };
            }
          ]
          ++ concatMap (load where) (norm.imports or [ ]);

        collected = concatMap (load "<module>") modules;

        # One tree of declarations; an option declared twice is an error.
        mergeDecls =
          loc: acc: new:
          acc
          // mapAttrs (
            n: v:
            if !(acc ? ${n}) then
              v
            else if isOption v || isOption acc.${n} then
              throw "The option `${showOption (prefix ++ loc ++ [ n ])}' is declared twice."
            else
              mergeDecls (loc ++ [ n ]) acc.${n} v
          ) new;
        declarations = foldl' (acc: m: mergeDecls [ ] acc m.options) { } collected;

        evalOption =
          loc: opt:
          let
            type = opt.type or types.unspecified;
            defs = concatMap (
              m:
              map (v: {
                inherit (m) file;
                value = v;
              }) (valuesAt loc m.config)
            ) collected;
            withDefault =
              optional (opt ? default) {
                file = "the default of `${showOption (prefix ++ loc)}'";
                value = mkOptionDefault opt.default;
              }
              ++ defs;
            merged = mergeDefinitions (prefix ++ loc) type withDefault;
            readOnlyChecked =
              if (opt.readOnly or false) && length withDefault > 1 then
                throw "The option `${showOption (prefix ++ loc)}' is read-only, but it is set."
              else
                merged;
          in
          opt
          // {
            inherit type;
            inherit (readOnlyChecked) isDefined highestPrio;
            definitions = map (d: d.value) readOnlyChecked.defsFinal;
            value =
              if readOnlyChecked.isDefined then
                (opt.apply or id) readOnlyChecked.mergedValue
              else
                throw "The option `${showOption (prefix ++ loc)}' is used but not defined.";
          };

        evalTree =
          loc: tree:
          mapAttrs (
            n: v: if isOption v then evalOption (loc ++ [ n ]) v else evalTree (loc ++ [ n ]) v
          ) tree;
        options = evalTree [ ] declarations;

        valueTree = tree: mapAttrs (_: v: if isOption v then v.value else valueTree v) tree;

        # Every definition must land on a declared option (NixOS: "The option
        # `x' does not exist"). Walks keys only: no condition is evaluated.
        checkDefined =
          loc: decl: v:
          let
            t = propertyType v;
          in
          if isOption decl then
            true
          else if t == "if" || t == "override" || t == "order" then
            checkDefined loc decl v.content
          else if t == "merge" then
            all (checkDefined loc decl) v.contents
          else if isAttrs v then
            all (
              n:
              if decl ? ${n} then
                checkDefined (loc ++ [ n ]) decl.${n} v.${n}
              else
                throw "The option `${showOption (prefix ++ loc ++ [ n ])}' does not exist."
            ) (attrNames v)
          else
            throw "`${showOption (prefix ++ loc)}' is a set of options, not an option: it cannot be set to a ${typeOf v}.";
        allDefined = all (m: checkDefined [ ] declarations m.config) collected;

        config = if allDefined then valueTree options else throw "unreachable";
      in
      {
        inherit options config;
      };
  };
in
lib
