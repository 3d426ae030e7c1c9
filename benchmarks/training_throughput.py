"""Training throughput of the forgetting protocol per device, compile time and the cost
of re-runs, measured side by side in one run.

The network is the protocol's own (mtspark_bio.experiments.forgetting.Runner: the dendritic and point
variants of mtspark_bio.circuit in one simulation, 75 ms per presentation, chunks of
``--chunk`` presentations per compiled run). Each device trains on ``--samples`` images
of task 0 chunk by chunk, carrying the weights from chunk to chunk exactly as the
protocol does (Runner._run_chunk: inputs through run_args, predictions and state read
back). Reported per device:

* build: code generation + compilation (standalone) or storing the initial state
  (runtime; its code generation happens in the first run);
* first run and re-runs: wall time of each chunk through Runner._run_chunk;
* sim: the binary's own simulation-loop time (standalone), so that
  ``overhead = (re-run wall - sim) / sim`` is what a compiled re-run costs beyond
  simulating (the compile-once target: under 5 %);
* samples/s: training presentations per wall second over the re-runs, and including
  the build (what a user waits for a short protocol).

``cpp1_today`` runs the protocol with the settings before issue 13 (Brian2's own gcc
flags, exponential_euler), so ``cpp1 vs cpp1_today`` is the effect of those changes
measured side by side.

The runtime devices train on ``--runtime-samples`` (they are ~100x slower); rates are
per sample, so rows compare.

    python benchmarks/training_throughput.py
    python benchmarks/training_throughput.py --devices cpp1,cpp2,cuda --samples 500
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

import _common

# name -> (Simulation device, threads, runtime target, gcc flags, integration method);
# cpp1_today: the settings before issue 13 (Brian2's gcc flags, exponential_euler)
DEVICES = {"numpy": ("runtime", 1, "numpy", "vectorising", ""), "cython": ("runtime", 1, "cython", "vectorising", ""),
           "cpp1": ("cpp", 1, "numpy", "vectorising", ""), "cpp2": ("cpp", 2, "numpy", "vectorising", ""),
           "cpp1_today": ("cpp", 1, "numpy", "brian2", "exponential_euler"),
           "cuda": ("cuda", 1, "numpy", "vectorising", "")}


def measure(device: str, samples: int, chunk: int, variants: list[str], circuit: dict, build_dir: Path,
            clean: bool = True) -> dict:
    """Build the protocol's network on ``device`` and train it on ``samples`` images.

    clean: delete the device's project folder first, so build_s is a full compilation;
    with clean=False an unchanged project is regenerated but not recompiled (Brian2
    rewrites only files whose content changed, and make rebuilds nothing).
    """
    kind, threads, target, flags, integration = DEVICES[device]
    if clean and kind != "runtime":
        shutil.rmtree(build_dir / device, ignore_errors=True)
    if integration:
        circuit = {**circuit, "integration": integration}
    plan = _common.forgetting_plan({"variants": variants, "chunk": chunk, "circuit": circuit,
                                    "train_samples": max(samples, chunk)})
    t0 = time.perf_counter()
    runner = _common.forgetting_runner(plan, kind, build_dir=build_dir / device if kind != "runtime" else None,
                                       threads=threads, runtime_target=target, compiler_flags=flags)
    setup_s = time.perf_counter() - t0
    try:
        task = plan.tasks[0]
        order = np.resize(plan.training_order(0), samples)
        chunk_s, chunk_cpu_s = [], []
        for start in range(0, samples, chunk):
            idx = order[start:start + chunk]
            t, cpu = time.perf_counter(), _common.cpu_seconds()
            runner._run_chunk(task.x_train[idx], task.y_train[idx], np.full(len(idx), task.index), True)
            chunk_s.append(time.perf_counter() - t)
            chunk_cpu_s.append(_common.cpu_seconds() - cpu)
        timings = runner.sim.timings
        simulated_s = float(runner.stimuli.duration / _second())
    finally:
        runner.close()
    n_chunks = len(chunk_s)
    reruns = chunk_s[1:] or chunk_s
    rerun_cpu = chunk_cpu_s[1:] or chunk_cpu_s
    row = {"device": device, "chunk": chunk, "samples": samples, "chunks": n_chunks, "simulated_s_per_chunk": simulated_s,
           "setup_and_build_s": setup_s, "build_s": timings["build_s"], "first_run_s": chunk_s[0],
           "rerun_s": float(np.mean(reruns)), "chunk_s": chunk_s, "sim_run_s": list(timings["run_s"]),
           "samples_per_s": (samples - (chunk if n_chunks > 1 else 0)) / sum(reruns),
           "chunk_cpu_s": chunk_cpu_s,
           "samples_per_cpu_s": (samples - (chunk if n_chunks > 1 else 0)) / sum(rerun_cpu),
           "samples_per_s_with_build": samples / (setup_s + sum(chunk_s))}
    if kind != "runtime":
        sim_s = [s for s in timings["sim_s"][1:] or timings["sim_s"] if s]
        binary_s = timings["binary_s"][1:] or timings["binary_s"]
        row.update(sim_s=float(np.mean(sim_s)), binary_s=float(np.mean(binary_s)),
                   simulation_run_s=float(np.mean(timings["run_s"][1:] or timings["run_s"])))
        # beyond simulating: in the binary (start-up, initialisation, writing results),
        # in Brian2's device.run (run_args files, reading back), in the protocol (predictions, state)
        row["overhead_binary_pct"] = 100 * (row["binary_s"] - row["sim_s"]) / row["sim_s"]
        row["overhead_device_run_pct"] = 100 * (row["simulation_run_s"] - row["binary_s"]) / row["sim_s"]
        row["overhead_protocol_pct"] = 100 * (row["rerun_s"] - row["simulation_run_s"]) / row["sim_s"]
        row["rerun_overhead_pct"] = 100 * (row["rerun_s"] - row["sim_s"]) / row["sim_s"]
    return row


def _second():
    from brian2 import second

    return second


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="numpy,cython,cpp1,cpp2,cuda", help=f"comma list of {','.join(DEVICES)}")
    parser.add_argument("--samples", type=int, default=400, help="training presentations (compiled devices)")
    parser.add_argument("--runtime-samples", type=int, default=20, help="training presentations (runtime devices)")
    parser.add_argument("--chunk", type=int, default=100, help="presentations per compiled run (protocol default)")
    parser.add_argument("--runtime-chunk", type=int, default=10)
    parser.add_argument("--variants", default="dendritic")
    parser.add_argument("--circuit", default="{}", help="JSON CircuitConfig overrides")
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/mtspark-bench/forgetting"))
    parser.add_argument("--reuse-build", action="store_true",
                        help="keep the compiled projects in --build-dir (build time is then a no-change rebuild)")
    parser.add_argument("--name", default="training_throughput")
    args = parser.parse_args(argv)

    info = _common.machine()
    _common.header("forgetting protocol: training throughput", info)
    from mtspark_bio.cuda_device import gpu_available, nvcc_available

    rows, skipped = [], {}
    for device in args.devices.split(","):
        if device == "cuda" and not (nvcc_available() and gpu_available()):
            skipped["cuda"] = "no GPU on this machine (nvidia-smi lists none)" if nvcc_available() else "nvcc not found"
            continue
        runtime = DEVICES[device][0] == "runtime"
        print(f"  {device} ...", flush=True)
        row = measure(device, args.runtime_samples if runtime else args.samples,
                      args.runtime_chunk if runtime else args.chunk, args.variants.split(","),
                      json.loads(args.circuit), args.build_dir, clean=not args.reuse_build)
        row["load"] = _common.machine()["load"]
        rows.append(row)
        print(f"     build {row['build_s']:.1f} s, first run {row['first_run_s']:.2f} s, re-run {row['rerun_s']:.2f} s, "
              f"{row['samples_per_s']:.1f} samples/s" + (f", re-run overhead {row['rerun_overhead_pct']:.1f} % of sim"
                                                         if "rerun_overhead_pct" in row else ""), flush=True)
    for device, why in skipped.items():
        print(f"skipped {device}: {why}")
    print()
    print(_common.table(rows, [("device", "device", ""), ("chunk", "chunk", "d"), ("build_s", "build s", ".1f"),
                               ("first_run_s", "1st run s", ".2f"), ("rerun_s", "re-run s", ".3f"),
                               ("sim_s", "sim s", ".3f"), ("samples_per_s", "samples/s", ".1f"),
                               ("samples_per_s_with_build", "incl. build", ".1f"),
                               ("samples_per_cpu_s", "per CPU s", ".1f"),
                               ("rerun_overhead_pct", "overhead %", ".1f"), ("overhead_binary_pct", "binary %", ".1f"),
                               ("overhead_device_run_pct", "device.run %", ".1f"),
                               ("overhead_protocol_pct", "protocol %", ".1f")]))
    by = {r["device"]: r for r in rows}
    ratios = {}
    print("\nratios (samples/s, this run):")
    for a, b in (("cpp1", "numpy"), ("cpp2", "numpy"), ("cython", "numpy"), ("cpp1", "cython"), ("cpp2", "cpp1"),
                 ("cpp1", "cpp1_today"), ("cuda", "cpp1"), ("cuda", "cpp2")):
        if a in by and b in by:
            ratios[f"{a}/{b}"] = by[a]["samples_per_s"] / by[b]["samples_per_s"]
            print(f"  {a} vs {b}: {ratios[f'{a}/{b}']:.1f}x")
    for r in rows:
        if "rerun_overhead_pct" in r:
            verdict = "meets" if r["rerun_overhead_pct"] < 5 else "misses"
            print(f"  compile-once target on {r['device']}: re-run costs {r['rerun_overhead_pct']:.1f} % of its "
                  f"simulation time ({verdict} < 5 %)")
    path = _common.write_result(args.name, {"rows": rows, "ratios": ratios, "skipped": skipped,
                                            "variants": args.variants, "circuit": args.circuit}, info)
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
