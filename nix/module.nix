# NixOS module: hot and cold backups of an Odoo server with odbox-backup.
#
#   odbox.backup = {
#     basedir = "/backup";
#     odoo = {
#       enable = true;
#       hot-schedule = [ "11:00:00" "14:00:00" "16:00:00" ];
#       cold-schedule = [ "02:00:00" ];
#     };
#   };
#
# generates odbox-backup-hot.service/.timer and odbox-backup-cold.service/.timer
# (a timer only for a non-empty schedule), one `OnCalendar=` line per schedule
# entry, the backup area (0700, root) through systemd-tmpfiles, and the cold
# unit's safety net (`ExecStopPost=odbox-backup cold-recover` starts Odoo
# again even after a SIGKILL). Every schedule entry is checked with
# `systemd-analyze calendar` when the system is built.
#
# With `odbox.backup.offsite.enable`, each run also pushes its backup to a
# restic repository (off-site generations), and two more timers forget old
# generations and check the repository (odbox-backup-offsite-forget and
# odbox-backup-offsite-check, one `OnCalendar=` line per entry).
#
# The binary reads one JSON file (`--config`): it is rendered from the
# options below, with `odbox.backup.odoo.settings` laid over them (RFC 42).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.odbox.backup;
  odoo = cfg.odoo;
  pg = odoo.postgres;
  offsite = cfg.offsite;

  format = pkgs.formats.json { };

  # What the options say, in the binary's configuration keys.
  derivedSettings =
    {
      basedir = cfg.basedir;
      databases = odoo.databases;
      data_dir = odoo.dataDir;
      odoo_service = odoo.unit;
      # Absolute tool paths: the units do not depend on PATH, and pg_dump is
      # the local server's own version (pg_dump must not be older).
      tools = {
        pg_dump = "${pg.package}/bin/pg_dump";
        psql = "${pg.package}/bin/psql";
        rsync = "${pkgs.rsync}/bin/rsync";
        systemctl = "${config.systemd.package}/bin/systemctl";
      }
      // lib.optionalAttrs offsite.enable { restic = "${offsite.package}/bin/restic"; };
      cold = {
        full_downtime = odoo.fullDowntime;
        sessions_keep_days = odoo.sessionsKeepDays;
        stop_timeout_seconds = odoo.stopTimeout;
        start_timeout_seconds = odoo.startTimeout;
        marker_dir = "/run/odbox-backup";
      };
    }
    // lib.optionalAttrs (odoo.sessionsDir != null) { sessions_dir = odoo.sessionsDir; }
    // lib.optionalAttrs (pg.conninfo != null) { postgres.conninfo = pg.conninfo; }
    // lib.optionalAttrs (odoo.metricsFile != null) { metrics_file = odoo.metricsFile; }
    // lib.optionalAttrs offsite.enable { offsite = offsiteSettings; };

  offsiteSettings = {
    repository = offsite.repository;
    password_file = offsite.passwordFile;
    push_after = offsite.pushAfter;
    keep = offsite.keep;
    init = offsite.init;
  }
  // lib.optionalAttrs (offsite.environmentFile != null) {
    environment_file = offsite.environmentFile;
  };

  # `settings` wins over the options: it is the escape hatch for every key.
  settings = lib.recursiveUpdate derivedSettings odoo.settings;

  # The paths the units work on, read back from the final settings so that a
  # key overridden in `settings` is also what the sandbox and tmpfiles see.
  basedir = settings.basedir;
  dataDir = settings.data_dir;
  markerDir = settings.cold.marker_dir;
  writablePaths = lib.unique (
    [
      basedir
      dataDir # cold purges <data_dir>/sessions
      markerDir
    ]
    ++ lib.optional (settings ? sessions_dir) settings.sessions_dir
    ++ lib.optional (settings ? metrics_file) (dirOf settings.metrics_file)
  );

  offsiteForgetSchedule = lib.optionals offsite.enable offsite.forgetSchedule;
  offsiteCheckSchedule = lib.optionals offsite.enable offsite.checkSchedule;

  isAbsolute = p: lib.hasPrefix "/" p;
  isInside = parent: child: lib.hasPrefix (lib.removeSuffix "/" parent + "/") child;

  exe = lib.getExe cfg.package;
  run = command: "${exe} --config ${odoo.configFile} ${command}";

  # Every schedule entry through systemd's own parser, at build time: a typo
  # fails `nixos-rebuild`, not the backup at 2 AM. An entry that never elapses
  # again (a date in the past) is refused too. The timers reference this
  # derivation, so building the system builds it.
  schedulesChecked =
    pkgs.runCommand "odbox-backup-schedules-checked"
      {
        nativeBuildInputs = [ config.systemd.package ];
        preferLocalBuild = true;
        allowSubstitutes = false;
      }
      ''
        status=0
        check() { # $1: option below odbox.backup, $2: calendar expression
          if ! parsed=$(systemd-analyze calendar "$2" 2>&1); then
            echo "odbox.backup.$1: '$2' is not a valid systemd calendar expression (see systemd.time(7)):" >&2
            echo "$parsed" >&2
            status=1
          elif grep -q 'Next elapse: never' <<<"$parsed"; then
            echo "odbox.backup.$1: '$2' never elapses again" >&2
            status=1
          else
            echo "$1 '$2': $(grep 'Normalized form:' <<<"$parsed")" >>"$out"
          fi
        }
        touch "$out"
        ${lib.concatMapStrings (e: "check odoo.hotSchedule ${lib.escapeShellArg e}\n") odoo.hotSchedule}
        ${lib.concatMapStrings (e: "check odoo.coldSchedule ${lib.escapeShellArg e}\n") odoo.coldSchedule}
        ${lib.concatMapStrings (e: "check offsite.forgetSchedule ${lib.escapeShellArg e}\n") offsiteForgetSchedule}
        ${lib.concatMapStrings (e: "check offsite.checkSchedule ${lib.escapeShellArg e}\n") offsiteCheckSchedule}
        exit "$status"
      '';

  # [Service] settings shared by both services, mostly sandboxing. The tool
  # runs as root: it reads the file store of Odoo's (dynamic) user, writes the
  # root-only backup area and stops/starts Odoo through systemctl.
  commonServiceConfig = {
    Type = "oneshot";
    UMask = "0077";
    ProtectSystem = "strict";
    # "-": a missing path is reported by the tool itself, with a clear message.
    ReadWritePaths = map (p: "-${p}") writablePaths;
    ProtectHome = "read-only";
    PrivateTmp = true;
    PrivateDevices = true;
    NoNewPrivileges = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    RestrictNamespaces = true;
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [ "@system-service" ];
    RestrictAddressFamilies = [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
      "AF_NETLINK"
    ];
    # Read and mirror files of any owner, keep their ownership (rsync -a).
    CapabilityBoundingSet = [
      "CAP_CHOWN"
      "CAP_DAC_OVERRIDE"
      "CAP_DAC_READ_SEARCH"
      "CAP_FOWNER"
      "CAP_FSETID"
    ];
    # SIGTERM reaches the tool alone; it stops its children and, in a cold
    # run, starts Odoo again before it exits.
    KillMode = "mixed";
  };

  backupService =
    { kind, description }:
    {
      inherit description;
      after =
        lib.optional pg.local "postgresql.service"
        ++ lib.optional (!pg.local || pushes kind) "network-online.target";
      requires = lib.optional pg.local "postgresql.service";
      wants = lib.optional (!pg.local || pushes kind) "network-online.target";
      onFailure = odoo.onFailure;
      # A deploy must never restart (kill) a running backup.
      restartIfChanged = false;
      environment = lib.optionalAttrs (pg.passwordFile != null) { PGPASSFILE = pg.passwordFile; };
      unitConfig.RequiresMountsFor = [
        basedir
        dataDir
      ];
      # A scheduled run waits for a running one instead of failing with
      # "locked" (exit 3); TimeoutStartSec bounds the whole run.
      serviceConfig = commonServiceConfig // {
        ExecStart = run "${kind} --wait-lock";
      };
    };

  # Whether runs of `kind` push to the off-site repository (they need the network).
  pushes = kind: offsite.enable && lib.elem kind offsite.pushAfter;

  # odbox-backup-offsite-forget and -check: the repository only (no
  # PostgreSQL, no Odoo); restic's cache and the check's scratch copy go
  # below the backup area.
  offsiteService =
    { description, command }:
    {
      inherit description;
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      onFailure = odoo.onFailure;
      restartIfChanged = false;
      unitConfig.RequiresMountsFor = [ basedir ];
      serviceConfig = commonServiceConfig // {
        ExecStart = run command;
        ReadWritePaths = [ "-${basedir}" ];
        TimeoutStartSec = offsite.timeout;
        Nice = 10;
        IOSchedulingClass = "best-effort";
        IOSchedulingPriority = 7;
      };
    };

  offsiteTimer =
    { action, schedule }:
    {
      description = "odbox-backup: off-site ${action} on schedule";
      wantedBy = [ "timers.target" ];
      unitConfig."X-Schedules-Checked" = schedulesChecked;
      timerConfig = {
        OnCalendar = schedule; # one OnCalendar= line per entry
        Unit = "odbox-backup-offsite-${action}.service";
        Persistent = true;
      };
    };

  # `%` starts a specifier in unit files.
  checkCommand =
    "offsite check"
    + lib.optionalString (offsite.readDataSubset != null)
      " --read-data-subset ${builtins.replaceStrings [ "%" ] [ "%%" ] offsite.readDataSubset}";

  backupTimer =
    { kind, schedule }:
    {
      description = "odbox-backup: ${kind} backup of Odoo on schedule";
      wantedBy = [ "timers.target" ];
      unitConfig."X-Schedules-Checked" = schedulesChecked;
      timerConfig = {
        OnCalendar = schedule; # one OnCalendar= line per entry
        Unit = "odbox-backup-${kind}.service";
      };
    };

  rootOnlyDir = {
    d = {
      mode = "0700";
      user = "root";
      group = "root";
    };
  };
in
{
  imports = [
    # The seed's spelling of the schedule options.
    (lib.mkAliasOptionModule
      [ "odbox" "backup" "odoo" "hot-schedule" ]
      [ "odbox" "backup" "odoo" "hotSchedule" ]
    )
    (lib.mkAliasOptionModule
      [ "odbox" "backup" "odoo" "cold-schedule" ]
      [ "odbox" "backup" "odoo" "coldSchedule" ]
    )
  ];

  options.odbox.backup = {
    basedir = lib.mkOption {
      type = lib.types.str;
      default = "/backup";
      example = "/mnt/backup";
      description = ''
        Absolute path of the backup area. It is created when missing (it is
        typically the mount point of a dedicated disk), owned by root with
        mode 0700; Odoo backups go to its `odoo/` subdirectory.
      '';
    };

    package = lib.mkPackageOption pkgs "odbox-backup" { };

    odoo = {
      enable = lib.mkEnableOption "hot and cold backups of the Odoo database and file store";

      hotSchedule = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [
          "11:00:00"
          "14:00:00"
          "16:00:00"
        ];
        description = ''
          When to run a hot backup (Odoo keeps running): a list of systemd
          calendar expressions, see {manpage}`systemd.time(7)`; each entry
          becomes one `OnCalendar=` line. Missed runs (machine off) are caught
          up at boot. Also settable as `hot-schedule`.
        '';
      };

      coldSchedule = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "02:00:00" ];
        description = ''
          When to run a cold backup (Odoo is stopped for a short while): a
          list of systemd calendar expressions, one `OnCalendar=` line each.
          Missed runs are not caught up at boot, which would stop Odoo in
          business hours. Also settable as `cold-schedule`.
        '';
      };

      databases = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ "odoo" ];
        example = [
          "odoo"
          "odoo_staging"
        ];
        description = "Odoo databases to back up, one after the other in each run.";
      };

      dataDir = lib.mkOption {
        type = lib.types.str;
        default = "/var/lib/private/odoo/data";
        example = "/var/lib/odoo/.local/share/Odoo";
        description = ''
          Odoo's `data_dir`, holding `filestore/` and `sessions/`. The default
          is where NixOS' `services.odoo` (a DynamicUser service) keeps it.
        '';
      };

      sessionsDir = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        description = "Odoo's sessions directory; `null` means `<dataDir>/sessions`.";
      };

      unit = lib.mkOption {
        type = lib.types.str;
        default = "odoo.service";
        description = "The systemd unit that runs Odoo; a cold backup stops and starts it.";
      };

      postgres = {
        local = lib.mkOption {
          type = lib.types.bool;
          default = config.services.postgresql.enable;
          defaultText = lib.literalExpression "config.services.postgresql.enable";
          description = ''
            Whether the databases are on this machine's `services.postgresql`.
            The backup units then require `postgresql.service` and, unless
            {option}`odbox.backup.odoo.postgres.configureLocalAccess` is off,
            log in over the Unix socket by peer authentication.
          '';
        };

        package = lib.mkOption {
          type = lib.types.package;
          default = if pg.local then config.services.postgresql.package else pkgs.postgresql;
          defaultText = lib.literalExpression "if local then config.services.postgresql.package else pkgs.postgresql";
          description = ''
            PostgreSQL package whose `pg_dump` and `psql` are used: its major
            version must be at least the server's.
          '';
        };

        user = lib.mkOption {
          type = lib.types.str;
          default = "postgres";
          description = ''
            PostgreSQL role the backup logs in as. It must be able to lock and
            read every table of the databases (the superuser, or their owner).
          '';
        };

        conninfo = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default =
            if pg.local then
              "host=/run/postgresql port=${toString (config.services.postgresql.settings.port or 5432)} user=${pg.user}"
            else
              null;
          defaultText = lib.literalExpression ''
            if local then "host=/run/postgresql port=<services.postgresql port> user=''${user}" else null
          '';
          example = "host=db.internal port=5432 user=odoo_backup sslmode=verify-full";
          description = ''
            libpq connection string (without a database name and without a
            password). `null`: the libpq environment decides (`PGHOST`, ...).
          '';
        };

        passwordFile = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          example = "/run/keys/odbox-backup.pgpass";
          description = ''
            A libpq password file (`PGPASSFILE`, see the PostgreSQL manual,
            "The Password File"), readable by root, for a remote server.
          '';
        };

        configureLocalAccess = lib.mkOption {
          type = lib.types.bool;
          default = true;
          description = ''
            When the database is local: map the OS user root to the role
            {option}`odbox.backup.odoo.postgres.user` for peer authentication
            on the Unix socket (`services.postgresql.identMap` and
            `authentication`). Without such a mapping root cannot log in, and
            every backup fails (loudly: odbox-backup never writes an empty
            dump).
          '';
        };
      };

      fullDowntime = lib.mkOption {
        type = lib.types.bool;
        default = false;
        description = ''
          Keep Odoo stopped for the whole cold backup (dump included), as the
          original design did. By default Odoo is started again as soon as the
          snapshot is taken and the file store copied.
        '';
      };

      sessionsKeepDays = lib.mkOption {
        type = lib.types.ints.unsigned;
        default = 0;
        description = ''
          Cold backups purge Odoo's session files while Odoo is stopped; keep
          those modified in the last N days (0: purge all, users log in again).
        '';
      };

      stopTimeout = lib.mkOption {
        type = lib.types.ints.positive;
        default = 120;
        description = "Seconds Odoo may take to stop before a cold backup gives up (and starts it again).";
      };

      startTimeout = lib.mkOption {
        type = lib.types.ints.positive;
        default = 120;
        description = "Seconds Odoo may take to start again after a cold backup.";
      };

      hotTimeout = lib.mkOption {
        type = lib.types.str;
        default = "4h";
        description = "Longest run of a hot backup (`TimeoutStartSec=`, a systemd time span).";
      };

      coldTimeout = lib.mkOption {
        type = lib.types.str;
        default = "4h";
        description = ''
          Longest run of a cold backup (`TimeoutStartSec=`). On timeout systemd
          stops the run; the tool, or `cold-recover` after it, starts Odoo again.
        '';
      };

      metricsFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/var/lib/prometheus-node-exporter-text-files/odbox-backup.prom";
        description = "Where to write Prometheus metrics after each run (node_exporter's textfile collector).";
      };

      onFailure = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "notify-admin@%n.service" ];
        description = "Units to start when a backup fails (`OnFailure=`), e.g. to send a mail.";
      };

      configFile = lib.mkOption {
        type = lib.types.path;
        readOnly = true;
        default = format.generate "odbox-backup.json" settings;
        defaultText = lib.literalMD "a JSON file generated from the options above and `settings`";
        description = ''
          The configuration file the units pass to odbox-backup (`--config`),
          for reading: run `odbox-backup --config <this file> status` by hand.
        '';
      };

      settings = lib.mkOption {
        type = format.type;
        default = { };
        example = {
          log_level = "debug";
          lock_wait_timeout_seconds = 900;
        };
        description = ''
          Extra keys of odbox-backup's JSON configuration file (see the
          README), laid over those the options above produce.
        '';
      };
    };

    offsite = {
      enable = lib.mkEnableOption "off-site generations of the backups through restic (encrypted, compressed, deduplicated)";

      package = lib.mkPackageOption pkgs "restic" { };

      repository = lib.mkOption {
        type = lib.types.str;
        example = "s3:s3.eu-central-1.amazonaws.com/acme-backups/odoo";
        description = ''
          The restic repository (any restic repository string: a path,
          `sftp:`, `rest:`, `s3:`, `b2:`, `azure:`, `gs:`, `rclone:`). It
          may hold credentials (`rest:https://user:password@host/`): the
          units pass it to restic through its environment only.
        '';
      };

      passwordFile = lib.mkOption {
        type = lib.types.str;
        example = "/run/keys/odbox-restic.pass";
        description = ''
          File holding the repository password, owned by root and not
          readable by group or others (the tool refuses it otherwise).
        '';
      };

      environmentFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/run/keys/odbox-restic.env";
        description = ''
          Backend credentials as `KEY=VALUE` lines (`AWS_ACCESS_KEY_ID=...`,
          `AWS_SECRET_ACCESS_KEY=...`, `B2_ACCOUNT_ID=...`), root-only like
          the password file; passed to restic through its environment.
        '';
      };

      pushAfter = lib.mkOption {
        type = lib.types.listOf (
          lib.types.enum [
            "hot"
            "cold"
          ]
        );
        default = [
          "hot"
          "cold"
        ];
        description = ''
          The runs after which the backup just written is pushed (exit 6
          when the push fails). A failed run pushes nothing.
        '';
      };

      keep = lib.mkOption {
        type = lib.types.submodule {
          options = {
            last = lib.mkOption {
              type = lib.types.ints.positive;
              default = 3;
              description = "The newest generations kept whatever their age (at least 1).";
            };
            hourly = lib.mkOption {
              type = lib.types.ints.unsigned;
              default = 0;
              description = "Hours for which the newest generation is kept.";
            };
            daily = lib.mkOption {
              type = lib.types.ints.unsigned;
              default = 7;
              description = "Days for which the newest generation is kept.";
            };
            weekly = lib.mkOption {
              type = lib.types.ints.unsigned;
              default = 4;
              description = "Weeks for which the newest generation is kept.";
            };
            monthly = lib.mkOption {
              type = lib.types.ints.unsigned;
              default = 12;
              description = "Months for which the newest generation is kept.";
            };
            yearly = lib.mkOption {
              type = lib.types.ints.unsigned;
              default = 0;
              description = "Years for which the newest generation is kept.";
            };
          };
        };
        default = { };
        description = ''
          What `offsite forget` keeps of each database and kind (restic's
          `--keep-*` rules); everything else is forgotten and pruned.
        '';
      };

      init = lib.mkOption {
        type = lib.types.bool;
        default = false;
        description = "Create the repository on the first push when it is missing.";
      };

      forgetSchedule = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "Sun 04:00" ];
        description = ''
          When to forget old generations and prune (`offsite forget`), one
          `OnCalendar=` line per entry. Prune locks the repository, so it
          has a timer of its own; leave it empty on an append-only server
          and run forget from a trusted machine.
        '';
      };

      checkSchedule = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "Sun 05:00" ];
        description = ''
          When to check the repository and the newest generation of each
          database (`offsite check`), one `OnCalendar=` line per entry.
        '';
      };

      readDataSubset = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "5%";
        description = "`--read-data-subset` of the scheduled check (restic: `n/t`, `x%` or a size).";
      };

      timeout = lib.mkOption {
        type = lib.types.str;
        default = "12h";
        description = "Longest run of a scheduled forget or check (`TimeoutStartSec=`).";
      };
    };
  };

  config = lib.mkMerge [
    {
      # The off-site settings live in the configuration file of the backups.
      assertions = [
        {
          assertion = !offsite.enable || odoo.enable;
          message = "odbox.backup.offsite.enable needs odbox.backup.odoo.enable: off-site generations are of the Odoo backups.";
        }
      ];
    }
    (lib.mkIf odoo.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = isAbsolute basedir;
            message = "odbox.backup.basedir must be an absolute path, not '${basedir}'.";
          }
          {
            assertion = isAbsolute dataDir;
            message = "odbox.backup.odoo.dataDir must be an absolute path, not '${dataDir}'.";
          }
          {
            assertion = !(isInside dataDir basedir || isInside basedir dataDir || basedir == dataDir);
            message = "odbox.backup.basedir (${basedir}) and odbox.backup.odoo.dataDir (${dataDir}) must not contain each other.";
          }
          {
            assertion = odoo.hotSchedule != [ ] || odoo.coldSchedule != [ ];
            message = "odbox.backup.odoo.enable is set but both hotSchedule and coldSchedule are empty: no backup would ever run.";
          }
          {
            assertion = settings.databases != [ ];
            message = "odbox.backup.odoo.databases must name at least one database.";
          }
          {
            assertion = !offsite.enable || (offsite.repository != "" && isAbsolute offsite.passwordFile);
            message = "odbox.backup.offsite needs a repository and an absolute passwordFile.";
          }
          {
            assertion = !offsite.enable || offsite.environmentFile == null || isAbsolute offsite.environmentFile;
            message = "odbox.backup.offsite.environmentFile must be an absolute path.";
          }
          {
            assertion = builtins.match "[a-zA-Z0-9@%:_.\\-]+[.]service" odoo.unit != null;
            message = "odbox.backup.odoo.unit must be a service unit name such as odoo.service, not '${odoo.unit}'.";
          }
        ];

        warnings =
          lib.optional (pg.local && !pg.configureLocalAccess && pg.conninfo == null)
            "odbox.backup.odoo: PostgreSQL is local but configureLocalAccess is off and no conninfo is set: make sure root can log in, or every backup will fail.";

        # The backup area and the cold run's marker directory: root only. A
        # `d` line also corrects the mode of an existing directory.
        systemd.tmpfiles.settings."10-odbox-backup" = {
          "${basedir}" = rootOnlyDir;
          "${basedir}/odoo" = rootOnlyDir;
          "${markerDir}" = rootOnlyDir;
        };

        systemd.services.odbox-backup-hot = lib.mkMerge [
          (backupService {
            kind = "hot";
            description = "odbox-backup: hot backup of Odoo (database and file store, Odoo running)";
          })
          {
            serviceConfig = {
              TimeoutStartSec = odoo.hotTimeout;
              # Leave the disks to Odoo first.
              Nice = 10;
              IOSchedulingClass = "best-effort";
              IOSchedulingPriority = 7;
            };
          }
        ];

        systemd.services.odbox-backup-cold = lib.mkMerge [
          (backupService {
            kind = "cold";
            description = "odbox-backup: cold backup of Odoo (stops Odoo briefly, purges sessions)";
          })
          {
            # Never started by a deploy; only by its timer or an admin.
            unitConfig."X-OnlyManualStart" = true;
            serviceConfig = {
              TimeoutStartSec = odoo.coldTimeout;
              # After SIGTERM the tool starts Odoo again and waits for it.
              TimeoutStopSec = "${toString (settings.cold.start_timeout_seconds + 60)}s";
              # The safety net: runs after success, failure, timeout and
              # SIGKILL alike, and starts Odoo again if a marker says that a
              # run stopped it and did not start it.
              ExecStopPost = run "cold-recover";
            };
          }
        ];

        # Hot: catch up a run missed while the machine was off.
        systemd.timers.odbox-backup-hot = lib.mkIf (odoo.hotSchedule != [ ]) (
          lib.mkMerge [
            (backupTimer {
              kind = "hot";
              schedule = odoo.hotSchedule;
            })
            { timerConfig.Persistent = true; }
          ]
        );

        # Cold: never catch up at boot (that would stop Odoo in business
        # hours), and never started by a deploy.
        systemd.timers.odbox-backup-cold = lib.mkIf (odoo.coldSchedule != [ ]) (
          lib.mkMerge [
            (backupTimer {
              kind = "cold";
              schedule = odoo.coldSchedule;
            })
            {
              unitConfig."X-OnlyManualStart" = true;
              timerConfig.Persistent = false;
            }
          ]
        );

        systemd.services.odbox-backup-offsite-forget = lib.mkIf offsite.enable (offsiteService {
          description = "odbox-backup: forget old off-site generations and prune the repository";
          command = "offsite forget";
        });
        systemd.services.odbox-backup-offsite-check = lib.mkIf offsite.enable (offsiteService {
          description = "odbox-backup: check the off-site repository and its newest generations";
          command = checkCommand;
        });
        systemd.timers.odbox-backup-offsite-forget = lib.mkIf (offsiteForgetSchedule != [ ]) (
          offsiteTimer {
            action = "forget";
            schedule = offsiteForgetSchedule;
          }
        );
        systemd.timers.odbox-backup-offsite-check = lib.mkIf (offsiteCheckSchedule != [ ]) (
          offsiteTimer {
            action = "check";
            schedule = offsiteCheckSchedule;
          }
        );

        # For the admin at a shell: `odbox-backup --config
        # /etc/odbox-backup/config.json status`, as on other distributions.
        environment.systemPackages = [ cfg.package ];
        environment.etc."odbox-backup/config.json".source = odoo.configFile;
      }

      # Local PostgreSQL: let root log in as the backup role by peer
      # authentication. The second map line keeps `postgres` itself working
      # (NixOS' own setup scripts log in as postgres over this socket).
      (lib.mkIf (pg.local && pg.configureLocalAccess) {
        services.postgresql.identMap = ''
          odbox-backup root ${pg.user}
          odbox-backup ${pg.user} ${pg.user}
        '';
        services.postgresql.authentication = ''
          local all ${pg.user} peer map=odbox-backup
        '';
      })
    ]
  ))
  ];
}
