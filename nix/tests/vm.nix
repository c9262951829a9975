# NixOS VM test of the module (flake check `vm`, needs KVM):
#   nix build .#checks.x86_64-linux.vm -L
#
# One machine with PostgreSQL and a stand-in for services.odoo (same unit
# name, DynamicUser `odoo`, data dir /var/lib/private/odoo/data, database
# `odoo` owned by role `odoo`) that keeps writing attachments the way Odoo
# does. The module is configured as in the seed's example. The test script
# (vm_test_script.py) checks the timers, runs a hot and a cold backup, and
# kills a cold run with SIGKILL while Odoo is stopped: Odoo must run again.
{ odboxModule }:
{ lib, ... }:
{
  name = "odbox-backup";

  nodes.machine =
    { config, pkgs, ... }:
    let
      # Writes each attachment file before committing its row (as Odoo does)
      # and leaves a session file per "request". Stops slowly (10 s after
      # SIGTERM) so that the test can catch a cold run while Odoo is down.
      odooStandin = pkgs.writeShellApplication {
        name = "odoo-standin";
        runtimeInputs = [
          config.services.postgresql.package
          pkgs.coreutils
        ];
        text = ''
          data=/var/lib/odoo/data
          mkdir -p "$data/filestore/odoo" "$data/sessions"
          psql -d odoo -v ON_ERROR_STOP=1 -q <<'SQL'
          CREATE TABLE IF NOT EXISTS ir_attachment (
            id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar,
            res_field varchar, res_id integer, type varchar NOT NULL DEFAULT 'binary',
            url varchar, db_datas bytea, store_fname varchar, file_size integer,
            checksum varchar, mimetype varchar,
            create_date timestamp DEFAULT now(), write_date timestamp DEFAULT now());
          CREATE TABLE IF NOT EXISTS res_partner (id serial PRIMARY KEY, name varchar);
          SQL
          trap 'sleep 10; exit 0' TERM
          i=0
          while true; do
            i=$((i + 1))
            content="attachment $i $(date +%s%N)"
            sha=$(printf '%s' "$content" | sha1sum | cut -d' ' -f1)
            fname="''${sha:0:2}/$sha"
            mkdir -p "$data/filestore/odoo/''${sha:0:2}"
            printf '%s' "$content" >"$data/filestore/odoo/$fname"
            psql -d odoo -v ON_ERROR_STOP=1 -qc \
              "INSERT INTO ir_attachment (name, store_fname, file_size, checksum)
               VALUES ('a$i', '$fname', ''${#content}, '$sha');
               INSERT INTO res_partner (name) VALUES ('p$i')"
            : >"$data/sessions/werkzeug_$sha.sess"
            sleep 1 &
            wait $!
          done
        '';
      };
    in
    {
      imports = [ odboxModule ];

      virtualisation.memorySize = 1024;

      services.postgresql = {
        enable = true;
        ensureDatabases = [ "odoo" ];
        ensureUsers = [
          {
            name = "odoo";
            ensureDBOwnership = true;
          }
        ];
      };

      systemd.services.odoo = {
        description = "Odoo stand-in";
        wantedBy = [ "multi-user.target" ];
        requires = [ "postgresql.service" ];
        after = [ "postgresql.service" ];
        serviceConfig = {
          DynamicUser = true;
          User = "odoo";
          StateDirectory = "odoo";
          ExecStart = lib.getExe odooStandin;
          TimeoutStopSec = 30;
        };
      };

      # The seed's example, verbatim.
      odbox = {
        backup = {
          basedir = "/backup";
          odoo = {
            enable = true;
            hot-schedule = [
              "11:00:00"
              "14:00:00"
              "16:00:00"
            ];
            cold-schedule = [ "02:00:00" ];
          };
        };
      };
    };

  testScript = builtins.readFile ./vm_test_script.py;
}
