#!/usr/bin/env python3
"""Checks the hand-written units for Debian/Ubuntu hosts in systemd/:
systemd-analyze verify and calendar, the tmpfiles rules applied to a scratch
root, the example configuration (accepted by the real binary when ODBOX_BIN
is set), and that they say the same as the units the NixOS module generates
for the seed's example (same settings, same schedule), so the two cannot
drift apart silently.

Exit 0: all checks hold; 1: a check failed; 77: systemd or nix tools missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nixtest
from nixtest import CheckFailed, Unit, check

SYSTEMD_DIR = nixtest.SOURCE_DIR / "systemd"
BINARY = "/usr/local/bin/odbox-backup"
CONFIG = "/etc/odbox-backup/config.json"
BACKUP_UNITS = ["odbox-backup-hot.service", "odbox-backup-hot.timer",
                "odbox-backup-cold.service", "odbox-backup-cold.timer"]
OFFSITE_UNITS = ["odbox-backup-offsite-forget.service", "odbox-backup-offsite-forget.timer",
                 "odbox-backup-offsite-check.service", "odbox-backup-offsite-check.timer"]
UNITS = BACKUP_UNITS + OFFSITE_UNITS
# The schedules of the units, as in the NixOS cases they are compared with.
SCHEDULES = {"hot": ["11:00:00", "14:00:00", "16:00:00"], "cold": ["02:00:00"],
             "offsite-forget": ["Sun 04:00:00"], "offsite-check": ["Sun 05:00:00"]}
COMMANDS = {"hot": "hot --wait-lock", "cold": "cold --wait-lock",
            "offsite-forget": "offsite forget", "offsite-check": "offsite check"}

# Keys whose values name paths or are NixOS' own: compared separately or not.
NOT_COMPARED = {"ExecStart", "ExecStopPost", "ReadWritePaths", "RequiresMountsFor",
                "Environment", "Description"}
# Keys that take a space-separated list (NixOS writes one line per item).
LIST_KEYS = {"RestrictAddressFamilies", "CapabilityBoundingSet", "SystemCallFilter",
             "Requires", "After", "Wants"}


def normalized(unit: Unit, section: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in unit.sections.get(section, []):
        if key in NOT_COMPARED or key.startswith("X-"):
            continue
        items = value.split() if key in LIST_KEYS else [value]
        result.setdefault(key, []).extend(items)
    return {k: sorted(v) for k, v in result.items()}


def install_copy(work: Path) -> Path:
    """The units as installed, with the binary path pointing at a program
    that exists here (verify checks Exec paths)."""
    target = nixtest.odbox_binary() or "/bin/true"
    units = work / "units"
    units.mkdir()
    for name in UNITS:
        text = (SYSTEMD_DIR / name).read_text().replace(BINARY, target)
        (units / name).write_text(text)
    return units


def check_units(units: Path) -> None:
    verify = nixtest.systemd_verify([units / n for n in UNITS])
    check(verify.returncode == 0 and verify.stderr.strip() == "",
          "systemd-analyze verify: no complaint about " + ", ".join(UNITS), verify.stderr.strip())
    for kind, schedule in SCHEDULES.items():
        timer = Unit.parse((units / f"odbox-backup-{kind}.timer").read_text())
        entries = timer.values("Timer", "OnCalendar")
        check(entries == schedule, f"odbox-backup-{kind}.timer: the schedule, one line per entry",
              str(entries))
        for entry in entries:
            ok, output = nixtest.calendar_ok(entry)
            check(ok, f"systemd-analyze calendar accepts {entry!r}", output)
    for kind, command in COMMANDS.items():
        service = Unit.parse((SYSTEMD_DIR / f"odbox-backup-{kind}.service").read_text())
        check(service.value("Service", "ExecStart") == f"{BINARY} --config {CONFIG} {command}",
              f"odbox-backup-{kind}.service runs '{command}' with {CONFIG}")
        exposure = nixtest.security_exposure(units / f"odbox-backup-{kind}.service")
        check(exposure is not None and exposure < 5.0,
              f"odbox-backup-{kind}.service: systemd-analyze security exposure {exposure} (< 5.0)")
    cold = Unit.parse((SYSTEMD_DIR / "odbox-backup-cold.service").read_text())
    check(cold.value("Service", "ExecStopPost") == f"{BINARY} --config {CONFIG} cold-recover",
          "odbox-backup-cold.service: ExecStopPost= runs cold-recover")


def check_same_as_nixos(work: Path) -> None:
    """Compare with the module's units for the seed's example on a machine
    with a local PostgreSQL, as the Debian units assume (the off-site units:
    the same example with odbox.backup.offsite on)."""
    if shutil.which("nix-instantiate") is None:
        print("  note nix-instantiate missing: comparison with the NixOS units skipped")
        return
    cases = nixtest.HERE / "cases"
    backups = nixtest.render(cases / "seed-example-local-postgres.nix", work / "nixos")
    offsite = nixtest.render(cases / "seed-example-offsite.nix", work / "nixos-offsite")
    for name in UNITS:
        rendered = offsite if name in OFFSITE_UNITS else backups
        ours = Unit.parse((SYSTEMD_DIR / name).read_text())
        nixos = Unit.parse(rendered.units[name])
        for section in sorted(set(ours.sections) | set(nixos.sections)):
            a, b = normalized(ours, section), normalized(nixos, section)
            check(a == b, f"{name} [{section}]: same settings as the NixOS module's unit",
                  "\n".join(f"{k}: here {a.get(k)} / NixOS {b.get(k)}"
                            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)))
        if name.endswith(".service"):
            ours_exec = ours.value("Service", "ExecStart").split(" ", 3)[3]
            nixos_exec = nixos.value("Service", "ExecStart").split(" ", 3)[3]
            check(ours_exec == nixos_exec, f"{name}: same command as the NixOS unit ({ours_exec})")
            ours_rw = ours.value("Service", "ReadWritePaths").split()
            check(len(ours_rw) == len(nixos.values("Service", "ReadWritePaths")),
                  f"{name}: as many writable paths as the NixOS unit: {ours_rw}")


def check_tmpfiles(work: Path) -> None:
    if os.geteuid() != 0:
        print("  note not root: the tmpfiles rules (chown to root) are not applied")
        return
    root = work / "root"
    (root / "backup").mkdir(parents=True)
    (root / "backup").chmod(0o755)
    run = nixtest.apply_tmpfiles(SYSTEMD_DIR / "odbox-backup.tmpfiles.conf", root)
    check(run.returncode == 0 and run.stderr.strip() == "",
          "systemd-tmpfiles --create --root=<scratch> odbox-backup.tmpfiles.conf", run.stderr)
    for path in ("/backup", "/backup/odoo", "/run/odbox-backup"):
        got = nixtest.mode_of(root / path.lstrip("/"))
        check(got == "0700 uid=0 gid=0", f"{path}: 0700 root:root after tmpfiles", got)


def check_example_config(work: Path) -> None:
    example = SYSTEMD_DIR / "config.example.json"
    config = json.loads(example.read_text())
    check(config["basedir"] == "/backup" and config["cold"]["marker_dir"] == "/run/odbox-backup",
          "config.example.json: basedir and marker_dir match the units and tmpfiles rules")
    check(config["data_dir"] in Unit.parse((SYSTEMD_DIR / "odbox-backup-cold.service").read_text())
          .value("Service", "ReadWritePaths"),
          "config.example.json: data_dir is writable in the units")
    binary = nixtest.odbox_binary()
    if binary is None:
        print("  note ODBOX_BIN not set: the binary's reading of the example is not checked")
        return
    run = subprocess.run([binary, "--config", str(example), "--basedir", str(work / "area"),
                          "status"], capture_output=True, text=True)
    check("config file" not in run.stderr and run.returncode != 2,
          "the built odbox-backup accepts config.example.json",
          f"exit {run.returncode}: {run.stderr.strip()}")


def main() -> int:
    nixtest.skip_unless_tools("systemd-analyze", "systemd-tmpfiles")
    work = nixtest.scratch("systemd-units-")
    try:
        print(f"hand-written units in {SYSTEMD_DIR.relative_to(nixtest.SOURCE_DIR)}/:")
        check_units(install_copy(work))
        check_same_as_nixos(work)
        check_tmpfiles(work)
        check_example_config(work)
    except CheckFailed:
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("all checks hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
