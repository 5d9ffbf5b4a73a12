#!/usr/bin/python3
"""Autotunes the register tiles of a model and stores them as a schedule file.

    /usr/bin/python3 tools/autotune.py SPEC [--target host] [--rounds 5] [--out FILE]

Builds the model once per candidate tile (channel_vectors x tile_x, every pair
that fits the target's registers) with per-pipeline timers (--profile), runs
the candidates round-robin, and keeps for every unit the candidate whose
pipeline was fastest (median over rounds). The result, written to
schedules/<target>/<spec name>.json (where `shufflec compile` finds it by
default), is then checked against the built-in cost model in the same
alternating way; the file is only written if the tuned model is faster.
Takes a few minutes on an idle machine; timings on a busy one mislead.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHUFFLEC = os.path.join(ROOT, "build", "compiler", "shufflec")
PROFILE = os.path.join(ROOT, "bench", "profile.c")
SHORT_TARGET = {"host": "x86-64-linux-host"}


def run(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout


def registers(target):
    flags = open("/proc/cpuinfo").read()
    if target == "x86-64-linux" or (target == "host" and " avx512f" not in flags):
        return 16
    return 32


def build(spec, target, schedule, folder):
    """Compiles with --profile and the given schedule file; returns the profile binary."""
    os.makedirs(folder, exist_ok=True)
    argv = [SHUFFLEC, "compile", spec, "--random-weights", "1", "--target", target, "--name", "tune", "-o", folder,
            "--profile", "--quiet"]
    if schedule:
        path = os.path.join(folder, "schedule.json")
        with open(path, "w") as f:
            json.dump(schedule, f)
        argv += ["--schedule", path]
    run(argv)
    exe = os.path.join(folder, "profile")
    run(["cc", "-O2", "-I" + folder, "-DMODEL=tune", "-DMODEL_UPPER=TUNE", '-DMODEL_HEADER="tune.h"', PROFILE,
         os.path.join(folder, "tune.a"), "-lpthread", "-lm", "-o", exe])
    return exe


def profile(exe, runs, threads):
    out = run([exe, str(runs), str(threads), "tsv"])
    return {name: float(ms) for name, ms in (line.split("\t") for line in out.strip().splitlines())}


def measure(exes, rounds, runs, threads, log):
    """Round-robin profiles; returns per candidate, per pipeline, the median time."""
    samples = {k: {} for k in exes}
    for r in range(rounds):
        for k, exe in (exes.items() if r % 2 == 0 else reversed(list(exes.items()))):
            for name, ms in profile(exe, runs, threads).items():
                samples[k].setdefault(name, []).append(ms)
        log(f"  round {r + 1}/{rounds}")
    return {k: {name: statistics.median(v) for name, v in per.items()} for k, per in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec")
    parser.add_argument("--target", default="host")
    parser.add_argument("--threads", type=int, default=1, help="threads while timing (1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50, help="runs per profile (50)")
    parser.add_argument("--out", help="schedule file (default schedules/<target>/<spec name>.json)")
    args = parser.parse_args()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    spec_name = json.load(open(args.spec))["name"]
    target_dir = SHORT_TARGET.get(args.target, args.target)
    out = args.out or os.path.join(ROOT, "schedules", target_dir, spec_name + ".json")
    regs = registers(args.target)
    candidates = [(v, t) for v in range(1, 7) for t in (2, 4, 5, 7, 8) if v * t + v + 1 <= regs and v * t >= 6]
    log(f"{len(candidates)} candidate tiles for {regs} vector registers")

    with tempfile.TemporaryDirectory(prefix="shufflec-tune-") as work:
        exes = {}
        for v, t in candidates:
            log(f"  building {v} x {t}")
            exes[(v, t)] = build(args.spec, args.target,
                                 {"format": "shufflec-schedule/1", "defaults": {"channel_vectors": v, "tile_x": t}},
                                 os.path.join(work, f"c{v}x{t}"))
        medians = measure(exes, args.rounds, args.runs, args.threads, log)
        pipelines = list(next(iter(medians.values())).keys())
        layers, chosen_ms = {}, 0.0
        for name in pipelines:
            (v, t), ms = min(((c, medians[c][name]) for c in candidates), key=lambda item: item[1])
            layers[name] = {"channel_vectors": v, "tile_x": t}
            chosen_ms += ms
        schedule = {"format": "shufflec-schedule/1", "target": args.target, "model": spec_name,
                    "description": f"tools/autotune.py on {cpu()} ({datetime.date.today().isoformat()}, "
                                   f"{args.threads} thread(s)): per unit, the fastest of {len(candidates)} register tiles",
                    "layers": layers}
        log("checking the tuned schedule against the built-in cost model ...")
        check = {"built-in": build(args.spec, args.target, None, os.path.join(work, "builtin")),
                 "tuned": build(args.spec, args.target, schedule, os.path.join(work, "tuned"))}
        totals = {k: sum(v.values()) for k, v in measure(check, args.rounds, args.runs, args.threads, log).items()}
    log(f"built-in {totals['built-in']:.3f} ms, tuned {totals['tuned']:.3f} ms per run")
    if totals["tuned"] >= totals["built-in"]:
        log("the tuned schedule is not faster: nothing written")
        return
    schedule["description"] += f"; {totals['built-in']:.3f} -> {totals['tuned']:.3f} ms per run when tuned"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(json.dumps(schedule, indent=2) + "\n")
    log(f"wrote {out}")


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
