"""bench/run's session-file figures: the cold downtime as the sessions directory
fills up, and the purge that now runs after Odoo is back, against find -delete.

Each function takes the Bench of bench/run (its tool, env, work dir, results)."""

import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys

from benchlib import drop_caches, timed


def make_sessions(sessions_dir, count, seed=7):
    """count Odoo-like session files, half flat (werkzeug_<sid>.sess, as
    Odoo <= 15 writes them) and half in the two-hex-digit shards of Odoo 16+."""
    rnd = random.Random(seed)
    body = b"x" * 200
    base = str(sessions_dir)
    for shard in range(256):
        os.makedirs(f"{base}/{shard:02x}", exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    for i in range(count):
        sid = "%040x" % rnd.getrandbits(160)
        path = f"{base}/werkzeug_{sid}.sess" if i % 2 == 0 else f"{base}/{sid[:2]}/{sid}"
        fd = os.open(path, flags, 0o600)
        os.write(fd, body)
        os.close(fd)


def fill(trees_and_counts):
    """Writes each (tree, count), two processes at a time, each process its
    own names (seed), so one tree may be split between both."""
    jobs = [(tree, count, seed) for seed, (tree, count) in enumerate(trees_and_counts, 7)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.starmap(make_sessions, jobs)


def cold_run(bench, db, data_dir):
    """One whole cold run (the background purge included); its JSON record."""
    args = ["--json", "--systemctl", bench.systemctl, "cold", "--marker-dir", bench.work / "run"]
    r = subprocess.run(bench.tool_cmd(db, data_dir, bench.work / "area", *args), env=bench.env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: cold run of {db} failed ({r.returncode}): {r.stderr[-3000:]}")
    return json.loads(r.stdout)


def bench_cold_sessions(bench, db, data_dir, counts):
    """Cold downtime with 0, and with each of `counts` session files in Odoo's
    sessions directory (half flat, half sharded), medians of --repeat whole
    runs each. The counts take turns (0, 200k, 1M, 0, 200k, ...), so a slow
    spell of the machine lands on each of them alike. Each run moves its
    tree aside and deletes it after Odoo is back, beside the dump."""
    sessions = data_dir / "sessions"
    downs = {n: [] for n in (0, *counts)}
    purges = {n: [] for n in counts}
    for _ in range(bench.args.repeat):
        for n in downs:
            shutil.rmtree(sessions, ignore_errors=True)
            sessions.mkdir()
            if n:
                half = n // 2
                fill([(sessions, half), (sessions, n - half)])
            os.sync()  # the tree's own write-back must not land in the downtime
            record = cold_run(bench, db, data_dir)
            purged = record["sessions"]
            if purged["method"] != "aside" or purged["files_removed"] != n:
                sys.exit(f"bench: the cold run removed {purged['files_removed']} session "
                         f"files of {n} ({purged['method']}, not moved aside)")
            downs[n].append(record["downtime_seconds"])
            if n:
                purges[n].append(record["sessions"]["seconds"])
    r = bench.results
    for n, values in downs.items():
        r[f"cold_sessions_downtime_seconds_{n}"] = statistics.median(values)
        r[f"cold_sessions_downtimes_{n}"] = values
    for n, values in purges.items():
        r[f"cold_sessions_purge_seconds_{n}"] = statistics.median(values)
    base = statistics.median(downs[0])
    for n in counts:
        r[f"cold_sessions_downtime_ratio_{n}"] = statistics.median(downs[n]) / base


def bench_purge(bench, count):
    """find -delete and `purge-sessions` (the cold run's background purge, with
    its move aside, without the stop), alternately, each on its own tree of
    `count` session files. Every tree is written first and the page cache
    dropped once, so each deletion starts cold: writing a tree right after a
    mass deletion was much slower (the disk still busy with the deletion's
    discards), which made this step dominate the run."""
    trees = [bench.work / f"sessions-{i}" for i in range(2 * bench.args.repeat)]
    for tree in trees:
        tree.mkdir()
    fill([(tree, count) for tree in trees])
    drop_caches()
    tool_s, find_s = [], []
    for find_tree, tool_tree in zip(trees[0::2], trees[1::2]):
        find_s.append(timed(["find", find_tree, "-type", "f", "-delete"]))
        tool_s.append(timed([bench.tool, "purge-sessions", "--sessions-dir", tool_tree]))
    for tree in trees:
        shutil.rmtree(tree, ignore_errors=True)
    r = bench.results
    r["purge_files"] = count
    r["purge_find_seconds"] = statistics.median(find_s)
    r["purge_seconds"] = statistics.median(tool_s)
    r["purge_ratio"] = r["purge_seconds"] / r["purge_find_seconds"]

