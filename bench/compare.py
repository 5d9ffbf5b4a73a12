#!/usr/bin/env python3
"""bench/compare: shufflec against ONNX Runtime, PyTorch and Halide's autoschedulers.

    /usr/bin/python3 bench/compare.py [--quick] [--rounds R] [--only NAME ...]

For every configuration (ShuffleNet V1 1x g3 at 224x224 with every system; then
0.5x g3, 1x g8, 2x g3 and 1x g3 at 480x640 and 720x1280, torchvision's
ShuffleNet V2 1.0x and MobileNet V2 against ONNX Runtime and PyTorch), with the
same weights everywhere (tools/golden.py or, for torchvision's models,
tools/torchvision_golden.py makes them and the ONNX export; MobileNet V2 is
compiled from its ONNX import):

  * shufflec: the compiled model (hand schedules, target host), bench/worker.c;
    for ShuffleNet V2 also NAME_run_rgb8 on a 640x480 image (preprocessing and
    network together)
  * shufflec + Mullapudi2016 / Li2018 / Adams2019: the same pipelines scheduled
    by Halide's autoschedulers (Adams2019 with HL_BEAM_SIZE=1, a bounded search)
  * ONNX Runtime 1.30 (npm onnxruntime-node, CPU), bench/peers/ort_worker.js
  * PyTorch (Debian's python3-torch, eager), bench/peers/torch_worker.py

Every system is a long-running worker process; the driver asks them in turn for
blocks of runs (alternating systems and thread counts, round after round) so
that machine noise hits all alike. Workers not being timed are stopped
(SIGSTOP), so no idle thread pool spins beside the one measured, then reports medians, same-run ratios
against shufflec, GMAC/s and the share of the measured FMA peak
(bench/fma_peak.c). Compiled models' outputs are checked against PyTorch's
float64 result first. Results go to stdout and to --out FILE, or to
bench/results/<cpu>.md where that file does not exist yet (an existing one
holds earlier sections folded in by hand and is left alone).
Needs tools/setup.sh --peers (ONNX Runtime) and a built tree (build/).
"""

import argparse
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
SHUFFLEC = os.path.join(ROOT, "build", "compiler", "shufflec")
PEERS = os.path.join(BENCH, "peers")
PYTHON = "/usr/bin/python3"

CONFIGS = [
    {"name": "ShuffleNet V1 1x g3, 224x224", "spec": "specs/shufflenet_v1_g3_1.0x.json", "hw": (224, 224),
     "autoschedulers": True},
    {"name": "ShuffleNet V1 0.5x g3, 224x224", "spec": "specs/shufflenet_v1_g3_0.5x.json", "hw": (224, 224)},
    {"name": "ShuffleNet V1 1x g8, 224x224", "spec": "specs/shufflenet_v1_g8_1.0x.json", "hw": (224, 224)},
    {"name": "ShuffleNet V1 2x g3, 224x224", "spec": "specs/shufflenet_v1_g3_2.0x.json", "hw": (224, 224)},
    {"name": "ShuffleNet V1 1x g3, 480x640", "spec": "specs/shufflenet_v1_g3_1.0x.json", "hw": (480, 640)},
    {"name": "ShuffleNet V1 1x g3, 720x1280", "spec": "specs/shufflenet_v1_g3_1.0x.json", "hw": (720, 1280)},
    {"name": "ShuffleNet V2 1.0x (torchvision), 224x224", "torchvision": "shufflenet_v2_x1_0",
     "spec": "specs/shufflenet_v2_x1.0.json", "hw": (224, 224), "rgb8": (640, 480)},
    {"name": "MobileNet V2 (torchvision, via ONNX), 224x224", "torchvision": "mobilenet_v2", "hw": (224, 224)},
]
AUTOSCHEDULERS = ["Mullapudi2016", "Li2018", "Adams2019"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw).stdout


class Worker:
    """A benchmark worker process speaking the "T N" line protocol."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self._read()
        if not self.info.get("ready"):
            raise RuntimeError(f"{name}: did not start")
        self.times = {}  # threads -> [ms]

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: worker exited")
        return json.loads(line)

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def block(self, threads, runs):
        self.proc.stdin.write(f"{threads} {runs}\n")
        self.proc.stdin.flush()
        self.times.setdefault(threads, []).extend(self._read()["ms"])

    def command(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        self.resume()
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def compile_model(spec, weights, hw, out, autoscheduler=None, extra=(), target="host"):
    """shufflec compile + link bench/worker.c; returns (worker path, compile seconds)."""
    os.makedirs(out, exist_ok=True)
    argv = [SHUFFLEC, "compile", spec, "--weights", weights, "--target", target, "--name", "net", "-o", out,
            "--input-shape", f"1,3,{hw[0]},{hw[1]}", "--quiet", *extra]
    env = dict(os.environ)
    if autoscheduler:
        argv += ["--autoschedule", autoscheduler]
        env["HL_BEAM_SIZE"] = "1"  # Adams2019: greedy search, a bounded compile time
    start = time.perf_counter()
    run(argv, env=env)
    seconds = time.perf_counter() - start
    exe = os.path.join(out, "worker")
    preprocess = ["-DMODEL_PREPROCESS"] if "NET_PREPROCESS" in open(os.path.join(out, "net.h")).read() else []
    run(["cc", "-O2", "-I" + out, "-DMODEL=net", "-DMODEL_UPPER=NET", '-DMODEL_HEADER="net.h"', *preprocess,
         os.path.join(BENCH, "worker.c"), os.path.join(out, "net.a"), "-lpthread", "-lm", "-o", exe])
    return exe, seconds


def fma_peak():
    """Measured GMAC/s per thread count for AVX2 (8 lanes) and, where the CPU has it, AVX-512 (16 lanes)."""
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(BENCH, "fma_peak.c")
        variants = [("avx2", ["-mavx2", "-mfma"], src)]
        flags = open("/proc/cpuinfo").read()
        if " avx512f" in flags:
            wide = os.path.join(tmp, "fma_peak512.c")
            text = open(src).read()
            for a, b in [("__m256", "__m512"), ("_mm256_", "_mm512_"), ("* 12 * 8 /", "* 12 * 16 /"),
                         ("sink[64][8]", "sink[64][16]")]:
                text = text.replace(a, b)
            open(wide, "w").write(text)
            variants.append(("avx512", ["-mavx512f", "-mfma"], wide))
        for name, flags_, path in variants:
            exe = os.path.join(tmp, "fma_" + name)
            run(["cc", "-O2", *flags_, path, "-lpthread", "-o", exe])
            for line in run([exe, "2"]).splitlines():
                m = re.match(r"fma_peak threads (\d+): ([\d.]+) GMAC/s", line)
                if m:
                    peaks[(name, int(m.group(1)))] = float(m.group(2))
    return peaks


def macs_of(spec, hw):
    info = json.loads(run([SHUFFLEC, "info", spec, "--json", "--input-shape", f"1,3,{hw[0]},{hw[1]}"]))
    return info["macs"]


def block_runs(estimate_ms):
    """Runs per block: about 0.25 s of work, between 3 and 20 runs."""
    return int(max(3, min(20, 250 / max(estimate_ms, 0.01))))


def alternate(systems, threads_list, rounds, log):
    """Times the workers in alternating rounds (forward, then backward), one block
    per system and thread count, every other worker stopped during a block; block
    sizes from one probe run each. Closes the workers; returns ({name: {threads:
    median ms}}, {name: {threads: runs}})."""
    def timed(system, threads, count):
        for other in systems:
            if other is not system:
                other.pause()
        try:
            system.block(threads, count)
        finally:
            for other in systems:
                if other is not system:
                    other.resume()

    runs = {}
    try:
        for s in systems:
            timed(s, threads_list[0], 1)
            runs[s.name] = block_runs(s.times[threads_list[0]][-1])
            s.times.clear()
        for r in range(rounds):
            for t in threads_list:
                for s in (systems if r % 2 == 0 else systems[::-1]):
                    timed(s, t, runs[s.name])
            log(f"  round {r + 1}/{rounds} done")
    finally:
        for s in systems:
            s.close()
    return ({s.name: {t: statistics.median(s.times[t]) for t in threads_list} for s in systems},
            {s.name: {t: len(s.times[t]) for t in threads_list} for s in systems})


def bench_config(cfg, work, threads_list, rounds, quick, log, tuning_logs=(), autoschedulers=True):
    h, w = cfg["hw"]
    folder = os.path.join(work, re.sub(r"[^A-Za-z0-9]+", "_", cfg["name"]))
    os.makedirs(folder, exist_ok=True)
    onnx_path = os.path.join(folder, "model.onnx")
    weights, x = os.path.join(folder, "weights.safetensors"), os.path.join(folder, "input.npy")
    if "torchvision" in cfg:
        run([PYTHON, os.path.join(ROOT, "tools", "torchvision_golden.py"), cfg["torchvision"], "-o", folder,
             "--height", str(h), "--width", str(w), "--onnx", onnx_path])
        if "spec" in cfg:
            spec = os.path.join(ROOT, cfg["spec"])
        else:  # the ONNX import is the spec, with the weights it holds
            run([SHUFFLEC, "import-onnx", onnx_path, "-o", os.path.join(folder, "imported"), "--name", "net",
                 "--preprocess", "torchvision", "--quiet"])
            spec = os.path.join(folder, "imported", "net.json")
            weights = os.path.join(folder, "imported", "net.safetensors")
        torch_args = ["--torchvision", cfg["torchvision"], os.path.join(folder, "weights.safetensors")]
    else:
        spec = os.path.join(ROOT, cfg["spec"])
        run([PYTHON, os.path.join(ROOT, "tools", "golden.py"), spec, "-o", folder, "--seed", "1", "--calibrate-bn",
             "--height", str(h), "--width", str(w), "--onnx", onnx_path])
        torch_args = [spec, weights]
    expected = np.load(os.path.join(folder, "expected.npy"))
    macs = macs_of(spec, (h, w))

    systems, compile_seconds = [], {}
    variants = [("shufflec", None, ())]
    # Tuned: the records of `shufflec tune` logs applied by workload (one per thread count).
    for threads, path in tuning_logs:
        variants.append((f"shufflec tuned for {threads}t", None, ("--tuning-log", path, "--tuning-threads", str(threads))))
    if cfg.get("autoschedulers") and autoschedulers and not quick:
        variants += [(f"shufflec + {a}", a, ()) for a in AUTOSCHEDULERS]
    for label, auto, extra in variants:
        log(f"  compiling {label} ...")
        exe, seconds = compile_model(spec, weights, (h, w), os.path.join(folder, re.sub(r"[^A-Za-z0-9]+", "_", label)),
                                     auto, extra)
        compile_seconds[label] = seconds
        worker = Worker(label, [exe, x])
        # Correctness first: the compiled output against PyTorch's float64 result.
        out_file = os.path.join(folder, "out.bin")
        worker.block(1, 1)
        worker.command("output " + out_file)
        got = np.fromfile(out_file, dtype=np.float32).reshape(expected.shape)
        err = float(np.abs(got - expected).max()) / float(np.abs(expected).max())
        if err > 1e-4:
            raise RuntimeError(f"{label}: output differs from PyTorch (relative error {err:.2e})")
        worker.times.clear()
        systems.append(worker)
        if label == "shufflec" and cfg.get("rgb8"):
            size = "%dx%d" % cfg["rgb8"]
            systems.append(Worker(f"shufflec run_rgb8, {size} image", [exe, x, size]))
    ort = Worker("ONNX Runtime", ["node", os.path.join(PEERS, "ort_worker.js"), onnx_path, "1", "3", str(h), str(w)])
    systems.append(ort)
    torch_worker = Worker("PyTorch", [PYTHON, os.path.join(PEERS, "torch_worker.py"), *torch_args, "1", "3",
                                      str(h), str(w)])
    systems.append(torch_worker)
    versions = {"ONNX Runtime": ort.info.get("version"), "PyTorch": torch_worker.info.get("version")}

    results, counts = alternate(systems, threads_list, rounds, log)
    return {"config": cfg, "macs": macs, "results": results, "counts": counts, "compile": compile_seconds,
            "versions": versions}


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def report(all_results, peaks, threads_list, rounds):
    cpu = cpu_name()
    flags = open("/proc/cpuinfo").read()
    isa = "avx512" if " avx512f" in flags else "avx2"
    lines = [f"# bench/compare on {cpu}", "",
             f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, shufflec target `host` ({isa}); "
             f"medians of {rounds} alternating rounds per system and thread count.", ""]
    lines.append("Measured FMA peak (bench/fma_peak.c, GMAC/s): " + ", ".join(
        f"{name} {t} thread{'s' if t > 1 else ''}: {v:.1f}" for (name, t), v in sorted(peaks.items())))
    lines.append("")
    for res in all_results:
        cfg, macs = res["config"], res["macs"]
        base = res["results"]["shufflec"]
        lines.append(f"## {cfg['name']} ({macs / 1e6:.1f} M MACs)")
        lines.append("")
        header = "| system | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}: ms | x shufflec | GMAC/s | % peak"
                                              for t in threads_list) + " |"
        lines.append(header)
        lines.append("|---|" + "---|---|---|---|" * len(threads_list))
        for name, per_t in res["results"].items():
            cells = []
            for t in threads_list:
                ms = per_t[t]
                gmacs = macs / ms / 1e6
                peak = peaks.get((isa, t))
                cells += [f"{ms:.3f}", f"{ms / base[t]:.2f}", f"{gmacs:.1f}", f"{100 * gmacs / peak:.0f}%" if peak else "-"]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        comp = ", ".join(f"{k} {v:.1f} s" for k, v in res["compile"].items())
        lines.append(f"Compile time (spec to library, target host): {comp}. "
                     f"Versions: ONNX Runtime {res['versions']['ONNX Runtime']}, PyTorch {res['versions']['PyTorch']}.")
        lines.append("")
    return "\n".join(lines) + "\n", cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only 1x g3 at 224x224, no autoschedulers, 3 rounds")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per configuration (7)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (1 2)")
    parser.add_argument("--only", nargs="*", help="configuration names to run (substring match)")
    parser.add_argument("--out", help="results file (default bench/results/<cpu>.md if it does not exist)")
    parser.add_argument("--no-autoschedulers", action="store_true",
                        help="skip the Halide autoscheduler builds (their compiles take minutes)")
    parser.add_argument("--tuning-log", action="append", default=[], metavar="THREADS=LOG",
                        help="also run shufflec compiled with a `shufflec tune` log's records for THREADS threads")
    args = parser.parse_args()
    if not os.path.exists(SHUFFLEC):
        sys.exit("compare.py: build shufflec first (tools/test.sh or cmake --build build)")
    if not os.path.exists(os.path.join(PEERS, "node_modules", "onnxruntime-node")):
        sys.exit("compare.py: ONNX Runtime missing: run tools/setup.sh --peers")
    configs = CONFIGS[:1] if args.quick else CONFIGS
    if args.only:
        configs = [c for c in configs if any(o in c["name"] for o in args.only)]
    rounds = 3 if args.quick and args.rounds == 7 else args.rounds
    tuning_logs = []
    for item in args.tuning_log:
        threads, _, path = item.partition("=")
        if not threads.isdigit() or not os.path.exists(path):
            parser.error(f"--tuning-log: expected THREADS=LOG with an existing log, got {item!r}")
        tuning_logs.append((int(threads), os.path.abspath(path)))

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    log("measuring the FMA peak ...")
    peaks = fma_peak()
    results = []
    with tempfile.TemporaryDirectory(prefix="shufflec-compare-") as work:
        for cfg in configs:
            log(f"{cfg['name']}:")
            results.append(bench_config(cfg, work, args.threads, rounds, args.quick, log, tuning_logs,
                                        not args.no_autoschedulers))
    text, cpu = report(results, peaks, args.threads, rounds)
    print(text)
    out = args.out or os.path.join(BENCH, "results", re.sub(r"[^A-Za-z0-9]+", "_", cpu).strip("_") + ".md")
    if not args.out and os.path.exists(out):
        # A machine's results file holds earlier sections folded in by hand:
        # a run (often of a few configurations) does not replace it.
        log(f"{out} exists: not overwritten (the report is above; --out FILE writes it)")
        return
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
