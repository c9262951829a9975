# Test script of the NixOS VM test nix/tests/vm.nix (run by the NixOS test
# driver, which defines `machine`, `start_all` and `subtest`).
import json

DATA = "/var/lib/private/odoo/data"
AREA = "/backup/odoo"
CONFIG = "/etc/odbox-backup/config.json"


def manifest():
    return json.loads(machine.succeed(f"cat {AREA}/odoo.manifest.json"))


start_all()
machine.wait_for_unit("postgresql.service")
machine.wait_for_unit("odoo.service")
machine.wait_until_succeeds(
    "test $(sudo -u postgres psql -d odoo -tAc 'SELECT count(*) FROM ir_attachment') -ge 3"
)

with subtest("the backup area and the marker directory are root-only"):
    machine.succeed("test \"$(stat -c '%a %U' /backup)\" = '700 root'")
    machine.succeed("test \"$(stat -c '%a %U' /backup/odoo)\" = '700 root'")
    machine.succeed("test \"$(stat -c '%a %U' /run/odbox-backup)\" = '700 root'")

with subtest("root logs in to the local PostgreSQL by the module's peer mapping"):
    machine.succeed("psql 'host=/run/postgresql user=postgres dbname=odoo' -tAc 'SELECT 1'")
    machine.succeed("sudo -u postgres psql -d odoo -tAc 'SELECT 1'")

with subtest("one OnCalendar= line and one next elapse per schedule entry"):
    for timer, count in (("odbox-backup-hot.timer", 3), ("odbox-backup-cold.timer", 1)):
        machine.succeed(f"systemctl is-active {timer}")
        calendars = machine.succeed(f"systemctl show -P TimersCalendar {timer}")
        assert calendars.count("OnCalendar=") == count, calendars
        assert calendars.count("next_elapse=") == count, calendars
    print(machine.succeed("systemctl list-timers --all --no-pager 'odbox-backup-*'"))

with subtest("hot backup while Odoo writes"):
    machine.succeed("systemctl start odbox-backup-hot.service")
    machine.succeed(f"tail -c 400 {AREA}/odoo.dump.sql | grep -q 'PostgreSQL database dump complete'")
    machine.succeed(f"test \"$(stat -c '%a' {AREA}/odoo.dump.sql)\" = 600")
    machine.succeed(f"test -d {AREA}/filestore/odoo")
    assert manifest()["kind"] == "hot"
    machine.succeed("systemctl is-active odoo.service")

with subtest("cold backup: Odoo stopped briefly, sessions purged, Odoo running again"):
    machine.succeed(f"ls {DATA}/sessions | grep -q .")
    machine.succeed("systemctl start odbox-backup-cold.service")
    machine.succeed("systemctl is-active odoo.service")
    m = manifest()
    assert m["kind"] == "cold", m
    assert m["sessions"]["files_removed"] > 0, m
    machine.succeed(f"odbox-backup --config {CONFIG} verify")

with subtest("SIGKILL while Odoo is stopped: ExecStopPost (cold-recover) starts it again"):
    good = machine.succeed(f"sha256sum {AREA}/odoo.dump.sql")
    machine.succeed("systemctl start --no-block odbox-backup-cold.service")
    # The stand-in takes 10 s to stop: the cold run is waiting for it.
    machine.wait_until_succeeds(
        "systemctl show -P ActiveState odoo.service | grep -Eqx 'deactivating|inactive'", timeout=120
    )
    machine.succeed("systemctl kill -s KILL odbox-backup-cold.service")
    machine.wait_until_succeeds("systemctl is-active odoo.service", timeout=180)
    machine.wait_until_succeeds(
        "systemctl show -P ActiveState odbox-backup-cold.service | grep -Eqx 'failed|inactive'"
    )
    assert machine.succeed(f"sha256sum {AREA}/odoo.dump.sql") == good, "the last good dump changed"
    machine.succeed(f"odbox-backup --config {CONFIG} verify")

with subtest("a deploy never restarts a running backup"):
    machine.succeed("grep -qx 'X-RestartIfChanged=false' /etc/systemd/system/odbox-backup-cold.service")
    machine.succeed("grep -qx 'X-OnlyManualStart=true' /etc/systemd/system/odbox-backup-cold.timer")
