"""Which integration method for the conductance-based neurons: accuracy against a
fine-step reference and cost, for the hidden dendritic neuron and the point neuron.

Each model is a population of ``--neurons`` independent cells driven by the same
pre-generated input spikes (SpikeGeneratorGroup, times on the coarse grid, so every
method sees identical input): ``--k-ff`` feed-forward inputs per cell (Poisson,
``--rate-hz``) onto g_exc, and, for the dendritic neuron, a context population onto
segment 0 that fires plateaus. Every method runs at the protocols' time step
(``--dt-ms``, 0.25 ms); the reference is rk4 at ``--reference-dt-ms`` (0.0125 ms, 20x
finer). Reported per (model, method):

* spike count error: (spikes - reference spikes) / reference spikes;
* spike-time agreement: the fraction of reference spikes with a spike of the same cell
  within 1 ms and within 2 ms (nearest spike, not one-to-one);
* cost: the compiled binary's simulation-loop time (cpp, one thread, median of
  ``--repeats`` runs) relative to exponential_euler's, measured side by side.

    python benchmarks/integration_methods.py
    python benchmarks/integration_methods.py --methods exponential_euler,euler --duration-ms 500
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

import _common

MODELS = ("dendritic", "point")
METHODS = ("exponential_euler", "euler", "rk2", "rk4")


def input_spikes(n_sources: int, rate_hz: float, duration_ms: float, dt_ms: float, seed: int):
    """Poisson spike times on the dt grid (at most one spike per source and step)."""
    rng = np.random.default_rng(seed)
    n_steps = int(round(duration_ms / dt_ms))
    steps, sources = np.nonzero(rng.random((n_steps, n_sources)) < rate_hz * dt_ms / 1000)
    return sources, steps * dt_ms


def build(sim, model: str, method: str, args) -> dict:
    from brian2 import SpikeGeneratorGroup, SpikeMonitor, ms, nS

    from mtspark_bio.models.neurons import DendriticNeuron, PointNeuron
    from mtspark_bio.models.plasticity import static_synapse
    from mtspark_bio.network import make_neurons, make_synapses

    rng = np.random.default_rng(args.seed)
    spec = (DendriticNeuron(n_segments=4) if model == "dendritic" else PointNeuron()).spec()
    cells = make_neurons(dataclasses.replace(spec, method=method), args.neurons, "cells")
    i, t = input_spikes(args.n_inputs, args.rate_hz, args.duration_ms, args.dt_ms, args.seed)
    inputs = SpikeGeneratorGroup(args.n_inputs, i, t * ms, name="inputs")
    g_ff = args.g_ff_nS if model == "dendritic" else args.g_ff_point_nS
    ff = make_synapses(static_synapse("g_exc", g_ff * nS), inputs, cells, "ff")
    ff.connect(i=rng.integers(0, args.n_inputs, args.neurons * args.k_ff),
               j=np.repeat(np.arange(args.neurons), args.k_ff))
    ff.w = rng.uniform(0.5, 1.5, args.neurons * args.k_ff)
    objects = [cells, inputs, ff]
    if model == "dendritic":
        i, t = input_spikes(10, args.context_rate_hz, args.duration_ms, args.dt_ms, args.seed + 1)
        context = SpikeGeneratorGroup(10, i, t * ms, name="context")
        ctx = make_synapses(static_synapse("g_ctx0", args.g_context_nS * nS), context, cells, "ctx")
        ctx.connect(p=0.5)  # half of the context neurons per cell, at random
        ctx.w = 1.0
        objects += [context, ctx]
    spikes = SpikeMonitor(cells, name="spikes")
    sim.add(*objects, spikes)
    return {"spikes": spikes}


def agreement(ref_i, ref_t, i, t, n_cells: int, tolerance_ms: float) -> float:
    """Fraction of reference spikes with a spike of the same cell within tolerance."""
    hits = 0
    for cell in range(n_cells):
        mine = np.sort(t[i == cell])
        theirs = ref_t[ref_i == cell]
        if len(theirs) == 0 or len(mine) == 0:
            continue
        pos = np.clip(np.searchsorted(mine, theirs), 1, len(mine)) if len(mine) > 1 else np.zeros(len(theirs), int)
        nearest = np.minimum(np.abs(mine[np.clip(pos, 0, len(mine) - 1)] - theirs),
                             np.abs(mine[np.clip(pos - 1, 0, len(mine) - 1)] - theirs))
        hits += int((nearest <= tolerance_ms).sum())
    return hits / max(1, len(ref_t))


def measure(model: str, method: str, dt_ms: float, args, repeats: int) -> dict:
    import brian2
    from brian2 import ms

    from mtspark_bio.devices import Simulation

    directory = args.build_dir / f"{model}-{method}-{dt_ms:g}"
    with Simulation("cpp", directory=directory, seed=args.seed, dt=dt_ms * ms) as sim:
        net = build(sim, model, method, args)
        sim.build(args.duration_ms * ms)
        for _ in range(repeats):
            sim.run()
        spikes = net["spikes"]
        row = {"model": model, "method": method, "dt_ms": dt_ms, "build_s": sim.timings["build_s"],
               "sim_s": float(np.median(sim.timings["sim_s"])), "sim_s_all": list(sim.timings["sim_s"]),
               "i": np.asarray(spikes.i[:]), "t_ms": np.asarray(spikes.t[:] / ms)}
    brian2.defaultclock.dt = 0.1 * ms
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--dt-ms", type=float, default=0.25)
    parser.add_argument("--reference-dt-ms", type=float, default=0.0125)
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--neurons", type=int, default=500)
    parser.add_argument("--n-inputs", type=int, default=200)
    parser.add_argument("--k-ff", type=int, default=50)
    parser.add_argument("--rate-hz", type=float, default=20.0)
    # ~10-20 Hz per cell (the hidden layer's range in the protocols)
    parser.add_argument("--g-ff-nS", type=float, default=1.0, help="feed-forward scale, dendritic")
    parser.add_argument("--g-ff-point-nS", type=float, default=0.7, help="feed-forward scale, point neuron")
    parser.add_argument("--context-rate-hz", type=float, default=40.0)
    parser.add_argument("--g-context-nS", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/mtspark-bench/integration"))
    parser.add_argument("--name", default="integration_methods")
    args = parser.parse_args(argv)

    info = _common.machine()
    _common.header("integration methods against a fine-step rk4 reference", info)
    rows = []
    for model in args.models.split(","):
        print(f"  {model}: reference rk4 at {args.reference_dt_ms} ms ...", flush=True)
        ref = measure(model, "rk4", args.reference_dt_ms, args, repeats=1)
        n_ref = len(ref["i"])
        ref_row = {k: v for k, v in ref.items() if k not in ("i", "t_ms")}
        rows.append({**ref_row, "reference": True, "spikes": n_ref, "rate_hz": n_ref / args.neurons / (args.duration_ms / 1000)})
        for method in args.methods.split(","):
            print(f"  {model}: {method} at {args.dt_ms} ms ...", flush=True)
            row = measure(model, method, args.dt_ms, args, repeats=args.repeats)
            n = len(row["i"])
            rows.append({k: v for k, v in row.items() if k not in ("i", "t_ms")} | {
                "reference": False, "spikes": n, "rate_hz": n / args.neurons / (args.duration_ms / 1000),
                "count_error_pct": 100 * (n - n_ref) / max(1, n_ref),
                "within_1ms": agreement(ref["i"], ref["t_ms"], row["i"], row["t_ms"], args.neurons, 1.0),
                "within_2ms": agreement(ref["i"], ref["t_ms"], row["i"], row["t_ms"], args.neurons, 2.0),
                "load": _common.machine()["load"]})
        base = next((r for r in rows if r["model"] == model and r["method"] == "exponential_euler"
                     and not r["reference"]), None)
        for r in rows:
            if r["model"] == model and not r["reference"] and base:
                r["cost_vs_exponential_euler"] = r["sim_s"] / base["sim_s"]
    print()
    print(_common.table(rows, [("model", "model", ""), ("method", "method", ""), ("dt_ms", "dt ms", "g"),
                               ("spikes", "spikes", "d"), ("rate_hz", "Hz", ".1f"),
                               ("count_error_pct", "count err %", "+.1f"), ("within_1ms", "<=1 ms", ".2f"),
                               ("within_2ms", "<=2 ms", ".2f"), ("sim_s", "sim s", ".3f"),
                               ("cost_vs_exponential_euler", "cost vs exp_euler", ".2f")]))
    path = _common.write_result(args.name, {"settings": {k: v for k, v in vars(args).items() if k != "name"},
                                            "rows": rows}, info)
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
