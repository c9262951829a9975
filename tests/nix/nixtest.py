#!/usr/bin/env python3
"""Helpers of the Nix module and systemd unit tests (standard library only).

Render a test configuration of nix/module.nix into unit files, the way NixOS
would (tests/nix/render.nix does the evaluation with tests/nix/minilib.nix),
and check unit files with the real systemd tools.

As a program:
    nixtest.py render CASE.nix OUTDIR   write OUTDIR/units/, OUTDIR/tmpfiles.d/,
                                        OUTDIR/store/ (files the units refer to)
                                        and OUTDIR/render.json
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent.parent
SKIP = 77  # CTest SKIP_RETURN_CODE of these tests


class CheckFailed(Exception):
    """A check of a test did not hold."""


def skip_unless_tools(*tools: str) -> None:
    """Exit with SKIP when a program the test needs is not installed."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print(f"SKIP: {', '.join(missing)} not found "
              f"(install nix-bin and systemd: bash tests/setup-debian)")
        sys.exit(SKIP)


def check(condition: bool, what: str, detail: str = "") -> None:
    """Print one checked fact; raise CheckFailed when it does not hold."""
    if condition:
        print(f"  ok   {what}")
        return
    print(f"  FAIL {what}")
    if detail:
        print("       " + detail.replace("\n", "\n       "))
    raise CheckFailed(what)


def nix_env(work: Path) -> dict[str, str]:
    """Environment for nix-instantiate: its state (temp roots) in scratch."""
    env = dict(os.environ)
    env["NIX_STATE_DIR"] = str(work / "nix-state")
    env["NIX_LOG_DIR"] = str(work / "nix-state" / "log")
    # Not the machine's nix.conf: Debian's names a 'nixbld' group that a
    # fresh machine does not have.
    env["NIX_CONF_DIR"] = str(work / "nix-state" / "etc")
    env["NIX_USER_CONF_FILES"] = str(work / "nix-state" / "nix.conf")
    env["NIX_CONFIG"] = "build-users-group ="
    return env


def odbox_binary() -> str | None:
    """The built odbox-backup (ODBOX_BIN, set by CTest), if it exists."""
    path = os.environ.get("ODBOX_BIN")
    return path if path and os.access(path, os.X_OK) else None


# ---- rendering ---------------------------------------------------------------

@dataclass
class Rendered:
    """What render.nix produced for one configuration, written under `out`."""
    out: Path
    data: dict
    units: dict[str, str] = field(default_factory=dict)   # name -> text
    unit_dir: Path | None = None
    tmpfiles_dir: Path | None = None

    def unit(self, name: str) -> "Unit":
        check(name in self.units, f"{name} is generated",
              f"generated: {sorted(self.units)}")
        return Unit.parse(self.units[name])

    def host_path(self, store_path: str) -> Path:
        """Where a file the units refer to was written on this host."""
        return self.out / "store" / Path(store_path).name

    def config_json(self) -> dict:
        path = self.data["etc"]["odbox-backup/config.json"]
        return json.loads(self.host_path(path).read_text())


class RenderError(Exception):
    def __init__(self, stderr: str):
        super().__init__(stderr)
        self.stderr = stderr


def render(case: Path, out: Path, odbox_bin: str | None = None,
           inside: str | None = None) -> Rendered:
    """Evaluate the module for `case` and write what NixOS would install.

    Files the units refer to go to out/store/, the package to out/pkg/, where
    bin/odbox-backup is `odbox_bin` (or /bin/true) so that Exec paths exist.
    The units name them under `inside` instead of `out` when given: the
    directory `out` will be mounted there (tests/system/systemd-sandbox
    --bind), and the binary is then copied rather than linked. Raises
    RenderError with nix's stderr when the evaluation fails (an assertion,
    a type error, ...)."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    named = Path(inside) if inside else out
    store = out / "store"
    pkg_bin = out / "pkg" / "bin"
    store.mkdir(exist_ok=True)
    pkg_bin.mkdir(parents=True, exist_ok=True)
    exe = pkg_bin / "odbox-backup"
    if exe.is_symlink() or exe.exists():
        exe.unlink()
    if inside:
        shutil.copy(odbox_bin or "/bin/true", exe)
    else:
        exe.symlink_to(odbox_bin or "/bin/true")

    cmd = ["nix-instantiate", "--eval", "--strict", "--json",
           str(HERE / "render.nix"),
           "--arg", "case", str(case.resolve()),
           "--argstr", "storeDir", str(named / "store"),
           "--argstr", "odboxPrefix", str(named / "pkg")]
    run = subprocess.run(cmd, capture_output=True, text=True, env=nix_env(out))
    # On an evaluation error nix may already have printed partial JSON: only
    # the exit status tells.
    if run.returncode != 0:
        raise RenderError(run.stderr)
    data = json.loads(run.stdout)
    (out / "render.json").write_text(json.dumps(data, indent=2) + "\n")

    rendered = Rendered(out=out, data=data, units=data["units"])
    rendered.unit_dir = out / "units"
    rendered.unit_dir.mkdir(exist_ok=True)
    for name, text in data["units"].items():
        (rendered.unit_dir / name).write_text(text)
    rendered.tmpfiles_dir = out / "tmpfiles.d"
    rendered.tmpfiles_dir.mkdir(exist_ok=True)
    for name, text in data["tmpfiles"].items():
        (rendered.tmpfiles_dir / f"{name}.conf").write_text(text)
    for path, text in data["files"].items():
        rendered.host_path(path).write_text(text)
    return rendered


def run_build(build: dict) -> subprocess.CompletedProcess:
    """Run a pkgs.runCommand stub's script as a Nix build would: bash with
    `set -eu -o pipefail`, $out set, nativeBuildInputs on PATH."""
    out = Path(build["out"])
    if out.exists():
        out.unlink()
    env = {"PATH": ":".join(build["path"] + ["/usr/bin", "/bin"]),
           "out": str(out), "HOME": "/homeless-shelter", "TZ": "UTC"}
    return subprocess.run(["bash", "-eu", "-o", "pipefail", "-c", build["script"]],
                          capture_output=True, text=True, env=env)


# ---- unit files ------------------------------------------------------------

@dataclass
class Unit:
    """A parsed unit file: section -> list of (key, value), in file order."""
    sections: dict[str, list[tuple[str, str]]]

    @staticmethod
    def parse(text: str) -> "Unit":
        sections: dict[str, list[tuple[str, str]]] = {}
        current = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], [])
                continue
            key, _, value = line.partition("=")
            if current is None:
                raise ValueError(f"key outside a section: {raw!r}")
            current.append((key.strip(), value.strip()))
        return Unit(sections)

    def values(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def value(self, section: str, key: str) -> str | None:
        values = self.values(section, key)
        return values[-1] if values else None


def systemd_verify(unit_paths: list[Path]) -> subprocess.CompletedProcess:
    """systemd-analyze verify; it exits 0 on some errors (an invalid
    OnCalendar= line among valid ones, unknown keys): callers must treat any
    stderr output as a failure."""
    return subprocess.run(["systemd-analyze", "verify", "--man=no",
                           *[str(p) for p in unit_paths]],
                          capture_output=True, text=True,
                          cwd=unit_paths[0].parent)


def calendar_ok(expression: str) -> tuple[bool, str]:
    run = subprocess.run(["systemd-analyze", "calendar", "--iterations=2", expression],
                         capture_output=True, text=True)
    return run.returncode == 0, (run.stdout + run.stderr).strip()


def security_exposure(unit_path: Path) -> float | None:
    """Overall exposure (0 = locked down .. 10 = unprotected) of a service."""
    run = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                          "--no-pager", str(unit_path)],
                         capture_output=True, text=True, cwd=unit_path.parent)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", run.stdout)
    return float(match.group(1)) if match else None


def apply_tmpfiles(conf: Path, root: Path) -> subprocess.CompletedProcess:
    """systemd-tmpfiles --create into a scratch root."""
    return subprocess.run(["systemd-tmpfiles", "--create", f"--root={root}", str(conf)],
                          capture_output=True, text=True)


def mode_of(path: Path) -> str:
    st = path.stat()
    return f"{stat.S_IMODE(st.st_mode):04o} uid={st.st_uid} gid={st.st_gid}"


def scratch(prefix: str) -> Path:
    """A scratch directory under the test's working directory (CTest runs
    each test in the build tree), removed by the caller's cleanup."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=os.getcwd()))


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "render":
        skip_unless_tools("nix-instantiate")
        try:
            rendered = render(Path(argv[2]), Path(argv[3]), odbox_binary())
        except RenderError as e:
            sys.stderr.write(e.stderr)
            return 1
        for name in sorted(rendered.units):
            print(rendered.unit_dir / name)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
