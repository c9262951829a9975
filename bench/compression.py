"""bench/run's compression figures: hot runs with zstd at several levels and
worker counts against plain hot runs, the size of the compressed dump, a
restore from it against one from the plain dump, and what a second restic
backup of each adds after a change of 1 % of the rows.

Each function takes the Bench of bench/run (its tool, env, work dir, results)."""

import json
import os
import shutil
import statistics
import subprocess
import sys

from benchlib import drop_caches, sh, timed, timed_with_rss

# (label, --compression, --compression-threads); "plain" is the baseline, and
# DEFAULT is what a run without --compression-threads gets: no worker on one
# or two CPUs, else one (core::default_compression_threads, as --help says).
DEFAULT = "zstd3_t1" if len(os.sched_getaffinity(0)) > 2 else "zstd3_t0"
MODES = [("plain", "none", None)] + [
    (f"zstd{level}_t{threads}", f"zstd:{level}", threads)
    for level, threads in ((1, 0), (1, 1), (1, 2), (3, 0), (3, 1), (3, 2), (6, 2))]


def hot_args(method, threads):
    args = ["hot", "--compression", method]
    if threads is not None:
        args += ["--compression-threads", str(threads)]
    return args


def manifest(area, db):
    return json.loads((area / "odoo" / f"{db}.manifest.json").read_text())


def bench_compression(bench, db, data_dir):
    """Hot reruns (the mirror already current, as on a nightly run) in each
    mode, the modes taking turns within each round, the page cache dropped
    before each run. The hot run's wall time, its dump phase, its peak RSS
    (the tool and the children it waited for) and the dump's size."""
    area = bench.work / "area-compression"
    shutil.rmtree(area, ignore_errors=True)
    timed(bench.tool_cmd(db, data_dir, area, "hot"), env=bench.env)
    runs = {label: {"wall": [], "dump": [], "rss": []} for label, _, _ in MODES}
    sizes = {}
    for _ in range(bench.args.repeat):
        for label, method, threads in MODES:
            drop_caches()
            wall, rss = timed_with_rss(
                bench.tool_cmd(db, data_dir, area, *hot_args(method, threads)), bench.env)
            dump = manifest(area, db)["dump"]
            runs[label]["wall"].append(wall)
            runs[label]["dump"].append(dump["seconds"])
            runs[label]["rss"].append(rss)
            sizes[label] = (dump.get("plain_bytes", dump["bytes"]), dump["bytes"])
    r = bench.results
    plain_wall = statistics.median(runs["plain"]["wall"])
    plain_dump = statistics.median(runs["plain"]["dump"])
    for label, figures in runs.items():
        r[f"compression_hot_seconds_{label}"] = statistics.median(figures["wall"])
        r[f"compression_dump_seconds_{label}"] = statistics.median(figures["dump"])
        r[f"compression_hot_peak_rss_mib_{label}"] = max(figures["rss"]) / 1024
        r[f"compression_hot_ratio_{label}"] = statistics.median(figures["wall"]) / plain_wall
        r[f"compression_dump_ratio_{label}"] = statistics.median(figures["dump"]) / plain_dump
        plain_bytes, file_bytes = sizes[label]
        r[f"compression_size_ratio_{label}"] = plain_bytes / file_bytes
    r["compression_plain_dump_mb"] = sizes["plain"][1] / 1e6
    r["compression_hot_ratio_default"] = r[f"compression_hot_ratio_{DEFAULT}"]
    r["compression_size_ratio_default"] = r[f"compression_size_ratio_{DEFAULT}"]


def restore_seconds(bench, area, db, data_dir, target):
    """One `restore --target-db` of the area's backup, the page cache dropped first."""
    drop_caches()
    seconds = timed([bench.tool, "--basedir", area, "--db", db, "--data-dir", data_dir,
                     "restore", "--target-db", target], env=bench.env)
    sh(["dropdb", target], env=bench.env)
    shutil.rmtree(data_dir / "filestore" / target)
    return seconds


def bench_compression_restore(bench, db, data_dir):
    """restore from a zstd backup (the default level and workers) against a
    restore from a plain one of the same database, alternately."""
    plain, packed = bench.work / "area-restore-plain", bench.work / "area-restore-zstd"
    for area, method in ((plain, "none"), (packed, "zstd")):
        shutil.rmtree(area, ignore_errors=True)
        timed(bench.tool_cmd(db, data_dir, area, "hot", "--compression", method), env=bench.env)
    plain_s, packed_s = [], []
    for i in range(bench.args.repeat):
        plain_s.append(restore_seconds(bench, plain, db, data_dir, f"{db}_plain_{i}"))
        packed_s.append(restore_seconds(bench, packed, db, data_dir, f"{db}_zstd_{i}"))
    r = bench.results
    r["compression_restore_plain_seconds"] = statistics.median(plain_s)
    r["compression_restore_zstd_seconds"] = statistics.median(packed_s)
    r["compression_restore_ratio"] = statistics.median(packed_s) / statistics.median(plain_s)


# Where 1 % of each bulk table's rows change: a block of consecutive ids in
# the middle, as edits gather on the records in use, and the text column changed.
EDITS = {"res_partner": "street", "mail_message": "body", "account_move_line": "name"}


def change_one_percent(bench, db):
    for table, column in EDITS.items():
        bench.psql(db, f"""
UPDATE {table} SET {column} = {column} || ' (edited)'
 WHERE id > (SELECT max(id) * 0.50 FROM {table}) AND id <= (SELECT max(id) * 0.51 FROM {table})""")
    bench.settle(db)


def restic_added(bench, repo, area, db):
    """Bytes `restic backup` of the area's dump adds to repo."""
    names = [p.name for p in (area / "odoo").glob(f"{db}.dump.sql*")]
    env = dict(bench.restic_env, RESTIC_REPOSITORY=str(repo))
    r = subprocess.run(["restic", "backup", "--json", *names], cwd=area / "odoo", env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: restic backup of {names} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])["data_added"]


def bench_compression_dedup(bench, db, data_dir):
    """A copy of the database backed up plain, with zstd in rsyncable mode (one
    worker, as libzstd has that mode only with workers) and with zstd without
    workers (no rsyncable mode, the default on one or two CPUs); each
    dump goes into a restic repository of its own; then 1 % of the rows
    change, the same hot runs follow, and a second restic backup of each dump
    gives the bytes it adds."""
    copy = f"{db}_dedup"
    sh(["dropdb", "--if-exists", copy], env=bench.env)
    sh(["createdb", "-T", db, copy], env=bench.env)
    store = data_dir / "filestore" / copy
    shutil.rmtree(store, ignore_errors=True)
    sh(["cp", "-al", data_dir / "filestore" / db, store])
    _, fresh = bench.offsite_setup()
    kinds = {"plain": ["--compression", "none"],
             "zstd_rsyncable": ["--compression", "zstd", "--compression-threads", "1"],
             "zstd_t0": ["--compression", "zstd", "--compression-threads", "0"]}
    repos, areas, first = {}, {}, {}
    for kind, args in kinds.items():
        areas[kind] = bench.work / f"area-dedup-{kind}"
        shutil.rmtree(areas[kind], ignore_errors=True)
        timed(bench.tool_cmd(copy, data_dir, areas[kind], "hot", *args), env=bench.env)
        repos[kind] = fresh(f"repo-dedup-{kind}")
        first[kind] = restic_added(bench, repos[kind], areas[kind], copy)
    change_one_percent(bench, copy)
    r = bench.results
    for kind, args in kinds.items():
        timed(bench.tool_cmd(copy, data_dir, areas[kind], "hot", *args), env=bench.env)
        added = restic_added(bench, repos[kind], areas[kind], copy)
        r[f"compression_restic_first_bytes_{kind}"] = first[kind]
        r[f"compression_restic_added_bytes_{kind}"] = added
        r[f"compression_restic_added_share_{kind}"] = added / manifest(
            areas[kind], copy)["dump"]["bytes"]
    sh(["dropdb", copy], env=bench.env)
    shutil.rmtree(store)
