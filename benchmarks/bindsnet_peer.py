"""Our network against a peer simulator on the same task, side by side in one run.

The peer is BindsNET's Diehl & Cook (2015) network (bindsnet.models.DiehlAndCook2015:
Poisson input, an excitatory layer with STDP and adaptive thresholds, one inhibitory
neuron per excitatory neuron, lateral inhibition) with as many excitatory neurons as
our hidden layer, trained on scikit-learn's digits with our presentation times (25 ms
rest + 50 ms of Poisson input at up to 300 Hz, dt 0.25 ms). Ours is the forgetting
protocol's dendritic network (mtspark_bio.experiments.forgetting.Runner, one variant) trained on
the same digits, compiled with cpp_standalone and run chunk by chunk through run_args.
Each side runs with 1 and with 2 threads (torch.set_num_threads / OpenMP).

BindsNET runs in its own environment, never a dependency of this project (BindsNET
0.3.4 needs torch >= 2.14 and Python <= 3.11 wheels here):

    python3.11 -m venv benchmarks/.venv-peer
    benchmarks/.venv-peer/bin/pip install torch==2.14.1 torchvision==0.29.1 bindsnet==0.3.4
    python benchmarks/bindsnet_peer.py                 # ratio ours / BindsNET, samples per second

Samples per wall second are reported, and samples per CPU second, which on a shared,
loaded machine measures the work each simulator does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import _common

PEER_PYTHON = Path(__file__).resolve().parent / ".venv-peer" / "bin" / "python"
WORKER = Path(__file__).resolve().parent / "_bindsnet_worker.py"


def run_peer(python: Path, params: dict) -> dict:
    """Run the BindsNET worker in the peer environment; its last stdout line is JSON."""
    t0 = time.perf_counter()
    out = subprocess.run([str(python), str(WORKER), json.dumps(params)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"BindsNET worker failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t0  # including importing torch
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-hidden", type=int, default=500, help="our hidden neurons = BindsNET excitatory neurons")
    parser.add_argument("--samples", type=int, default=200, help="our training presentations (chunks of --chunk)")
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--peer-samples", type=int, default=20, help="BindsNET training presentations")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON)
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/mtspark-bench/forgetting"),
                        help="shared with training_throughput.py: an unchanged project is not recompiled")
    parser.add_argument("--name", default="bindsnet_peer")
    args = parser.parse_args(argv)

    info = _common.machine()
    _common.header("ours (cpp_standalone) vs BindsNET (torch, CPU) on digits", info)
    if not args.peer_python.exists():
        print(f"BindsNET environment missing ({args.peer_python}); create it as in this script's docstring")
        return 2
    from mtspark_bio.circuit import InputParams
    from training_throughput import measure

    t_rest, t_present = InputParams.t_rest_ms, InputParams.t_present_ms
    rows, ratios = [], {}
    for threads in (int(t) for t in args.threads.split(",")):
        print(f"  threads={threads}: ours ...", flush=True)
        ours = measure(f"cpp{threads}", args.samples, args.chunk, ["dendritic"], {"n_hidden": args.n_hidden},
                       args.build_dir, clean=False)
        print(f"     {ours['samples_per_s']:.1f} samples/s ({ours['samples_per_cpu_s']:.1f} per CPU s); "
              f"BindsNET ...", flush=True)
        peer = run_peer(args.peer_python, {"threads": threads, "seed": 0, "samples": args.peer_samples,
                                           "dt_ms": 0.25, "t_present_ms": t_present, "t_rest_ms": t_rest,
                                           "n_hidden": args.n_hidden, "input_rate_hz": InputParams.input_rate_hz})
        peer_cpu = peer["samples"] / peer["cpu_s"]
        print(f"     {peer['steady_samples_per_s']:.2f} samples/s ({peer_cpu:.2f} per CPU s)", flush=True)
        ratios[f"wall@{threads}"] = ours["samples_per_s"] / peer["steady_samples_per_s"]
        ratios[f"cpu@{threads}"] = ours["samples_per_cpu_s"] / peer_cpu
        rows.append({"simulator": f"ours cpp, {threads} thr", "samples_per_s": ours["samples_per_s"],
                     "samples_per_cpu_s": ours["samples_per_cpu_s"], "build_s": ours["build_s"], "detail": ours})
        rows.append({"simulator": f"BindsNET, {threads} thr", "samples_per_s": peer["steady_samples_per_s"],
                     "samples_per_cpu_s": peer_cpu, "build_s": peer["bindsnet_build_s"], "detail": peer})
    print()
    print(_common.table(rows, [("simulator", "simulator", ""), ("build_s", "build s", ".1f"),
                               ("samples_per_s", "samples/s", ".2f"), ("samples_per_cpu_s", "per CPU s", ".2f")]))
    print("\nratio ours / BindsNET (samples per second, same machine, this run):")
    for key, value in ratios.items():
        print(f"  {key}: {value:.1f}x")
    path = _common.write_result(args.name, {"n_hidden": args.n_hidden, "t_rest_ms": t_rest, "t_present_ms": t_present,
                                            "rows": rows, "ratios": ratios}, info)
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
