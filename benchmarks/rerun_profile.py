"""Where the wall time of a compiled re-run goes, and what moving the result files to
tmpfs changes, measured side by side (alternating runs of one binary).

One re-run of the forgetting protocol's network (Runner._run_chunk on cpp_standalone)
is cut into:

* sim — the binary's own simulation loop (``last_run_info.txt``);
* binary start/end — the rest of the binary's process: loading, initialising
  (synapse creation from static arrays), writing every array to ``results/``, exit;
* device.run — Brian2's Python side: writing the run_args arrays (with file locks),
  fork/exec, reading back the state variables it checks for NaN;
* protocol — reading spike monitors and weights back for predictions and the carried state.

Runs alternate between result files on disk (the project's ``results/``, Brian2's
default) and on /dev/shm (what Simulation does from the second run on), so both see the
same load. Medians are reported; ``--cprofile`` adds a cProfile of the Python side.

    python benchmarks/rerun_profile.py                 # after training_throughput.py: reuses its cpp1 project
    python benchmarks/rerun_profile.py --chunk 10 --reps 6
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import _common


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--variants", default="dendritic")
    parser.add_argument("--reps", type=int, default=4, help="re-runs per mode (alternating)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="project folder (default /tmp/mtspark-bench/forgetting/cpp<threads>, shared with training_throughput.py)")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--name", default="rerun_profile")
    args = parser.parse_args(argv)

    info = _common.machine()
    _common.header("cpp re-run profile (forgetting network)", info)
    from brian2 import second
    from brian2.devices.device import get_device

    build_dir = args.build_dir or Path(f"/tmp/mtspark-bench/forgetting/cpp{args.threads}")
    plan = _common.forgetting_plan({"variants": args.variants.split(","), "chunk": args.chunk,
                                    "train_samples": args.chunk * (2 * args.reps + 1)})
    t0 = time.perf_counter()
    # results_in_memory off: this script chooses the results folder itself
    runner = _common.forgetting_runner(plan, "cpp", build_dir=build_dir, threads=args.threads,
                                       results_in_memory=False)
    build_s = time.perf_counter() - t0
    sim = runner.sim
    task = plan.tasks[0]
    order = plan.training_order(0)
    device = get_device()  # not the brian2.device proxy, which keeps attributes set on it
    disk = device.results_dir
    memory = tempfile.mkdtemp(prefix="mtspark-profile-", dir="/dev/shm") + os.sep
    profiler = cProfile.Profile() if args.cprofile else None
    parts = {"disk": [], "memory": []}
    try:
        for k in range(2 * args.reps + 1):
            mode = "disk" if k % 2 else "memory"
            device.results_dir = disk if mode == "disk" else memory
            idx = order[k * args.chunk:(k + 1) * args.chunk]
            start = time.perf_counter()
            if profiler and k:
                profiler.enable()
            runner._run_chunk(task.x_train[idx], task.y_train[idx], np.full(len(idx), task.index), True)
            if profiler:
                profiler.disable()
            total = time.perf_counter() - start
            if k == 0:
                continue  # the first run pays for first-time file creation in both folders
            run_s, binary_s, sim_s = (sim.timings[key][-1] for key in ("run_s", "binary_s", "sim_s"))
            parts[mode].append({"sim": sim_s, "binary start/end": binary_s - sim_s,
                                "device.run": run_s - binary_s, "protocol": total - run_s, "total": total})
    finally:
        runner.close()
        import shutil

        shutil.rmtree(memory, ignore_errors=True)
    keys = ["sim", "binary start/end", "device.run", "protocol", "total"]
    medians = {mode: {key: statistics.median(p[key] for p in runs) for key in keys} for mode, runs in parts.items()}
    print(f"\nbuild (or no-change rebuild) {build_s:.1f} s; chunk {args.chunk} presentations "
          f"({float(runner.stimuli.duration / second):.2f} s simulated); medians of {args.reps} re-runs each, ms:")
    print(f"{'part':>18} {'results on disk':>16} {'on /dev/shm':>12} {'% of sim (shm)':>15}")
    for key in keys:
        d, m = medians["disk"][key], medians["memory"][key]
        print(f"{key:>18} {1e3 * d:16.0f} {1e3 * m:12.0f} {100 * m / medians['memory']['sim']:15.1f}")
    overhead = {mode: 100 * (v["total"] - v["sim"]) / v["sim"] for mode, v in medians.items()}
    print(f"\nre-run overhead beyond simulating: {overhead['disk']:.1f} % (disk) -> {overhead['memory']:.1f} % (/dev/shm)")
    record = {"chunk": args.chunk, "variants": args.variants, "threads": args.threads, "build_s": build_s,
              "runs": parts, "medians_s": medians, "overhead_pct": overhead}
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
        record["cprofile_top"] = out.getvalue()
    path = _common.write_result(args.name, record, info)
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
