#!/usr/bin/env python3
"""System test in a real systemd (tests/system/systemd-sandbox): the units of
the seed's example load and their timers are armed with one next elapse per
OnCalendar= entry, for both deployments:

    nixos    the units nix/module.nix generates (rendered as NixOS would),
             with its tmpfiles rules
    debian   the hand-written units of systemd/, with their tmpfiles rules

Checked in each sandbox: the system boots; the timers are active (enabled
through [Install] WantedBy=timers.target); `systemctl show -p TimersCalendar`
lists each schedule entry with a next elapse; `systemctl list-timers` shows
both timers with the earliest of them; the tmpfiles rules made the backup
area 0700 at boot; a changed OnCalendar= line takes effect on daemon-reload
(the NixOS cold timer is never restarted by a deploy); both services load
with the sandboxing they ask for and run the binary (without PostgreSQL and
Odoo they stop at the preflight, and the cold unit's ExecStopPost runs).

    timers_test.py nixos|debian
Exit 0: all checks hold; 1: a check failed; 77: skipped (not root, no
nix-instantiate for `nixos`, or the sandbox cannot boot here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "nix"))

import nixtest  # noqa: E402
from nixtest import CheckFailed, Unit, check  # noqa: E402

SANDBOX = HERE / "systemd-sandbox"
# Where the test's files appear inside the sandbox (mounted with --bind):
# not under /tmp or /var/tmp, which the sandbox and PrivateTmp= hide.
INSIDE = "/srv/odbox-system-test"
SEED = {"odbox-backup-hot.timer": ["11:00:00", "14:00:00", "16:00:00"],
        "odbox-backup-cold.timer": ["02:00:00"]}


def skip(why: str) -> None:
    print(f"SKIP: {why}")
    sys.exit(nixtest.SKIP)


class Sandbox:
    def __init__(self, path: Path):
        self.path = path

    def boot(self, units: list[Path], tmpfiles: list[Path], bind: Path) -> None:
        args = [str(SANDBOX), "boot", str(self.path), "--bind", f"{bind}:{INSIDE}"]
        for conf in tmpfiles:
            args += ["--tmpfiles", str(conf)]
        run = subprocess.run(args + [str(u) for u in units], capture_output=True, text=True)
        if run.returncode == 3:
            skip("systemd cannot boot in a namespace here:\n" + run.stderr)
        check(run.returncode == 0, "the sandbox boots: " + run.stdout.strip(), run.stderr)

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SANDBOX), "exec", str(self.path), *command],
                              capture_output=True, text=True)

    def out(self, *command: str) -> str:
        run = self.run(*command)
        if run.returncode != 0:
            raise CheckFailed(f"{' '.join(command)}: exit {run.returncode}: {run.stderr}")
        return run.stdout

    def kill(self) -> None:
        subprocess.run([str(SANDBOX), "kill", str(self.path)], check=False)


def prepare_nixos(work: Path) -> tuple[list[Path], list[Path], Path, bool]:
    if shutil.which("nix-instantiate") is None:
        skip("nix-instantiate not found (install nix-bin: bash tests/setup-debian)")
    binary = nixtest.odbox_binary()
    rendered = nixtest.render(nixtest.HERE / "cases" / "seed-example.nix", work / "render",
                              binary, inside=INSIDE)
    units = [rendered.unit_dir / n for n in sorted(rendered.units)]
    return units, sorted(rendered.tmpfiles_dir.glob("*.conf")), work / "render", binary is not None


def prepare_debian(work: Path) -> tuple[list[Path], list[Path], Path, bool]:
    # As installed, with the binary and the configuration under INSIDE.
    binary = nixtest.odbox_binary()
    shown = work / "debian"
    (shown / "bin").mkdir(parents=True)
    shutil.copy(binary or "/bin/true", shown / "bin" / "odbox-backup")
    shutil.copy(nixtest.SOURCE_DIR / "systemd" / "config.example.json", shown / "config.json")
    units = []
    (work / "units").mkdir()
    for name in ("odbox-backup-hot.service", "odbox-backup-hot.timer",
                 "odbox-backup-cold.service", "odbox-backup-cold.timer"):
        text = (nixtest.SOURCE_DIR / "systemd" / name).read_text()
        text = text.replace("/usr/local/bin/odbox-backup", f"{INSIDE}/bin/odbox-backup")
        text = text.replace("/etc/odbox-backup/config.json", f"{INSIDE}/config.json")
        path = work / "units" / name
        path.write_text(text)
        units.append(path)
    return units, [nixtest.SOURCE_DIR / "systemd" / "odbox-backup.tmpfiles.conf"], shown, binary is not None


def check_timers(box: Sandbox) -> None:
    for timer, schedule in SEED.items():
        check(box.out("systemctl", "is-active", timer).strip() == "active",
              f"{timer} is active after boot (wanted by timers.target)")
        calendars = box.out("systemctl", "show", "-p", "TimersCalendar", timer)
        entries = re.findall(r"OnCalendar=\*-\*-\* (\S+) ; next_elapse=(.+) \}", calendars)
        check(sorted(e[0] for e in entries) == sorted(schedule)
              and all(e[1] != "(null)" for e in entries),
              f"{timer}: one next elapse per OnCalendar= entry {schedule}", calendars.strip())
        for at, elapse in entries:
            print(f"       {at} -> next elapse {elapse}")
    listing = box.out("systemctl", "list-timers", "--all", "--no-pager", "odbox-backup-*")
    print("       " + listing.strip().replace("\n", "\n       "))
    check(all(t in listing for t in SEED) and "2 timers listed" in listing,
          "systemctl list-timers --all lists both timers with their next elapse")


def check_reload(box: Sandbox) -> None:
    # What a deploy does when the schedule changes: new unit file, daemon-reload.
    box.out("sed", "-i", "s/^OnCalendar=02:00:00/OnCalendar=03:30:00/",
            "/etc/systemd/system/odbox-backup-cold.timer")
    box.out("systemctl", "daemon-reload")
    calendars = box.out("systemctl", "show", "-p", "TimersCalendar", "odbox-backup-cold.timer")
    check("OnCalendar=*-*-* 03:30:00 ; next_elapse=" in calendars and "(null)" not in calendars,
          "a changed OnCalendar= is armed on daemon-reload, without restarting the timer",
          calendars.strip())


def check_area(box: Sandbox) -> None:
    for path in ("/backup", "/backup/odoo", "/run/odbox-backup"):
        got = box.out("stat", "-c", "%a %U", path).strip()
        check(got == "700 root", f"{path} is 0700 root after boot (tmpfiles)", got)


def check_services(box: Sandbox, real_binary: bool) -> None:
    for kind in ("hot", "cold"):
        service = f"odbox-backup-{kind}.service"
        box.run("systemctl", "start", service)
        show = box.out("systemctl", "show", "-p", "ExecMainStatus", "-p", "Result", service)
        status = re.search(r"ExecMainStatus=(\d+)", show).group(1)
        if not real_binary:
            check(status == "0", f"{service}: runs (ODBOX_BIN not set: /bin/true)", show)
            continue
        # No PostgreSQL and no Odoo data dir here: the preflight refuses (2).
        # 203 (EXEC), 226 (NAMESPACE), 218 (CAPABILITIES) would mean the
        # sandboxing of the unit itself is broken.
        log = box.out("journalctl", "--no-pager", "-o", "cat", f"_SYSTEMD_UNIT={service}")
        check(status == "2" and "data directory" in log,
              f"{service}: odbox-backup runs in the unit's sandbox and stops at the preflight",
              f"{show.strip()}\n{log.strip()}")
    log = box.out("journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_UNIT=odbox-backup-cold.service")
    if real_binary:
        check("nothing to recover" in log, "odbox-backup-cold.service: ExecStopPost= cold-recover ran", log)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("nixos", "debian"):
        sys.stderr.write(__doc__)
        return 2
    flavour = argv[1]
    if os.geteuid() != 0:
        skip("needs root (it boots systemd in a private PID + mount namespace)")
    for tool in ("unshare", "nsenter", "systemctl", "systemd-tmpfiles"):
        if shutil.which(tool) is None:
            skip(f"{tool} not found (install util-linux and systemd: bash tests/setup-debian)")
    if not Path("/lib/systemd/systemd").exists():
        skip("/lib/systemd/systemd not found")

    work = nixtest.scratch(f"system-{flavour}-")
    box = Sandbox(work / "sandbox")
    host_had_backup = Path("/backup").exists()
    try:
        print(f"units of the seed's example ({flavour}) in a real systemd:")
        units, tmpfiles, shown, real_binary = (
            prepare_nixos if flavour == "nixos" else prepare_debian)(work)
        box.boot(units, tmpfiles, shown)
        check_timers(box)
        check_area(box)
        check_services(box, real_binary)
        check_reload(box)
    except CheckFailed:
        return 1
    finally:
        box.kill()
        shutil.rmtree(work, ignore_errors=True)
    check(host_had_backup or not Path("/backup").exists(), "nothing reached the host (no /backup)")
    print("all checks hold")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except CheckFailed:
        sys.exit(1)
