#!/usr/bin/env python3
"""Evaluates nix/module.nix for one test configuration (tests/nix/cases/) and
checks what NixOS would install: the units, one OnCalendar= line per schedule
entry, systemd-analyze verify and calendar, the schedule check that runs when
the system is built, the tmpfiles rules applied to a scratch root, the JSON
configuration file (accepted by the real binary when ODBOX_BIN is set).

    module_test.py CASE      e.g. module_test.py seed-example
    module_test.py --list    the cases

Exit 0: all checks hold; 1: a check failed; 77: nix-instantiate or systemd
tools missing (skipped).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nixtest
from nixtest import CheckFailed, Rendered, check

CASES_DIR = nixtest.HERE / "cases"


@dataclass
class Expect:
    """What a configuration must produce."""
    hot: list[str] = field(default_factory=list)
    cold: list[str] = field(default_factory=list)
    basedir: str = "/backup"
    data_dir: str = "/var/lib/private/odoo/data"
    databases: list[str] = field(default_factory=lambda: ["odoo"])
    local_postgres: bool = False
    generated: bool = True          # false: module disabled, nothing at all
    offsite: bool = False           # the off-site services are generated
    forget: list[str] = field(default_factory=list)  # offsite.forgetSchedule
    check: list[str] = field(default_factory=list)   # offsite.checkSchedule
    push_after: list[str] = field(default_factory=list)
    extra: object = None            # callable(Rendered) for case-specific checks


@dataclass
class ExpectEvalError:
    """The evaluation must fail (as `nixos-rebuild` would) with this text."""
    message: str


@dataclass
class ExpectBuildError:
    """Evaluation succeeds; building the system fails in the schedule check."""
    bad_entries: list[str]
    expect: Expect


def camel_case_extra(r: Rendered) -> None:
    config = r.config_json()
    check(config["cold"]["full_downtime"] is True, "fullDowntime -> cold.full_downtime")
    check(config["cold"]["sessions_keep_days"] == 7, "sessionsKeepDays -> cold.sessions_keep_days")
    check(config["cold"]["stop_timeout_seconds"] == 300, "stopTimeout -> cold.stop_timeout_seconds")
    check(config["odoo_service"] == "odoo@prod.service", "unit -> odoo_service")
    check(config["log_level"] == "debug" and config["lock_wait_timeout_seconds"] == 900,
          "settings keys are passed through to the config file")
    check(config["metrics_file"] == "/var/lib/node-exporter/odbox-backup.prom",
          "metricsFile -> metrics_file")
    for kind in ("hot", "cold"):
        unit = r.unit(f"odbox-backup-{kind}.service")
        check(unit.value("Unit", "OnFailure") == "notify-admin@%n.service",
              f"{kind}: onFailure -> OnFailure=")
        check("-/var/lib/node-exporter" in unit.values("Service", "ReadWritePaths"),
              f"{kind}: the metrics file's directory is writable")
    check(r.unit("odbox-backup-cold.service").value("Service", "TimeoutStartSec") == "2h",
          "coldTimeout -> TimeoutStartSec= of the cold service")


def local_postgres_extra(r: Rendered) -> None:
    config = r.config_json()
    check(config["postgres"]["conninfo"] == "host=/run/postgresql port=5432 user=postgres",
          "local PostgreSQL: peer login over the Unix socket as postgres")
    ident = r.data["postgresql"]["identMap"]
    check("odbox-backup root postgres" in ident, "identMap maps root to postgres", ident)
    check("odbox-backup postgres postgres" in ident,
          "identMap keeps postgres itself able to log in", ident)
    auth = r.data["postgresql"]["authentication"].splitlines()
    ours = next((i for i, l in enumerate(auth) if "map=odbox-backup" in l), None)
    catch_all = next((i for i, l in enumerate(auth) if l.split()[:3] == ["local", "all", "all"]), None)
    check(ours is not None and catch_all is not None and ours < catch_all,
          "pg_hba: the mapped peer line comes before NixOS' catch-all 'local all all peer'",
          "\n".join(auth))


def several_databases_extra(r: Rendered) -> None:
    local_postgres_extra(r)


def remote_postgres_extra(r: Rendered) -> None:
    config = r.config_json()
    check(config["postgres"]["conninfo"].startswith("host=db.internal"), "conninfo passed through")
    unit = r.unit("odbox-backup-hot.service")
    env = unit.values("Service", "Environment")
    check('"PGPASSFILE=/run/keys/odbox-backup.pgpass"' in env, "passwordFile -> PGPASSFILE", str(env))
    check(r.data["postgresql"]["identMap"] == "", "no PostgreSQL peer mapping for a remote server")


def offsite_extra(r: Rendered) -> None:
    config = r.config_json()
    check(config["offsite"] == {
        "repository": "s3:s3.eu-central-1.amazonaws.com/acme-backups/odoo",
        "password_file": "/run/keys/odbox-restic.pass",
        "environment_file": "/run/keys/odbox-restic.env",
        "push_after": ["cold"],
        "keep": {"last": 5, "hourly": 0, "daily": 14, "weekly": 4, "monthly": 6, "yearly": 0},
        "init": False}, "offsite options -> the offsite object", json.dumps(config["offsite"]))
    check(config["tools"]["restic"] == "/usr/bin/restic", "offsite.package -> tools.restic")
    check_unit = r.unit("odbox-backup-offsite-check.service")
    check(check_unit.value("Service", "ExecStart").endswith("offsite check --read-data-subset 5%%"),
          "readDataSubset -> --read-data-subset, % escaped as %% for systemd",
          str(check_unit.value("Service", "ExecStart")))
    for name in ("odbox-backup-offsite-check.service", "odbox-backup-offsite-forget.service"):
        secrets = [v for k, v in r.unit(name).sections["Service"] if "restic.pass" in v or "restic.env" in v]
        check(secrets == [], f"{name}: no secret file named in the unit (the config file names it)")


def offsite_no_timers_extra(r: Rendered) -> None:
    config = r.config_json()
    check(config["offsite"]["push_after"] == ["hot", "cold"] and "environment_file" not in config["offsite"],
          "offsite defaults: push after hot and cold, no environment file", json.dumps(config["offsite"]))
    check(config["offsite"]["keep"] == {"last": 3, "hourly": 0, "daily": 7, "weekly": 4, "monthly": 12,
                                        "yearly": 0}, "offsite.keep defaults", json.dumps(config["offsite"]))


def settings_override_extra(r: Rendered) -> None:
    check(r.config_json()["basedir"] == "/mnt/backup", "settings.basedir wins over the option")


CASES: dict[str, object] = {
    "seed-example": Expect(hot=["11:00:00", "14:00:00", "16:00:00"], cold=["02:00:00"]),
    "seed-example-local-postgres": Expect(
        hot=["11:00:00", "14:00:00", "16:00:00"], cold=["02:00:00"], local_postgres=True,
        extra=local_postgres_extra),
    "camel-case": Expect(
        hot=["Mon..Fri 11:00", "Mon..Fri 14:00"], cold=["Sun *-*-* 02:30:00"],
        basedir="/srv/backup", data_dir="/var/lib/odoo/.local/share/Odoo",
        local_postgres=True, extra=camel_case_extra),
    "empty-cold": Expect(hot=["11:00:00"]),
    "cold-only": Expect(cold=["02:00:00"]),
    "several-databases": Expect(
        hot=["12:00"], cold=["03:00"], databases=["odoo", "odoo_staging", "odoo_training"],
        local_postgres=True, extra=several_databases_extra),
    "remote-postgres": Expect(hot=["*-*-* 08..18:00:00"], extra=remote_postgres_extra),
    "settings-override": Expect(hot=["11:00"], basedir="/mnt/backup", extra=settings_override_extra),
    "disabled": Expect(generated=False),
    "relative-basedir": ExpectEvalError(
        "odbox.backup.basedir must be an absolute path, not 'backup'"),
    "no-schedule": ExpectEvalError("both hotSchedule and coldSchedule are empty"),
    "no-databases": ExpectEvalError("odbox.backup.odoo.databases must name at least one database"),
    "misspelt-option": ExpectEvalError("The option `odbox.backup.odoo.hotSchedul' does not exist"),
    "schedule-not-a-list": ExpectEvalError("is not of type `list of string'"),
    "invalid-schedule": ExpectBuildError(
        bad_entries=["25:00:00"],
        expect=Expect(hot=["11:00:00", "25:00:00"], cold=["02:00:00"])),
    "offsite": Expect(
        hot=["11:00:00"], cold=["02:00:00"], local_postgres=True, offsite=True,
        forget=["Sun 04:00"], check=["Sun 05:00", "Wed 05:00"], push_after=["cold"],
        extra=offsite_extra),
    "offsite-no-timers": Expect(hot=["12:00"], offsite=True, push_after=["hot", "cold"],
                                extra=offsite_no_timers_extra),
    "seed-example-offsite": Expect(
        hot=["11:00:00", "14:00:00", "16:00:00"], cold=["02:00:00"], local_postgres=True,
        offsite=True, forget=["Sun 04:00:00"], check=["Sun 05:00:00"], push_after=["hot", "cold"]),
    "offsite-without-odoo": ExpectEvalError(
        "odbox.backup.offsite.enable needs odbox.backup.odoo.enable"),
    "offsite-keep-nothing": ExpectEvalError("is not of type `positive integer, meaning >0'"),
    "offsite-invalid-schedule": ExpectBuildError(
        bad_entries=["Sun 25:00"],
        expect=Expect(hot=["12:00"], offsite=True, forget=["Sun 25:00"], push_after=["hot", "cold"])),
}

# The timers and their schedules: the backups', then the off-site ones.
def schedules(e: Expect) -> list[tuple[str, list[str]]]:
    return [("hot", e.hot), ("cold", e.cold), ("offsite-forget", e.forget),
            ("offsite-check", e.check)]


# ---- checks ------------------------------------------------------------------

def check_timers(r: Rendered, e: Expect) -> None:
    for kind, schedule in schedules(e):
        name = f"odbox-backup-{kind}.timer"
        if not schedule:
            check(name not in r.units, f"no {name} for an empty {kind} schedule")
            continue
        timer = r.unit(name)
        check(timer.values("Timer", "OnCalendar") == schedule,
              f"{name}: one OnCalendar= line per entry, in order: {schedule}",
              f"got {timer.values('Timer', 'OnCalendar')}")
        check(timer.value("Timer", "Unit") == f"odbox-backup-{kind}.service",
              f"{name} starts odbox-backup-{kind}.service")
        check(timer.value("Install", "WantedBy") == "timers.target", f"{name} is wanted by timers.target")
        check(timer.value("Unit", "X-Schedules-Checked") == r.data["builds"][0]["out"],
              f"{name} depends on the schedule check (built with the system)")
        if kind != "cold":
            check(timer.value("Timer", "Persistent") == "true",
                  f"{name}: Persistent=true (a missed run is caught up)")
        else:
            check(timer.value("Timer", "Persistent") == "false",
                  f"{name}: Persistent=false (no catching up at boot, in business hours)")
            check(timer.value("Unit", "X-OnlyManualStart") == "true",
                  f"{name}: X-OnlyManualStart=true (a deploy never starts it)")


def check_services(r: Rendered, e: Expect) -> None:
    config_path = r.data["etc"]["odbox-backup/config.json"]
    exe = str(r.out / "pkg" / "bin" / "odbox-backup")
    for kind in ("hot", "cold"):
        name = f"odbox-backup-{kind}.service"
        unit = r.unit(name)
        check(unit.value("Service", "ExecStart") == f"{exe} --config {config_path} {kind} --wait-lock",
              f"{name}: ExecStart= runs '{kind} --wait-lock' with the generated config",
              str(unit.value("Service", "ExecStart")))
        for key, value in (("Type", "oneshot"), ("UMask", "0077"), ("ProtectSystem", "strict"),
                           ("PrivateTmp", "true"), ("NoNewPrivileges", "true"),
                           ("X-RestartIfChanged", "false"), ("KillMode", "mixed")):
            check(unit.value("Service", key) == value, f"{name}: {key}={value}",
                  f"got {unit.value('Service', key)}")
        check(unit.value("Service", "Restart") is None, f"{name}: no Restart=")
        rw = unit.values("Service", "ReadWritePaths")
        for path in (e.basedir, e.data_dir, "/run/odbox-backup"):
            check(f"-{path}" in rw, f"{name}: ReadWritePaths= has {path}", str(rw))
        check(unit.values("Unit", "RequiresMountsFor") == [e.basedir, e.data_dir],
              f"{name}: RequiresMountsFor= the backup area and the data dir")
        pushes = kind in e.push_after
        if e.local_postgres:
            after = "postgresql.service network-online.target" if pushes else "postgresql.service"
            check(unit.value("Unit", "Requires") == "postgresql.service"
                  and unit.value("Unit", "After") == after,
                  f"{name}: Requires= and After= postgresql.service (local database)"
                  + (", After= the network (it pushes off site)" if pushes else ""),
                  f"After={unit.value('Unit', 'After')}")
        else:
            check(unit.value("Unit", "Requires") is None
                  and unit.value("Unit", "After") == "network-online.target",
                  f"{name}: no postgresql.service dependency, After=network-online.target")
    cold = r.unit("odbox-backup-cold.service")
    check(cold.value("Service", "ExecStopPost") == f"{exe} --config {config_path} cold-recover",
          "odbox-backup-cold.service: ExecStopPost= runs cold-recover (the SIGKILL safety net)")
    check(cold.value("Unit", "X-OnlyManualStart") == "true",
          "odbox-backup-cold.service: X-OnlyManualStart=true")
    start_timeout = r.config_json()["cold"]["start_timeout_seconds"]
    check(cold.value("Service", "TimeoutStopSec") == f"{start_timeout + 60}s",
          f"odbox-backup-cold.service: TimeoutStopSec= leaves time to start Odoo again "
          f"({start_timeout} s + 60 s)")


def check_offsite_services(r: Rendered, e: Expect) -> None:
    config_path = r.data["etc"]["odbox-backup/config.json"]
    exe = str(r.out / "pkg" / "bin" / "odbox-backup")
    for action in ("forget", "check"):
        name = f"odbox-backup-offsite-{action}.service"
        unit = r.unit(name)
        check(unit.value("Service", "ExecStart").startswith(f"{exe} --config {config_path} offsite {action}"),
              f"{name}: ExecStart= runs 'offsite {action}' with the generated config",
              str(unit.value("Service", "ExecStart")))
        for key, value in (("Type", "oneshot"), ("UMask", "0077"), ("ProtectSystem", "strict"),
                           ("X-RestartIfChanged", "false"), ("KillMode", "mixed")):
            check(unit.value("Service", key) == value, f"{name}: {key}={value}",
                  f"got {unit.value('Service', key)}")
        check(unit.values("Service", "ReadWritePaths") == [f"-{e.basedir}"],
              f"{name}: only the backup area is writable (restic's cache, the check's scratch copy)",
              str(unit.values("Service", "ReadWritePaths")))
        check(unit.value("Unit", "Requires") is None and unit.value("Unit", "After") == "network-online.target"
              and unit.value("Unit", "Wants") == "network-online.target",
              f"{name}: the network, no PostgreSQL")


def check_config_file(r: Rendered, e: Expect) -> None:
    config = r.config_json()
    check(config["basedir"] == e.basedir, f"config: basedir {e.basedir}")
    check(config["data_dir"] == e.data_dir, f"config: data_dir {e.data_dir}")
    check(config["databases"] == e.databases, f"config: databases {e.databases}")
    check(config["cold"]["marker_dir"] == "/run/odbox-backup", "config: cold.marker_dir /run/odbox-backup")
    tools = config["tools"]
    check(all(os.path.isabs(tools[t]) for t in ("pg_dump", "psql", "rsync", "systemctl")),
          "config: absolute paths of pg_dump, psql, rsync, systemctl", json.dumps(tools))
    binary = nixtest.odbox_binary()
    if binary is None:
        print("  note ODBOX_BIN not set: the binary's reading of the config is not checked")
        return
    # `status` reads the whole config before it looks at the area: a key the
    # binary does not know, or a value of the wrong type, is a usage error
    # naming the config file.
    area = nixtest.scratch("area-")
    try:
        run = subprocess.run([binary, "--config", str(r.host_path(r.data["etc"]["odbox-backup/config.json"])),
                              "--basedir", str(area), "status"],
                             capture_output=True, text=True)
    finally:
        shutil.rmtree(area)
    check("config file" not in run.stderr and run.returncode != 2,
          "the built odbox-backup accepts every key of the generated config",
          f"exit {run.returncode}: {run.stderr.strip()}")


def check_with_systemd(r: Rendered, e: Expect, bad_entries: list[str]) -> None:
    units = [r.unit_dir / n for n in sorted(r.units)]
    verify = nixtest.systemd_verify(units)
    if bad_entries:
        check(verify.stderr.strip() != "",
              "systemd-analyze verify complains about the invalid entry "
              f"(exit {verify.returncode}: it alone would not fail the build)", verify.stderr)
    else:
        check(verify.returncode == 0 and verify.stderr.strip() == "",
              "systemd-analyze verify: no complaint about " + ", ".join(sorted(r.units)),
              verify.stderr.strip())
    for entry in [entry for _, schedule in schedules(e) for entry in schedule]:
        ok, output = nixtest.calendar_ok(entry)
        if entry in bad_entries:
            check(not ok, f"systemd-analyze calendar rejects {entry!r}", output)
        else:
            check(ok, f"systemd-analyze calendar accepts {entry!r}", output)
    for name in sorted(r.units):
        if name.endswith(".service"):
            exposure = nixtest.security_exposure(r.unit_dir / name)
            check(exposure is not None and exposure < 5.0,
                  f"{name}: systemd-analyze security exposure {exposure} (< 5.0, 'OK')")


def check_schedule_build(r: Rendered, bad_entries: list[str]) -> None:
    builds = r.data["builds"]
    check(len(builds) == 1 and builds[0]["name"] == "odbox-backup-schedules-checked",
          "one build-time check of the schedules")
    run = nixtest.run_build(builds[0])
    if bad_entries:
        check(run.returncode != 0, "building the system fails on the invalid schedule entry")
        for entry in bad_entries:
            check(f"'{entry}' is not a valid systemd calendar expression" in run.stderr,
                  f"the build error names {entry!r}", run.stderr)
    else:
        check(run.returncode == 0, "the schedule check builds", run.stderr)
        print("       " + Path(builds[0]["out"]).read_text().strip().replace("\n", "\n       "))


def check_tmpfiles(r: Rendered, e: Expect) -> None:
    if os.geteuid() != 0:
        print("  note not root: the tmpfiles rules (chown to root) are not applied")
        return
    confs = sorted(r.tmpfiles_dir.glob("*.conf"))
    check([c.name for c in confs] == ["10-odbox-backup.conf"], "one tmpfiles.d file: 10-odbox-backup.conf")
    root = nixtest.scratch("tmpfiles-root-")
    try:
        # An existing, too open area is corrected, not only a missing one created.
        existing = root / e.basedir.lstrip("/")
        existing.mkdir(parents=True)
        existing.chmod(0o755)
        run = nixtest.apply_tmpfiles(confs[0], root)
        check(run.returncode == 0 and run.stderr.strip() == "",
              f"systemd-tmpfiles --create --root=<scratch> {confs[0].name}", run.stderr)
        for path in (e.basedir, e.basedir + "/odoo", "/run/odbox-backup"):
            got = nixtest.mode_of(root / path.lstrip("/"))
            check(got == "0700 uid=0 gid=0", f"{path}: 0700 root:root after tmpfiles", got)
    finally:
        shutil.rmtree(root)


def run_case(name: str) -> None:
    spec = CASES[name]
    case = CASES_DIR / f"{name}.nix"
    work = nixtest.scratch(f"nix-{name}-")
    try:
        print(f"case {name} ({case.relative_to(nixtest.SOURCE_DIR)}):")
        print("  " + case.read_text().splitlines()[0])
        if isinstance(spec, ExpectEvalError):
            try:
                nixtest.render(case, work, nixtest.odbox_binary())
            except nixtest.RenderError as e:
                check(spec.message in e.stderr, f"evaluation fails with: {spec.message}", e.stderr)
                return
            check(False, f"evaluation fails with: {spec.message}", "it succeeded")
        bad_entries: list[str] = []
        if isinstance(spec, ExpectBuildError):
            bad_entries, spec = spec.bad_entries, spec.expect
        r = nixtest.render(case, work, nixtest.odbox_binary())
        print("  ok   evaluates")
        if not spec.generated:
            check(r.units == {} and r.data["tmpfiles"] == {} and r.data["etc"] == {},
                  "no units, no tmpfiles rules, no /etc file")
            return
        services = ["hot", "cold"] + (["offsite-forget", "offsite-check"] if spec.offsite else [])
        check(sorted(r.units) == sorted(
            [f"odbox-backup-{k}.service" for k in services]
            + [f"odbox-backup-{k}.timer" for k, s in schedules(spec) if s]),
            "units: the services, a timer per non-empty schedule", str(sorted(r.units)))
        check_timers(r, spec)
        check_services(r, spec)
        if spec.offsite:
            check_offsite_services(r, spec)
        check_config_file(r, spec)
        check_schedule_build(r, bad_entries)
        check_with_systemd(r, spec, bad_entries)
        check_tmpfiles(r, spec)
        if spec.extra:
            spec.extra(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    if len(argv) != 2 or argv[1] not in CASES:
        sys.stderr.write(__doc__)
        return 2
    nixtest.skip_unless_tools("nix-instantiate", "systemd-analyze", "systemd-tmpfiles")
    try:
        run_case(argv[1])
    except CheckFailed:
        return 1
    print("all checks hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
