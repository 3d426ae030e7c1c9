"""Cost of the dendritic network as it grows: simulated seconds per wall second and
synaptic events per second on every device, measured side by side in one run.

The network is the forgetting protocol's circuit at a given hidden-layer size, with
fixed in-degrees so that the number of synapses grows linearly with size:

* ``input``: Poisson neurons whose rates come from a TimedArray (one random "image" per
  75 ms presentation: 25 ms rest + 50 ms stimulus, as in mtspark_bio.circuit);
* ``context``: Poisson neurons, one group of 10 per task, the active task from a
  TimedArray; each hidden neuron's distal segments receive one task's context
  neurons through plateau-gated context plasticity (models.plasticity);
* ``hidden``: N DendriticNeurons (4 segments, plateaus), ``k_ff`` feed-forward inputs each;
* ``inhibitory``: N/5 interneurons, hidden -> interneuron -> hidden with fixed in-degrees;
* ``readout``: 10 point neurons, all hidden -> readout synapses with reward-modulated
  STDP, consolidated every presentation with a +-1 reward from a TimedArray.

Every device builds the same network (same wiring, from one numpy seed) and runs it for
the same simulated time, each configuration in its own Python process (so that peak
memory is its own). Each configuration runs twice and the second run is reported: on
numpy the first run includes code generation, so the second is its steady state. On
the standalone devices "sim" is the time the binary spent in the simulation loop; "run"
is the whole Simulation.run call (process start, initialisation, result files).

Reported per row: simulated seconds per wall second (of the run, and of the simulation
loop), synaptic events per second and per second per core (events / (loop time x
threads); numpy and cython: the run's wall time) and per CPU second (what a core does
when the machine is shared), and peak resident memory of the
Python process (building the network; the whole simulation on runtime devices) and of
the compiled binary (/usr/bin/time's maximum RSS).

``cpp1`` and ``cpp2`` write back only what is read after a run (the spike counters,
``Simulation.build(read_back=...)``); ``cpp1_all_arrays`` is ``cpp1`` writing every
array of the network as Brian2 does; ``cpp1_brian2`` additionally uses Brian2's own gcc
flags and ``cpp1_today`` also the integration method used before issue 13
(exponential_euler), so the effect of each change is measured side by side.

    python benchmarks/network_scaling.py                        # 1k and 10k neurons
    python benchmarks/network_scaling.py --sizes 1000,10000,100000 --devices cpp1,cpp2,cuda
    python benchmarks/network_scaling.py --sizes 1000,10000,100000 --skip numpy@100000
    python benchmarks/plot_scaling.py                           # the figure from the results file
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import _common

DEVICES = {  # name -> (Simulation device, threads, runtime target, gcc flags, integration method, write all)
    "numpy": ("runtime", 1, "numpy", "vectorising", "", False),
    "cython": ("runtime", 1, "cython", "vectorising", "", False),
    "cpp1": ("cpp", 1, "numpy", "vectorising", "", False),
    "cpp2": ("cpp", 2, "numpy", "vectorising", "", False),
    "cpp1_all_arrays": ("cpp", 1, "numpy", "vectorising", "", True),
    "cpp1_brian2": ("cpp", 1, "numpy", "brian2", "", True),
    "cpp1_today": ("cpp", 1, "numpy", "brian2", "exponential_euler", True),
    "cuda": ("cuda", 1, "numpy", "vectorising", "", True),
}
N_INPUT, N_TASKS, CONTEXT_PER_TASK, N_SEGMENTS, N_READOUT = 784, 5, 10, 4, 10
K_FF, K_INH_IN, K_INH_OUT = 100, 100, 50
T_REST_MS, T_PRESENT_MS, DT_MS = 25.0, 50.0, 0.25


def build(sim, n_hidden: int, duration_ms: float, seed: int = 0, integration: str = "") -> dict:
    """Add the network to ``sim``; return what is needed to count synaptic events.
    ``integration``: method of every neuron group ('' = the models' own)."""
    import dataclasses

    from brian2 import Hz, PoissonGroup, SpikeMonitor, TimedArray, ms, nS

    from mtspark_bio.models.neurons import DendriticNeuron, Interneuron, PointNeuron
    from mtspark_bio.models.plasticity import ContextParams, RSTDPParams, context_plasticity, reward_modulated_stdp, static_synapse
    from mtspark_bio.network import make_neurons, make_synapses, schedule_consolidation

    rng = np.random.default_rng(seed)
    t_sample = (T_REST_MS + T_PRESENT_MS) * ms
    n_pres = int(np.ceil(duration_ms / (T_REST_MS + T_PRESENT_MS)))
    images = rng.random((n_pres, N_INPUT)) * (rng.random((n_pres, N_INPUT)) < 0.3)
    stimulus = TimedArray(images, dt=t_sample, name="stimulus")
    task = TimedArray(rng.integers(0, N_TASKS, n_pres).astype(float), dt=t_sample, name="task")
    reward = TimedArray(rng.choice([-1.0, 1.0], n_pres), dt=t_sample, name="reward")
    presenting = "int(t - t_sample*floor(t/t_sample) >= t_rest)"
    ns = {"stimulus": stimulus, "task": task, "reward": reward, "t_sample": t_sample,
          "t_rest": T_REST_MS * ms, "input_rate": 150 * Hz, "context_rate": 60 * Hz,
          "context_per_task": CONTEXT_PER_TASK}

    n_inh = max(1, n_hidden // 5)
    inputs = PoissonGroup(N_INPUT, rates=f"stimulus(t, i)*input_rate*{presenting}", namespace=ns, name="input")
    context = PoissonGroup(N_TASKS * CONTEXT_PER_TASK,
                           rates="context_rate*int(floor(i/context_per_task) == task(t))", namespace=ns,
                           name="context")
    def spec(model):
        return dataclasses.replace(model.spec(), method=integration) if integration else model.spec()

    hidden = make_neurons(spec(DendriticNeuron(n_segments=N_SEGMENTS)), n_hidden, "hidden")
    inhibitory = make_neurons(spec(Interneuron()), n_inh, "inhibitory")
    readout_spec = spec(PointNeuron())
    readout_spec = type(readout_spec)(**{**readout_spec.__dict__,
                                         "equations": readout_spec.equations + "M : 1\n"})
    readout = make_neurons(readout_spec, N_READOUT, "readout", namespace=ns)
    readout.run_regularly("M = reward(t - 0.5*t_rest)*int(t > 0*second)", dt=t_sample, when="end", order=0,
                          name="reward_tick")

    def fixed_in_degree(n_pre, n_post, k):
        return rng.integers(0, n_pre, n_post * k), np.repeat(np.arange(n_post), k)

    pathways = {}  # name -> (source monitor name, out-degree per source neuron)
    ff = make_synapses(static_synapse("g_exc", 1.0 * nS), inputs, hidden, "ff")
    pre, post = fixed_in_degree(N_INPUT, n_hidden, K_FF)
    ff.connect(i=pre, j=post)
    ff.w = rng.uniform(0.5, 1.5, len(pre))
    pathways["ff"] = ("input", np.bincount(pre, minlength=N_INPUT))

    ctx = make_synapses(context_plasticity(N_SEGMENTS, 3 * nS, ContextParams()), context, hidden, "context_syn")
    task_of = rng.integers(0, N_TASKS, n_hidden)  # each neuron: one task's context on one segment
    pre = (task_of[:, None] * CONTEXT_PER_TASK + np.arange(CONTEXT_PER_TASK)).ravel()
    post = np.repeat(np.arange(n_hidden), CONTEXT_PER_TASK)
    ctx.connect(i=pre, j=post)
    ctx.segment = np.repeat(rng.integers(0, N_SEGMENTS, n_hidden), CONTEXT_PER_TASK)
    ctx.w = rng.uniform(0.5, 1.0, len(pre))
    pathways["context"] = ("context", np.bincount(pre, minlength=N_TASKS * CONTEXT_PER_TASK))

    to_inh = make_synapses(static_synapse("g_exc", 0.5 * nS), hidden, inhibitory, "to_inh")
    pre, post = fixed_in_degree(n_hidden, n_inh, K_INH_IN)
    to_inh.connect(i=pre, j=post)
    to_inh.w = 1.0
    pathways["to_inh"] = ("hidden", np.bincount(pre, minlength=n_hidden))
    from_inh = make_synapses(static_synapse("g_inh", 0.3 * nS), inhibitory, hidden, "from_inh")
    pre, post = fixed_in_degree(n_inh, n_hidden, K_INH_OUT)
    from_inh.connect(i=pre, j=post)
    from_inh.w = 1.0
    pathways["from_inh"] = ("inhibitory", np.bincount(pre, minlength=n_inh))

    learn = reward_modulated_stdp("g_exc", 5 * nS / np.sqrt(n_hidden / 500), RSTDPParams(), modulator="M")
    readout_syn = make_synapses(learn, hidden, readout, "readout_syn")
    readout_syn.connect()
    readout_syn.w = rng.random(n_hidden * N_READOUT) * 0.3
    schedule_consolidation(readout_syn, learn, t_sample, name="consolidate")
    pathways["readout"] = ("hidden", np.full(n_hidden, N_READOUT))

    monitors = {name: SpikeMonitor(group, record=False, name=f"{name}_count")
                for name, group in (("input", inputs), ("context", context), ("hidden", hidden),
                                    ("inhibitory", inhibitory), ("readout", readout))}
    sim.add(inputs, context, hidden, inhibitory, readout, ff, ctx, to_inh, from_inh, readout_syn,
            *monitors.values())
    # from the wiring (len(synapses) is unknown in standalone mode before a run)
    n_synapses = int(sum(outdeg.sum() for _, outdeg in pathways.values()))
    return {"monitors": monitors, "pathways": pathways, "n_synapses": n_synapses,
            "n_neurons": N_INPUT + N_TASKS * CONTEXT_PER_TASK + n_hidden + n_inh + N_READOUT}


def _folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6


def measure(device: str, n_hidden: int, duration_ms: float, build_dir: Path, repeats: int = 2) -> dict:
    """Build and run one configuration; the last of ``repeats`` runs is reported."""
    from brian2 import device as brian_device
    from brian2 import ms

    from mtspark_bio.devices import Simulation

    import brian2

    kind, threads, target, flags, integration, write_all = DEVICES[device]
    directory = build_dir / f"{device}-{n_hidden}" if kind != "runtime" else None
    rss_file = build_dir / f"{device}-{n_hidden}.rss"
    with Simulation(kind, directory=directory, seed=0, dt=DT_MS * ms, threads=threads,
                    runtime_target=target, compiler_flags=flags) as sim:
        t0 = time.perf_counter()
        net = build(sim, n_hidden, duration_ms, integration=integration)
        setup_s = time.perf_counter() - t0
        sim.build(duration_ms * ms, read_back=None if write_all else list(net["monitors"].values()))
        if kind != "runtime":  # the binary's peak RSS (kB) from GNU time
            brian2.prefs.devices.cpp_standalone.run_cmd_unix = ["/usr/bin/time", "-f", "%M", "-o",
                                                                str(rss_file), "./main"]
        sim_s, cpu_s = [], []
        for _ in range(repeats):
            cpu = _common.cpu_seconds()
            sim.run()
            cpu_s.append(_common.cpu_seconds() - cpu)
            sim_s.append(getattr(brian_device, "_last_run_time", None) if kind != "runtime" else None)
        counts = {name: np.asarray(m.count[:]) for name, m in net["monitors"].items()}
        # what each run of the binary reads at start and writes at the end (MB)
        io_mb = ({"loaded_mb": _folder_mb(sim.directory / "static_arrays"),
                  "written_mb": _folder_mb(Path(brian_device.results_dir))} if kind != "runtime" else {})
    rss_binary_mb = int(rss_file.read_text().split()[-1]) / 1024 if rss_file.exists() else None
    events = int(sum((counts[src] * outdeg).sum() for src, outdeg in net["pathways"].values()))
    run_s = sim.timings["run_s"][-1]
    duration_s = duration_ms / 1000
    hidden_rate = counts["hidden"].sum() / n_hidden / duration_s
    row = {"device": device, "n_hidden": n_hidden, "n_neurons": net["n_neurons"], "n_synapses": net["n_synapses"],
           "duration_s": duration_s, "setup_s": setup_s, "build_s": sim.timings["build_s"],
           "first_run_s": sim.timings["run_s"][0], "run_s": run_s, "sim_s": sim_s[-1],
           "cpu_s": cpu_s[-1], "realtime_cpu": duration_s / cpu_s[-1],
           "realtime": duration_s / run_s, "events": events, "events_per_s": events / run_s,
           "hidden_rate_hz": hidden_rate, "spikes": {k: int(v.sum()) for k, v in counts.items()},
           "threads": threads, "compiler_flags": flags, "integration": integration or "model default",
           "written_arrays": sim.written_arrays, **io_mb,
           "rss_python_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "rss_binary_mb": rss_binary_mb}
    loop_s = row["sim_s"] or run_s
    if row["sim_s"]:  # what a standalone run costs beyond simulating (start, load, write)
        row["fixed_s"] = run_s - row["sim_s"]
    row["realtime_sim"] = duration_s / loop_s
    row["events_per_core_s"] = events / (loop_s * threads)
    # on a loaded machine the loop's wall time includes waiting for a core; CPU time not
    row["events_per_cpu_s"] = events / row["cpu_s"] if row["cpu_s"] else None  # os.times: 10 ms ticks
    gc.collect()
    return row


def measure_in_subprocess(device: str, n_hidden: int, duration_ms: float, build_dir: Path) -> dict:
    """:func:`measure` in a fresh Python process (its own peak RSS, nothing cached)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    out = build_dir / f"{device}-{n_hidden}.json"
    out.unlink(missing_ok=True)
    subprocess.run([sys.executable, __file__, "--one", f"{device}:{n_hidden}", "--duration-ms", str(duration_ms),
                    "--build-dir", str(build_dir), "--one-output", str(out)], check=True)
    return json.loads(out.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="hidden-layer sizes, comma separated")
    parser.add_argument("--devices", default="numpy,cython,cpp1,cpp2,cuda",
                        help=f"comma list of {','.join(DEVICES)}")
    parser.add_argument("--duration-ms", type=float, default=200.0, help="simulated time per run")
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/mtspark-bench/scaling"))
    parser.add_argument("--name", default="network_scaling", help="result file name stem")
    parser.add_argument("--skip", default="", help="comma list of DEVICE@SIZE not to run (e.g. numpy@100000)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # DEVICE:SIZE, run by measure_in_subprocess
    parser.add_argument("--one-output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        device, n = args.one.split(":")
        row = measure(device, int(n), args.duration_ms, args.build_dir)
        args.one_output.write_text(json.dumps(row, default=_common._json_default))
        return 0

    info = _common.machine()
    _common.header("dendritic network scaling", info)
    from mtspark_bio.cuda_device import gpu_available, nvcc_available

    rows, skipped = [], {}
    for n in (int(s) for s in args.sizes.split(",")):
        for device in args.devices.split(","):
            if f"{device}@{n}" in args.skip.split(","):
                skipped[f"{device}@{n}"] = "--skip"
                continue
            if device == "cuda" and not (nvcc_available() and gpu_available()):
                skipped["cuda"] = ("no GPU on this machine (nvidia-smi lists none); build-only check: "
                                   "benchmarks/cuda_build.py") if nvcc_available() else "nvcc not found"
                continue
            print(f"  {device:>6} n_hidden={n} ...", flush=True)
            load_before = _common.machine()["load"]
            row = measure_in_subprocess(device, n, args.duration_ms, args.build_dir)
            row["load"] = load_before
            row["load_after"] = _common.machine()["load"]
            rows.append(row)
            print(f"         build {row['build_s']:.1f} s, run {row['run_s']:.2f} s "
                  f"({row['realtime']:.3g} x realtime), hidden {row['hidden_rate_hz']:.1f} Hz, "
                  f"load {row['load'][0]}", flush=True)
    for device, why in skipped.items():
        print(f"skipped {device}: {why}")
    print()
    print(_common.table(rows, [("device", "device", ""), ("n_hidden", "hidden", "d"), ("n_synapses", "synapses", "d"),
                               ("build_s", "build s", ".1f"), ("run_s", "run s", ".3f"), ("sim_s", "sim s", ".3f"),
                               ("realtime", "sim s/wall s", ".3g"), ("realtime_sim", "loop", ".3g"),
                               ("events_per_s", "syn events/s", ".3g"),
                               ("events_per_core_s", "events/s/core (loop)", ".3g"),
                               ("events_per_cpu_s", "events/CPU s", ".3g"), ("cpu_s", "CPU s", ".3f"), ("realtime_cpu", "sim s/CPU s", ".3g"),
                               ("fixed_s", "fixed s", ".3f"), ("loaded_mb", "loads MB", ".1f"),
                               ("written_mb", "writes MB", ".1f"), ("rss_python_mb", "RSS py MB", ".0f"), ("rss_binary_mb", "RSS bin MB", ".0f"),
                               ("hidden_rate_hz", "hidden Hz", ".1f")]))
    ratios = {}
    sizes = sorted({r["n_hidden"] for r in rows})
    by = {(r["device"], r["n_hidden"]): r for r in rows}
    print("\nratios (same size, this run; CPU time = this process + the binary, what counts on a loaded machine):")
    for n in sizes:
        for a, b in (("cpp1", "numpy"), ("cpp2", "numpy"), ("cython", "numpy"), ("cpp1", "cython"),
                     ("cpp2", "cpp1"), ("cpp1", "cpp1_all_arrays"), ("cpp1_all_arrays", "cpp1_brian2"),
                     ("cpp1", "cpp1_today"), ("cpp1_brian2", "cpp1_today"),
                     ("cuda", "cpp1"), ("cuda", "cpp2")):
            if (a, n) in by and (b, n) in by:
                ratio = by[(b, n)]["run_s"] / by[(a, n)]["run_s"]
                ratio_cpu = by[(b, n)]["cpu_s"] / by[(a, n)]["cpu_s"]
                ratios[f"{a}/{b}@{n}"] = ratio
                ratios[f"{a}/{b}@{n} (CPU time)"] = ratio_cpu
                line = f"  {a} vs {b} at {n}: {ratio:.1f}x faster in wall time, {ratio_cpu:.1f}x in CPU time"
                if by[(a, n)]["sim_s"] and by[(b, n)]["sim_s"]:
                    ratios[f"{a}/{b}@{n} (simulation loop)"] = by[(b, n)]["sim_s"] / by[(a, n)]["sim_s"]
                    line += f", {ratios[f'{a}/{b}@{n} (simulation loop)']:.2f}x in the simulation loop"
                print(line)
    print("\nfixed cost per run (binary start, loading, writing results: run minus loop), read-back only vs all arrays:")
    for n in sizes:
        if ("cpp1", n) in by and ("cpp1_all_arrays", n) in by:
            only, every = by[("cpp1", n)], by[("cpp1_all_arrays", n)]
            ratios[f"fixed cpp1_all_arrays/cpp1@{n}"] = every["fixed_s"] / only["fixed_s"]
            print(f"  {n}: {only['fixed_s']:.3f} s writing {only['written_arrays']['kept']} arrays vs "
                  f"{every['fixed_s']:.3f} s writing all ({every['fixed_s'] / only['fixed_s']:.1f}x)")
    print("\ngrowth of cost with size (run wall time relative to the smallest size):")
    growth = {}
    for device in dict.fromkeys(r["device"] for r in rows):
        mine = [(n, by[(device, n)]) for n in sizes if (device, n) in by]
        if len(mine) > 1:
            n0, r0 = mine[0]
            growth[device] = {n: r["run_s"] / r0["run_s"] for n, r in mine}
            print(f"  {device}: " + ", ".join(f"{n}: {g:.2f}x (size {n / n0:g}x)" for n, g in growth[device].items()))
    path = _common.write_result(args.name, {"duration_ms": args.duration_ms, "rows": rows, "ratios": ratios,
                                            "growth": growth, "skipped": skipped}, info)
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
