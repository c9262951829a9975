"""What bench/run and its parts share: running commands, timing them, and
dropping the page cache between runs."""

import os
import subprocess
import sys
import time
from pathlib import Path


def sh(cmd, env=None, check=True, capture=False):
    r = subprocess.run(cmd, env=env, check=False, text=True,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if check and r.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


def timed(cmd, env=None, ok=(0,)):
    """Wall seconds of one command."""
    start = time.monotonic()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    if r.returncode not in ok:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({r.returncode}): {r.stderr[-2000:]}")
    return wall


def timed_with_rss(cmd, env):
    """Wall seconds and peak RSS (KiB) of one run of the tool (exit 4, written
    but inconsistent, is not an error here). A small python child starts the
    tool and reports RUSAGE_CHILDREN: the largest of the tool and the
    processes it waited for (pg_dump, rsync). The tool's own ru_maxrss would
    not do: exec keeps the peak of the image it replaces, and the tool
    starts from a vfork of whoever runs it (this script is larger than it)."""
    probe = ("import resource,subprocess,sys,time;s=time.monotonic();"
             "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
             "w=time.monotonic()-s;sys.stderr.buffer.write(r.stderr[-2000:]);"
             "print(w,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
             "sys.exit(r.returncode)")
    r = subprocess.run([sys.executable, "-c", probe, *map(str, cmd)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 4):
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({r.returncode}): {r.stderr}")
    wall, rss = r.stdout.split()
    return float(wall), int(rss)


def drop_caches():
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False
