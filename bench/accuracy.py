#!/usr/bin/python3
"""accuracy.py - the accuracy panel: hogmf and LIBMF side by side on the same splits.

Two modes:
  panel (default)  every set: hogmf with its defaults (plus --hogmf-opts), optionally hogmf
                   after `hogmf tune`, LIBMF with its defaults and a small grid; best validation
                   RMSE, its epoch, wall seconds from process start to it and to the other
                   tool's best (+0.001); panel.json, panel.txt and one PNG per set.
  candidates       every candidate line of hogmf train options on every set; a matrix of best
                   validation RMSE and a leave-one-set-out table (for choosing defaults).
It measures only: it never changes hogmf or LIBMF, and it copies no data into the repository
(splits and converted files go to bench/data/accuracy/, which git ignores).
Debian's /usr/bin/python3, standard library only; plots with gnuplot (pngcairo).

  python3 bench/accuracy.py [--sets a,b] [--threads N] [--hogmf-opts "..."] [--with-tune S]
  python3 bench/accuracy.py candidates --file CANDS [--sets a,b] [--threads N]
"""

import argparse
import hashlib
import json
import math
import os
import re
import selectors
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------- the sets
# kind "folds": given train/test files; "split": a ratings file split 90/10 by `hogmf split`;
# "gen": `hogmf gen` then the same split. size_class says which speed target applies.
SETS = [
    {"name": "ml-100k", "kind": "folds", "dir": "data/ml-100k",
     "folds": [("u%d" % i, "u%d.base" % i, "u%d.test" % i) for i in range(1, 6)],
     "domain": "movies, 1-5"},
    {"name": "epinions", "kind": "split", "file": "data/panel/epinions/ratings.tsv",
     "domain": "product reviews, 1-5"},
    {"name": "ciao", "kind": "split", "file": "data/panel/ciao/ratings.tsv",
     "domain": "product reviews, 0-5"},
    {"name": "movietweetings", "kind": "split", "file": "data/panel/movietweetings/ratings.tsv",
     "domain": "movies, 0-10"},
    {"name": "synth-1m", "kind": "gen", "gen": ["--users", "20000", "--items", "5000",
                                                "--ratings", "1000000", "--rank", "16",
                                                "--noise", "0.5", "--seed", "1"],
     "domain": "hogmf gen, 20k x 5k, rank 16, noise 0.5"},
    {"name": "synth-10m", "kind": "gen", "gen": ["--users", "70000", "--items", "10000",
                                                 "--ratings", "10000000", "--rank", "16",
                                                 "--noise", "0.5", "--seed", "1"],
     "domain": "hogmf gen, 70k x 10k, rank 16, noise 0.5"},
]
SET_NAMES = [s["name"] for s in SETS]
SPLIT_FRACTION = "0.1"
SPLIT_SEED = "1"
LIBMF_GRID = [(k, l2) for k in (32, 100) for l2 in (0.02, 0.05, 0.1)]
MARGIN = 0.001  # "reaches the other tool's best": at or below that best + MARGIN


def log(msg):
    print("accuracy: " + msg, file=sys.stderr, flush=True)


def speed_target(s):
    """The issue's time target for a set: 3x on synthetic sets, 2x on real sets of 300K
    ratings or more (counted before the split), none otherwise."""
    if s["kind"] == "gen":
        return 3.0
    if s["kind"] == "split" and s.get("ratings_total", 0) >= 300000:
        return 2.0
    return None


# ---------------------------------------------------------------- preparing the data

def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


def to_libmf(train_in, valid_in, train_out, valid_out):
    """Writes LIBMF's `u i r` text with dense 0-based ids: training ids in order of first
    appearance, then ids seen only in validation (beyond the training ids, so LIBMF
    predicts its global average for them, as for any row it never trained). LIBMF sizes P
    and Q by the largest id, so the raw ids (MovieTweetings' IMDb ids reach 3.3M) would
    cost it memory and time hogmf's id maps do not."""
    users, items = {}, {}
    for src, dst in ((train_in, train_out), (valid_in, valid_out)):
        out = []
        with open(src) as f:
            for lineno, line in enumerate(f, 1):
                fld = line.split()
                if not fld:
                    continue
                if len(fld) < 3:
                    raise ValueError("%s:%d: expected user item rating" % (src, lineno))
                u = users.setdefault(fld[0], len(users))
                i = items.setdefault(fld[1], len(items))
                out.append("%d %d %s\n" % (u, i, fld[2]))
        write_atomic(dst, "".join(out))


def prepare(s, args):
    """Splits (and generates) the set under args.data/NAME, cached: a recipe stamp says how
    the files were made, and they are remade when it changes. Returns the folds as
    [(fold_name, train, valid, train_libmf, valid_libmf)] and fills s's counts."""
    d = os.path.join(args.data, s["name"])
    os.makedirs(d, exist_ok=True)
    stamp_path = os.path.join(d, "prepared.json")
    if s["kind"] == "folds":
        src_dir = os.path.join(args.shared, s["dir"])
        pairs = [(f, os.path.join(src_dir, b), os.path.join(src_dir, t)) for f, b, t in s["folds"]]
        sources = [p for _, b, t in pairs for p in (b, t)]
    elif s["kind"] == "split":
        src = os.path.join(args.shared, s["file"])
        sources = [src]
        pairs = [("split", os.path.join(d, "train.tsv"), os.path.join(d, "valid.tsv"))]
    else:
        sources = []
        pairs = [("split", os.path.join(d, "train.tsv"), os.path.join(d, "valid.tsv"))]
    for p in sources:
        if not os.path.isfile(p):
            raise FileNotFoundError("%s not found" % p)
    recipe = {"kind": s["kind"], "gen": s.get("gen"), "fraction": SPLIT_FRACTION,
              "seed": SPLIT_SEED, "format": 2,
              "sources": [[p, os.path.getsize(p), int(os.path.getmtime(p))] for p in sources]}
    folds = [(f, tr, va, os.path.join(d, f + ".train.libmf"), os.path.join(d, f + ".valid.libmf"))
             for f, tr, va in pairs]
    stamp = None
    if os.path.isfile(stamp_path):
        with open(stamp_path) as f:
            stamp = json.load(f)
    have = all(os.path.isfile(p) for fo in folds for p in fo[1:])
    if stamp and stamp.get("recipe") == recipe and have:
        s.update(stamp["counts"])
        return folds
    log("preparing %s in %s" % (s["name"], d))
    if s["kind"] == "gen":
        full = os.path.join(d, "all.tsv")
        check_run([args.hogmf, "gen"] + s["gen"] + ["--format", "tsv", "-o", full])
        sources = [full]
    if s["kind"] != "folds":
        check_run([args.hogmf, "split", "--test-fraction", SPLIT_FRACTION, "--seed", SPLIT_SEED,
                   sources[0], pairs[0][1], pairs[0][2]])
        total = count_lines(sources[0])
        if s["kind"] == "gen":
            os.remove(sources[0])
    for _, tr, va, trl, val in folds:
        to_libmf(tr, va, trl, val)
    counts = {"train_ratings": count_lines(folds[0][1]), "valid_ratings": count_lines(folds[0][2])}
    if s["kind"] != "folds":
        counts["ratings_total"] = total
    else:
        counts["ratings_total"] = counts["train_ratings"] + counts["valid_ratings"]
    write_atomic(stamp_path, json.dumps({"recipe": recipe, "counts": counts}, indent=1))
    s.update(counts)
    return folds


def relative(text):
    """Paths inside the checkout written relative to it (the JSON is committed)."""
    return text.replace(ROOT + "/", "") + "\n"


def check_run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stdout[-2000:]))
    return r.stdout


# ---------------------------------------------------------------- one timed run

def run_stream(cmd, parse, timeout, stop=None, stderr_path=None):
    """Runs cmd, reading its stdout as it arrives and stamping each line with wall seconds
    since just before the process was started (loading included). parse(line) returns a
    point dict or None; stop(points) returning True ends the process early (SIGTERM).
    Returns {points, rc, wall_seconds, timed_out, stopped, lines (the unparsed tail)}."""
    err = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, bufsize=0)
    except OSError as e:
        if stderr_path:
            err.close()
        return {"points": [], "rc": None, "error": str(e), "wall_seconds": 0.0,
                "timed_out": False, "stopped": False, "lines": []}
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    buf, points, other = b"", [], []
    timed_out = stopped = False
    fd = p.stdout.fileno()
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            timed_out = True
            p.kill()
            break
        if not sel.select(timeout=min(left, 1.0)):
            continue
        chunk = os.read(fd, 65536)
        now = time.monotonic() - t0
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode("utf-8", "replace")
            pt = parse(text)
            if pt is None:
                other.append(text)
                other = other[-40:]
                continue
            pt["seconds"] = round(now, 4)
            points.append(pt)
            if stop and not stopped and stop(points):
                stopped = True
                p.terminate()
    sel.close()
    rc = p.wait()
    wall = time.monotonic() - t0
    p.stdout.close()
    if stderr_path:
        err.close()
    return {"points": points, "rc": rc, "wall_seconds": round(wall, 3), "timed_out": timed_out,
            "stopped": stopped, "lines": other}


def summarise(run, what):
    """Best validation RMSE over the epochs run, its epoch and its wall seconds."""
    pts = [p for p in run["points"] if p.get("valid_rmse") is not None
           and math.isfinite(p["valid_rmse"])]
    if pts:
        b = min(pts, key=lambda p: (p["valid_rmse"], p["seconds"]))
        run.update(best_rmse=b["valid_rmse"], best_epoch=b["epoch"], best_seconds=b["seconds"],
                   epochs_run=max(p["epoch"] for p in run["points"]))
    else:
        run.update(best_rmse=None, best_epoch=None, best_seconds=None, epochs_run=0)
    ok = run["rc"] == 0 or run["stopped"]
    if not ok or not pts:
        tail = (run.get("stderr_tail") or "") + " ".join(run["lines"][-3:])
        run["error"] = run.get("error") or "%s: exit %s%s: %s" % (
            what, run["rc"], ", timed out" if run["timed_out"] else "", tail.strip()[-300:])
    run["ok"] = run["best_rmse"] is not None
    del run["lines"]
    return run


def read_tail(path, n=400):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def parse_hogmf(line):
    if not line.startswith("{"):
        return None
    try:
        ev = json.loads(line)
    except ValueError:
        return None
    if ev.get("event") != "epoch":
        return None
    v = ev.get("valid_rmse")
    return {"epoch": ev["epoch"], "valid_rmse": v if v is None else float(v),
            "train_rmse": ev.get("train_rmse"), "self_seconds": ev.get("time")}


LIBMF_LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


def parse_libmf(line):
    m = LIBMF_LINE.match(line)
    if not m:
        return None
    try:  # iteration i (0-based) is printed after its pass: epoch i + 1
        return {"epoch": int(m.group(1)) + 1, "train_rmse": float(m.group(2)),
                "valid_rmse": float(m.group(3))}
    except ValueError:
        return None


def run_hogmf(args, opts, train, valid, threads, label):
    tmp = tempfile.mkdtemp(prefix="hogmf-acc-")
    try:
        cmd = [args.hogmf, "train", "--json", "--threads", str(threads)] + opts + \
              ["--validate", valid, "-o", os.path.join(tmp, "model"), train]
        errp = os.path.join(tmp, "stderr")
        run = run_stream(cmd, parse_hogmf, args.run_timeout, stderr_path=errp)
        run["stderr_tail"] = read_tail(errp) if run["rc"] != 0 else ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    run.update(tool="hogmf", config=label, cmd=" ".join(shlex.quote(c) for c in cmd))
    return summarise(run, "hogmf train")


def libmf_stop(patience):
    """Stops LIBMF after `patience` iterations without a new best validation RMSE (it has no
    early stopping of its own; the best over the iterations run is kept)."""
    def stop(points):
        if patience <= 0:
            return False
        best_i = min(range(len(points)), key=lambda i: points[i]["valid_rmse"])
        return len(points) - 1 - best_i >= patience
    return stop


def run_libmf(args, k, l2, train, valid, threads):
    tmp = tempfile.mkdtemp(prefix="libmf-acc-")
    opts = [] if k is None else ["-k", str(k), "-l2", str(l2)]
    try:
        cmd = [os.path.join(args.libmf_dir, "mf-train")] + opts + \
              ["-t", str(args.libmf_iters), "-s", str(threads), "-p", valid, train,
               os.path.join(tmp, "model")]
        errp = os.path.join(tmp, "stderr")
        run = run_stream(cmd, parse_libmf, args.run_timeout, stop=libmf_stop(args.libmf_patience),
                         stderr_path=errp)
        run["stderr_tail"] = read_tail(errp) if run["rc"] != 0 else ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    label = "defaults (k 8, l2 0.1)" if k is None else "k %d, l2 %g" % (k, l2)
    run.update(tool="libmf", config=label, k=k, l2=l2,
               cmd=" ".join(shlex.quote(c) for c in cmd))
    return summarise(run, "mf-train")


def run_tune(args, train, threads):
    """`hogmf tune --seconds S` on the training part (its own hold-out); returns the options
    of the train line it printed (without -o and the file) and the seconds it took."""
    cmd = [args.hogmf, "tune", "--seconds", str(args.with_tune), "--threads", str(threads),
           "-q"] + shlex.split(args.tune_opts) + [train]
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=args.with_tune * 3 + 600)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError("hogmf tune: exit %d: %s" % (r.returncode, r.stderr[-300:]))
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("hogmf train ")]
    if not lines:
        raise RuntimeError("hogmf tune printed no train line")
    words = shlex.split(lines[-1])[2:-1]  # drop "hogmf train" and the file
    opts = []
    i = 0
    while i < len(words):
        if words[i] in ("-o", "--output"):
            i += 2
            continue
        opts.append(words[i])
        i += 1
    return opts, round(secs, 2)


def seconds_to(run, target):
    """Wall seconds at the first epoch at or below target; None when never reached."""
    if not run or not run.get("ok") or target is None:
        return None
    for p in run["points"]:
        if p.get("valid_rmse") is not None and p["valid_rmse"] <= target:
            return p["seconds"]
    return None


def mean(xs):
    xs = list(xs)
    if not xs or any(x is None for x in xs):
        return None
    return sum(xs) / len(xs)


# ---------------------------------------------------------------- panel mode

def panel_set(s, args, libmf_ok):
    folds = prepare(s, args)
    out = {"name": s["name"], "kind": s["kind"], "domain": s["domain"],
           "train_ratings": s["train_ratings"], "valid_ratings": s["valid_ratings"],
           "ratings_total": s["ratings_total"], "folds": []}
    hopts = shlex.split(args.hogmf_opts)
    for fname, tr, va, trl, val in folds:
        log("%s %s: hogmf %s" % (s["name"], fname, args.hogmf_opts or "(defaults)"))
        fold = {"fold": fname, "train": tr, "valid": va, "runs": {}}
        fold["runs"]["hogmf"] = run_hogmf(args, hopts, tr, va, args.threads,
                                          args.hogmf_opts or "defaults")
        if args.with_tune:
            log("%s %s: hogmf tune --seconds %g" % (s["name"], fname, args.with_tune))
            try:
                topts, tsecs = run_tune(args, tr, args.threads)
                run = run_hogmf(args, topts, tr, va, args.threads, " ".join(topts))
                run["tune_seconds"] = tsecs
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                run = {"tool": "hogmf", "config": "tune", "ok": False, "error": str(e),
                       "points": [], "best_rmse": None}
            fold["runs"]["hogmf_tuned"] = run
        if libmf_ok:
            configs = [(None, None)] + (LIBMF_GRID if args.libmf_grid == "on" else [])
            for k, l2 in configs:
                key = "libmf_default" if k is None else "libmf_k%d_l2_%g" % (k, l2)
                log("%s %s: LIBMF %s" % (s["name"], fname, key))
                fold["runs"][key] = run_libmf(args, k, l2, trl, val, args.threads)
        out["folds"].append(fold)
    out["summary"] = summarise_set(s, out)
    return out


def summarise_set(s, out):
    folds = out["folds"]
    keys = list(folds[0]["runs"].keys())

    def runs(key):
        return [f["runs"].get(key) for f in folds]

    def best(key):
        rs = runs(key)
        if any(r is None or not r.get("ok") for r in rs):
            return None
        return mean(r["best_rmse"] for r in rs)

    libmf_keys = [k for k in keys if k.startswith("libmf")]
    scored = [(best(k), k) for k in libmf_keys if best(k) is not None]
    libmf_best = min(scored)[1] if scored else None
    sm = {"libmf_best": libmf_best, "rows": []}

    def targets(key):
        if key is None:
            return [None] * len(folds)
        return [r["best_rmse"] + MARGIN if r and r.get("ok") else None for r in runs(key)]

    t_libmf, t_hogmf = targets(libmf_best), targets("hogmf")
    row_keys = []
    for k in ("hogmf", "hogmf_tuned", "libmf_default", libmf_best):
        if k in keys and k not in row_keys:
            row_keys.append(k)
    for key in row_keys:
        rs = runs(key)
        okr = [r for r in rs if r and r.get("ok")]
        to_l = [seconds_to(r, t) for r, t in zip(rs, t_libmf)]
        to_h = [seconds_to(r, t) for r, t in zip(rs, t_hogmf)]
        row = {"key": key, "tool": rs[0].get("tool"),
               "config": rs[0].get("config") if len(rs) == 1 or key != "hogmf_tuned"
               else "per fold",
               "ok_folds": len(okr), "folds": len(rs),
               "best_rmse": best(key),
               "best_epoch": mean(r["best_epoch"] for r in okr) if len(okr) == len(rs) else None,
               "best_seconds": mean(r["best_seconds"] for r in okr) if len(okr) == len(rs)
               else None,
               "seconds_to_libmf_best": mean(to_l), "reached_libmf_best": sum(
                   x is not None for x in to_l),
               "seconds_to_hogmf_best": mean(to_h), "reached_hogmf_best": sum(
                   x is not None for x in to_h),
               "errors": [r.get("error") or "no result" for r in rs
                          if not r or not r.get("ok") or r.get("error")]}
        if key == "hogmf_tuned":
            row["tune_seconds"] = mean(r.get("tune_seconds") for r in rs)
        if key == libmf_best and len(libmf_keys) > 1:
            row["grid_best"] = True
        sm["rows"].append(row)
    rowd = {r["key"]: r for r in sm["rows"]}
    h = rowd.get("hogmf")
    lb = rowd.get(libmf_best) if libmf_best else None
    if h and lb and h["best_rmse"] is not None and lb["best_rmse"] is not None:
        sm["hogmf_vs_libmf_percent"] = 100.0 * (h["best_rmse"] / lb["best_rmse"] - 1)
        sm["accuracy_target_met"] = h["best_rmse"] <= lb["best_rmse"]
        # Over the folds where hogmf reached LIBMF's best + MARGIN (LIBMF always reaches it).
        both = [(seconds_to(lr, t), seconds_to(hr, t)) for lr, hr, t in
                zip(runs(libmf_best), runs("hogmf"), t_libmf)]
        both = [(a, b) for a, b in both if a is not None and b is not None]
        sm["speed_folds"] = [len(both), len(folds)]
        tl, th = mean(a for a, _ in both), mean(b for _, b in both)
        sm["libmf_seconds_to_own_best"] = tl
        sm["hogmf_seconds_to_libmf_best"] = th
        sm["speedup_to_libmf_best"] = tl / th if tl and th else None
    sm["speed_target"] = speed_target(s)
    if sm["speed_target"] and lb:  # missed too when hogmf never reached LIBMF's best
        sp, nf = sm.get("speedup_to_libmf_best"), sm.get("speed_folds", [0, 1])
        sm["speed_target_met"] = bool(sp is not None and nf[0] == nf[1] and
                                      sp >= sm["speed_target"])
    t = rowd.get("hogmf_tuned")
    if h and t and h["best_rmse"] is not None and t["best_rmse"] is not None:
        sm["hogmf_vs_tuned_percent"] = 100.0 * (h["best_rmse"] / t["best_rmse"] - 1)
        sm["tune_target_met"] = sm["hogmf_vs_tuned_percent"] <= 0.3
    grid = []
    for k in libmf_keys:
        grid.append({"key": k, "best_rmse": best(k)})
    sm["libmf_grid"] = grid
    return sm


def fmt(x, f="%.4f", none="-"):
    return none if x is None else f % x


def label_of(row):
    if row["key"] == "libmf_default" and row.get("grid_best"):
        return "LIBMF defaults (grid best)"
    if row["key"] == "libmf_default":
        return "LIBMF defaults"
    if row["key"].startswith("libmf"):
        return "LIBMF grid best: " + row["config"]
    if row["key"] == "hogmf":
        return "hogmf " + row["config"]
    return "hogmf tuned"


def panel_text(result):
    m = result["meta"]
    L = []
    L.append("hogmf vs LIBMF accuracy panel (bench/accuracy.py), %s" % m["date"])
    L.append("machine: %s, %d cores; threads %d; load average %s at the start, %s at the end; "
             "commit %s" % (m["cpu"], m["cores"], m["threads"], m["loadavg_start"],
                            m["loadavg_end"], m.get("commit", "?")))
    L.append("hogmf: %s train %s (its own epoch cap and early stopping); LIBMF: %s" % (
        m["hogmf_version"], m["hogmf_opts"] or "(defaults)",
        "mf-train -t %d (iterations), stopped after %d iterations without a new best; "
        "defaults (k 8, l2 0.1)%s" % (m["libmf_iters"], m["libmf_patience"],
                                      " and grid k 32/100 x l2 0.02/0.05/0.1"
                                      if m["libmf_grid"] == "on" else "")
        if m["libmf"] else "SKIPPED (%s)" % m["libmf_skipped"]))
    L.append("best = lowest validation RMSE over the epochs run (LIBMF's grid best is picked on "
             "the validation set: an optimistic LIBMF);")
    L.append("s = wall seconds from process start (loading included) to the epoch line's "
             "arrival; ->L / ->H = seconds to LIBMF's / hogmf's best + %.3f" % MARGIN)
    L.append("ML-100K: means over u1..u5 (per fold in panel.json). Timings are wall-clock "
             "beside whatever else the machine ran (load averages above): compare within one "
             "run.")
    L.append("")
    hdr = "%-16s %-44s %8s %6s %7s %7s %7s" % ("set", "run", "best", "epoch", "s best",
                                                 "s ->L", "s ->H")
    for st in result["sets"]:
        if st.get("error"):
            L.append("%-16s FAILED: %s" % (st["name"], st["error"]))
            L.append("")
            continue
        sm = st["summary"]
        L.append(hdr)
        head = "%s" % st["name"]
        sub = "%d/%d" % (st["train_ratings"], st["valid_ratings"])
        for i, r in enumerate(sm["rows"]):
            nr = ""
            if r["folds"] > 1 and sm.get("libmf_best"):
                if r["reached_libmf_best"] < r["folds"] or r["reached_hogmf_best"] < r["folds"]:
                    nr = "  (reached in %d/%d, %d/%d folds)" % (
                        r["reached_libmf_best"], r["folds"], r["reached_hogmf_best"], r["folds"])
            L.append("%-16s %-44s %8s %6s %7s %7s %7s%s" % (
                head if i == 0 else (sub if i == 1 else ""), label_of(r)[:44],
                fmt(r["best_rmse"]), fmt(r["best_epoch"], "%.1f" if r["folds"] > 1 else "%.0f"),
                fmt(r["best_seconds"], "%.2f"), fmt(r["seconds_to_libmf_best"], "%.2f"),
                fmt(r["seconds_to_hogmf_best"], "%.2f"), nr))
            for e in r["errors"]:
                L.append("%-16s   error: %s" % ("", " ".join(e.split())[:200]))
            if r["key"] == "hogmf_tuned" and r.get("tune_seconds") is not None:
                L.append("%-16s   (tune took %.1f s%s before this run; it chose %s)" % (
                    "", r["tune_seconds"], " per fold" if r["folds"] > 1 else "",
                    "one line per fold, in panel.json" if r["folds"] > 1 else r["config"]))
        if sm.get("libmf_grid"):
            L.append("%-16s LIBMF runs: %s" % ("", ", ".join(
                "%s %s" % (g["key"].replace("libmf_", "").replace("_l2_", " l2 "),
                           fmt(g["best_rmse"])) for g in sm["libmf_grid"])))
        verdict = []
        if sm.get("hogmf_vs_libmf_percent") is not None:
            verdict.append("hogmf vs LIBMF best %+.2f%% (target <= 0: %s)" % (
                sm["hogmf_vs_libmf_percent"], "met" if sm["accuracy_target_met"] else "MISSED"))
        if sm.get("speedup_to_libmf_best") is not None:
            nf = sm["speed_folds"]
            verdict.append("to LIBMF's best+%.3f: LIBMF %.2f s, hogmf %.2f s = %.2fx%s" % (
                MARGIN, sm["libmf_seconds_to_own_best"], sm["hogmf_seconds_to_libmf_best"],
                sm["speedup_to_libmf_best"],
                "" if nf[1] == 1 else " (the %d of %d folds where hogmf reached it)" % tuple(nf)))
        elif sm.get("libmf_best"):
            verdict.append("hogmf never reached LIBMF's best+%.3f" % MARGIN)
        if sm.get("speed_target"):
            verdict.append("(target %gx: %s)" % (sm["speed_target"],
                                                  "met" if sm.get("speed_target_met")
                                                  else "MISSED"))
        if sm.get("hogmf_vs_tuned_percent") is not None:
            verdict.append("hogmf vs tuned %+.2f%% (target <= 0.3%%: %s)" % (
                sm["hogmf_vs_tuned_percent"], "met" if sm["tune_target_met"] else "MISSED"))
        if verdict:
            L.append("%-16s => %s" % ("", "; ".join(verdict)))
        L.append("")
    L.append("total wall seconds: %.0f" % m["total_seconds"])
    return "\n".join(L) + "\n"


def plot_set(st, outdir, plotdir):
    """validation RMSE against wall seconds (log x), both tools, and LIBMF's best + margin;
    fold u1 for ML-100K."""
    fold = st["folds"][0]
    sm = st["summary"]
    keys = [r["key"] for r in sm["rows"]]
    series = []
    for key in keys:
        run = fold["runs"].get(key)
        if not run or not run.get("points"):
            continue
        pts = [p for p in run["points"] if p.get("valid_rmse") is not None
               and math.isfinite(p["valid_rmse"])]
        if not pts:
            continue
        path = os.path.join(plotdir, "%s_%s.dat" % (st["name"], key))
        with open(path, "w") as f:
            f.write("# seconds valid_rmse epoch\n")
            for p in pts:
                f.write("%g %.6f %d\n" % (p["seconds"], p["valid_rmse"], p["epoch"]))
        row = [r for r in sm["rows"] if r["key"] == key][0]
        series.append((path, label_of(row), pts))
    if not series:
        return None
    allv = [p["valid_rmse"] for _, _, pts in series for p in pts]
    lo = min(allv)  # every curve's best stays in view; the first epochs may not
    hi = min(max(allv), max([lo * 1.12 + 0.01] +
                            [min(p["valid_rmse"] for p in pts) * 1.03 for _, _, pts in series]))
    lb = fold["runs"].get(sm.get("libmf_best") or "", {})
    png = os.path.join(outdir, "%s.png" % st["name"])
    title = "%s%s: validation RMSE against wall seconds from process start" % (
        st["name"], " fold %s" % fold["fold"] if len(st["folds"]) > 1 else "")
    gp = ['set terminal pngcairo size 900,560 font ",10" noenhanced',
          'set output "%s"' % os.path.basename(png), 'set title "%s"' % title,
          'set logscale x', 'set grid', 'set xlabel "wall seconds (log scale)"',
          'set ylabel "validation RMSE"', 'set key outside below',
          'set yrange [%g:%g]' % (lo - 0.003, hi)]
    styles = ["lc rgb '#d62728' pt 7", "lc rgb '#ff7f0e' pt 9", "lc rgb '#7f7f7f' pt 5",
              "lc rgb '#1f77b4' pt 5"]
    parts = []
    for i, (path, lbl, _) in enumerate(series):
        parts.append("'%s' using 1:2 with linespoints %s ps 0.6 title '%s'" % (
            os.path.relpath(path, outdir), styles[i % len(styles)], lbl.replace("'", "")))
    if lb.get("ok"):
        parts.append("%g with lines dt 2 lc rgb '#1f77b4' title 'LIBMF best + %.3f'" % (
            lb["best_rmse"] + MARGIN, MARGIN))
    gp.append("plot " + ", \\\n     ".join(parts))
    gpath = os.path.join(plotdir, "%s.gp" % st["name"])
    with open(gpath, "w") as f:
        f.write("\n".join(gp) + "\n")
    r = subprocess.run(["gnuplot", os.path.relpath(gpath, outdir)], cwd=outdir,  # relative
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        log("gnuplot failed on %s: %s" % (gpath, r.stdout[-300:]))
        return None
    return png


def machine_meta(args):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ver = subprocess.run([args.hogmf, "--version"], stdout=subprocess.PIPE, text=True,
                             timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        ver = "hogmf ?"
    try:
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                timeout=30).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        commit = "?"
    return {"cpu": cpu, "cores": os.cpu_count() or 0, "hogmf_version": ver, "commit": commit,
            "loadavg_start": "%.2f" % os.getloadavg()[0],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def libmf_available(args):
    path = os.path.join(args.libmf_dir, "mf-train")
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return True, ""
    if not os.path.isdir(os.path.join(args.shared, "anchors", "libmf")):
        return False, "no LIBMF source at %s/anchors/libmf" % args.shared
    return False, "%s not built (sh scripts/build-libmf.sh)" % path


def select_sets(args):
    names = [n.strip() for n in args.sets.split(",") if n.strip()] if args.sets else SET_NAMES
    bad = [n for n in names if n not in SET_NAMES]
    if bad:
        sys.exit("accuracy: unknown set(s) %s; the sets are %s" % (
            ", ".join(bad), ", ".join(SET_NAMES)))
    return [dict(s) for s in SETS if s["name"] in names]


def panel(args):
    t0 = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    libmf_ok, why = libmf_available(args)
    if not libmf_ok:
        log("LIBMF comparison SKIPPED: " + why)
    meta = machine_meta(args)
    meta.update(threads=args.threads, hogmf_opts=args.hogmf_opts, libmf=libmf_ok,
                libmf_skipped=why, libmf_iters=args.libmf_iters,
                libmf_patience=args.libmf_patience, libmf_grid=args.libmf_grid,
                with_tune=args.with_tune, margin=MARGIN, split_fraction=SPLIT_FRACTION,
                split_seed=SPLIT_SEED,
                command=" ".join(shlex.quote(a) for a in sys.argv))
    result = {"meta": meta, "sets": []}
    plotdir = os.path.join(args.out, "plot")
    os.makedirs(plotdir, exist_ok=True)
    for s in select_sets(args):
        try:
            st = panel_set(s, args, libmf_ok)
        except Exception as e:  # one set's failure is reported; the panel goes on
            log("%s FAILED: %s: %s" % (s["name"], type(e).__name__, e))
            st = {"name": s["name"], "error": "%s: %s" % (type(e).__name__, e)}
        result["sets"].append(st)
        meta["loadavg_end"] = "%.2f" % os.getloadavg()[0]
        meta["total_seconds"] = time.monotonic() - t0
        write_atomic(os.path.join(args.out, "panel.json"), relative(json.dumps(result, indent=1)))
        write_atomic(os.path.join(args.out, "panel.txt"), panel_text(result))
    if not args.no_plots:
        plot_all(result, args.out)
    sys.stdout.write(panel_text(result))
    log("wrote %s/panel.json, panel.txt and the plots" % args.out)


def plot_all(result, outdir):
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no plots (scripts/install-deps.sh installs it)")
        return
    plotdir = os.path.join(outdir, "plot")
    os.makedirs(plotdir, exist_ok=True)
    for st in result["sets"]:
        if not st.get("error"):
            plot_set(st, outdir, plotdir)


def replot(args):
    """Redraws the table and the plots of an existing --out/panel.json; runs nothing."""
    with open(os.path.join(args.out, "panel.json")) as f:
        result = json.load(f)
    write_atomic(os.path.join(args.out, "panel.txt"), panel_text(result))
    plot_all(result, args.out)


# ---------------------------------------------------------------- candidates mode

def read_candidates(path):
    cands = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if ":" not in line:
                sys.exit("accuracy: %s:%d: expected 'NAME: hogmf train options'" % (path, lineno))
            name, opts = line.split(":", 1)
            name = name.strip()
            if not name or name in [c[0] for c in cands]:
                sys.exit("accuracy: %s:%d: empty or repeated name '%s'" % (path, lineno, name))
            try:
                cands.append((name, shlex.split(opts)))
            except ValueError as e:
                sys.exit("accuracy: %s:%d: %s" % (path, lineno, e))
    if not cands:
        sys.exit("accuracy: %s: no candidates" % path)
    return cands


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def loso(matrix, cand_names, set_names):
    """Leave-one-set-out: for each set D, the candidate with the lowest mean relative regret
    (RMSE / the best candidate's RMSE - 1) over the other sets, and its regret on D."""
    best = {}
    for s in set_names:
        vals = [matrix[c][s] for c in cand_names if matrix[c].get(s) is not None]
        best[s] = min(vals) if vals else None

    def regret(c, s):
        v = matrix[c].get(s)
        return None if v is None or best[s] is None else v / best[s] - 1

    def mean_regret(c, sets):
        rs = [regret(c, s) for s in sets]
        return math.inf if not rs or any(r is None for r in rs) else sum(rs) / len(rs)

    rows = []
    for d in set_names:
        others = [s for s in set_names if s != d]
        chosen = min(cand_names, key=lambda c: mean_regret(c, others)) if others else None
        if chosen is not None and mean_regret(chosen, others) == math.inf:
            chosen = None
        bestc = min((c for c in cand_names if matrix[c].get(d) is not None),
                    key=lambda c: matrix[c][d], default=None)
        rows.append({"set": d, "chosen": chosen,
                     "chosen_mean_regret_others_percent":
                         None if chosen is None else 100 * mean_regret(chosen, others),
                     "chosen_rmse": None if chosen is None else matrix[chosen].get(d),
                     "best": bestc, "best_rmse": best[d],
                     "regret_percent": None if chosen is None or regret(chosen, d) is None
                     else 100 * regret(chosen, d)})
    overall = []
    for c in cand_names:
        rs = [regret(c, s) for s in set_names]
        overall.append({"candidate": c, "mean_regret_percent":
                        None if any(r is None for r in rs) else 100 * sum(rs) / len(rs),
                        "max_regret_percent":
                        None if any(r is None for r in rs) else 100 * max(rs)})
    return rows, overall


def candidates(args):
    t0 = time.monotonic()
    cands = read_candidates(args.file)
    os.makedirs(args.out, exist_ok=True)
    cache_path = args.cache or os.path.join(args.data, "candidates-cache.json")
    cache = {}
    if os.path.isfile(cache_path):
        with open(cache_path) as f:
            cache = json.load(f)
    binary = file_sha(args.hogmf)
    sets = select_sets(args)
    meta = machine_meta(args)
    meta.update(threads=args.threads, hogmf_sha256_16=binary, file=args.file,
                command=" ".join(shlex.quote(a) for a in sys.argv))
    runs = {}  # candidate -> set -> [per fold]
    set_names = []
    for s in sets:
        try:
            folds = prepare(s, args)
        except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
            log("%s FAILED to prepare: %s" % (s["name"], e))
            continue
        set_names.append(s["name"])
        for name, opts in cands:
            per = []
            for fname, tr, va, _, _ in folds:
                key = json.dumps([s["name"], fname, opts, args.threads,
                                  "" if args.ignore_binary else binary])
                if key in cache and not cache[key].get("timed_out"):
                    per.append(cache[key])
                    continue
                log("%s %s: %s: %s" % (s["name"], fname, name, " ".join(opts)))
                run = run_hogmf(args, opts, tr, va, args.threads, " ".join(opts))
                rec = {k: run.get(k) for k in ("ok", "best_rmse", "best_epoch", "best_seconds",
                                                 "epochs_run", "wall_seconds", "rc", "error",
                                                 "timed_out")}
                per.append(rec)
                if rec["ok"] or rec["rc"] in (2, 3):  # bad options and divergence are stable
                    cache[key] = rec
                    write_atomic(cache_path, json.dumps(cache, indent=0) + "\n")
            runs.setdefault(name, {})[s["name"]] = per
    names = [c[0] for c in cands]
    matrix = {c: {} for c in names}
    cells = {c: {} for c in names}
    for c in names:
        for sn in set_names:
            per = runs[c][sn]
            ok = all(r.get("ok") for r in per)
            matrix[c][sn] = mean(r["best_rmse"] for r in per) if ok else None
            cells[c][sn] = {"best_rmse": matrix[c][sn],
                            "best_epoch": mean(r["best_epoch"] for r in per) if ok else None,
                            "best_seconds": mean(r["best_seconds"] for r in per) if ok else None,
                            "folds": per}
    rows, overall = loso(matrix, names, set_names)
    meta["total_seconds"] = time.monotonic() - t0
    res = {"meta": meta, "candidates": {c: " ".join(o) for c, o in cands}, "sets": set_names,
           "matrix": cells, "leave_one_set_out": rows, "overall": overall}
    write_atomic(os.path.join(args.out, "candidates.json"), relative(json.dumps(res, indent=1)))
    L = ["hogmf defaults candidates (bench/accuracy.py candidates), %s, %d thread(s), %s" % (
        meta["date"], args.threads, meta["hogmf_version"]),
        "best validation RMSE over the epochs run (hogmf's own cap and early stopping); "
        "ML-100K = mean over u1..u5; (epoch, wall seconds to the best) below each", ""]
    for c, o in cands:
        L.append("%-14s %s" % (c + ":", " ".join(o) or "(defaults)"))
    L.append("")
    w = max([len(n) for n in names] + [9])
    L.append(("%-*s" % (w, "candidate")) + "".join(" %15s" % sn[:15] for sn in set_names) +
             "  mean regret  max regret")
    ovd = {o["candidate"]: o for o in overall}
    for c in names:
        L.append(("%-*s" % (w, c)) + "".join(" %15s" % fmt(matrix[c][sn], "%.5f", "FAILED")
                                            for sn in set_names) +
                 "  %10s%%  %9s%%" % (fmt(ovd[c]["mean_regret_percent"], "%.3f"),
                                      fmt(ovd[c]["max_regret_percent"], "%.3f")))
        L.append(("%-*s" % (w, "")) + "".join(
            " %15s" % ("(%s, %s s)" % (fmt(cells[c][sn]["best_epoch"], "%.0f"),
                                       fmt(cells[c][sn]["best_seconds"], "%.2f")))
            for sn in set_names))
    L.append("")
    L.append("leave one set out: the candidate with the lowest mean relative regret on the "
             "other sets, and how it does on the set left out")
    L.append("%-16s %-*s %10s %-*s %10s %10s" % ("set left out", w, "chosen", "its RMSE", w,
                                                  "best there", "best RMSE", "regret"))
    for r in rows:
        L.append("%-16s %-*s %10s %-*s %10s %9s%%" % (
            r["set"], w, r["chosen"] or "-", fmt(r["chosen_rmse"], "%.5f"), w, r["best"] or "-",
            fmt(r["best_rmse"], "%.5f"), fmt(r["regret_percent"], "%.3f")))
    for c in names:
        for sn in set_names:
            bad = [f for f in cells[c][sn]["folds"] if not f.get("ok")]
            if bad:
                L.append("error: %s on %s%s: %s" % (
                    c, sn, "" if len(cells[c][sn]["folds"]) == 1 else " (%d of %d folds)" % (
                        len(bad), len(cells[c][sn]["folds"])),
                    " ".join((bad[0].get("error") or "").split())[:200]))
    L.append("")
    L.append("total wall seconds: %.0f (cached runs take none)" % meta["total_seconds"])
    text = "\n".join(L) + "\n"
    write_atomic(os.path.join(args.out, "candidates.txt"), text)
    sys.stdout.write(text)


# ---------------------------------------------------------------- options

def main():
    ap = argparse.ArgumentParser(
        description="hogmf and LIBMF side by side (panel), or hogmf candidate defaults "
                    "compared leave-one-set-out (candidates).")
    ap.add_argument("mode", nargs="?", default="panel", choices=["panel", "candidates", "replot"],
                    help="panel (default), candidates, or replot: redraw panel.txt and the "
                         "PNGs from --out/panel.json")
    ap.add_argument("--sets", help="comma-separated subset of: " + ", ".join(SET_NAMES))
    ap.add_argument("--threads", type=int, help="threads of every run [2 in panel mode, "
                    "1 in candidates mode]")
    ap.add_argument("--hogmf-opts", default="", help="extra hogmf train options (panel)")
    ap.add_argument("--libmf-grid", choices=["on", "off"], default="on",
                    help="LIBMF's k 32/100 x l2 0.02/0.05/0.1 grid besides its defaults [on]")
    ap.add_argument("--libmf-iters", type=int, default=50, help="LIBMF iterations [50]")
    ap.add_argument("--libmf-patience", type=int, default=10,
                    help="stop LIBMF after N iterations without a new best; 0 never [10]")
    ap.add_argument("--with-tune", type=float, default=0, metavar="SECONDS",
                    help="also run hogmf tune --seconds S on the training part and train its "
                         "line (reported as 'hogmf tuned')")
    ap.add_argument("--tune-opts", default="", help="extra hogmf tune options")
    ap.add_argument("--file", help="candidates: one 'NAME: hogmf train options' per line")
    ap.add_argument("--cache", help="candidates: result cache "
                    "[bench/data/accuracy/candidates-cache.json]")
    ap.add_argument("--ignore-binary", action="store_true",
                    help="candidates: reuse cached results of another hogmf build")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "accuracy"))
    ap.add_argument("--data", default=os.path.join(ROOT, "bench", "data", "accuracy"),
                    help="where splits and converted files are cached")
    ap.add_argument("--shared", default=os.environ.get("HOGMF_SHARED",
                                                      os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--hogmf", default=os.path.join(ROOT, os.environ.get("BUILD", "build"),
                                                    "hogmf"))
    ap.add_argument("--libmf-dir", default=os.path.join(ROOT, "build", "libmf"))
    ap.add_argument("--run-timeout", type=float, default=900,
                    help="seconds before one run is killed [900]")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args()
    if args.threads is None:
        args.threads = 1 if args.mode == "candidates" else 2
    if args.threads < 1:
        ap.error("--threads must be at least 1")
    args.shared = os.path.normpath(args.shared)
    if args.mode != "replot" and not os.access(args.hogmf, os.X_OK):
        sys.exit("accuracy: %s not found; run make first" % args.hogmf)
    os.makedirs(args.data, exist_ok=True)
    if args.mode == "replot":
        replot(args)
    elif args.mode == "candidates":
        if not args.file:
            ap.error("candidates needs --file CANDS")
        candidates(args)
    else:
        panel(args)


if __name__ == "__main__":
    main()
