"""Our Brian2 cpp_standalone against NEST 3.10, same machine, one thread each, side by
side in one run: COBA and Brunel's current-based network, at two sizes each.

Networks (every neuron projects to a fixed number of distinct random targets in both
legs, NEST's ``fixed_outdegree``, so the larger network keeps the in-degree):

* ``coba_4k``, ``coba_40k``: COBA (Brette et al. 2007, J Comput Neurosci 23:349,
  benchmark 1; coba.py's network and parameters), 80 % excitatory, out-degree 80 (the
  benchmark's 2 % of 4 000), dt 0.1 ms, spike delivery one step after the spike in
  both legs (NEST's minimum delay). NEST: ``iaf_cond_exp`` (GSL's adaptive RKF45;
  NEST offers no other solver for it), inhibitory weights negative as NEST requires.
  Ours: the integration method of ``--coba-method`` at dt 0.1 ms.
* ``brunel_10k``, ``brunel_100k``: Brunel 2000 (J Comput Neurosci 8:183), model A,
  asynchronous irregular state (g 5, nu_ext / nu_thr 2): delta-current LIF, J 0.1 mV,
  delay 1.5 ms, tau 20 ms, theta 20 mV, reset 10 mV, refractory 2 ms, out-degree
  1 000 (in-degree 800 excitatory + 200 inhibitory), external Poisson input of 800
  synapses per neuron; input arriving during refractoriness is discarded (NEST's
  default). Both legs integrate exactly (NEST ``iaf_psc_delta``, Brian2 ``exact``),
  so the spikes decide the cost.

Equal accuracy (COBA): a probe of ``--probe-cells`` unconnected COBA neurons, each
driven by 64 excitatory and 16 inhibitory Poisson spike trains drawn once here, runs
in NEST and in Brian2 with several methods and steps, against one reference: Brian2
rk4 at dt 0.01 ms. Each is scored by spike-count error and the mean spike-time
distance to the reference's spikes (each reference spike matched to the nearest spike
of the same cell within 2 ms, after removing the leg's constant offset, the median
distance: NEST stamps a spike with the end of its step, Brian2 with the start, and the
two deliver input spikes one step apart). The table says which Brian2 setting is at
least as accurate as NEST.

Equal statistics: mean rate and mean CV of the inter-spike intervals (neurons with at
least 3 spikes), after ``--transient-ms``, per leg; the ratio is flagged when the rates
differ by more than ``--rate-tolerance`` (relative) or the CVs by more than
``--cv-tolerance``.

Per leg: build time (ours: code generation + compilation, and the binary's set-up
outside the simulation loop, synapse creation included; NEST: Create + Connect, and
Prepare), simulation-loop wall time per simulated second, synaptic events (spikes x
out-degree) per second per core in the loop, peak RSS (ours: the binary; NEST: its
Python process, with its RSS after ``import nest`` alongside).

NEST runs in its own environment (a wheel, not a dependency of this project); each
NEST network runs in a fresh process of that environment (this script, ``--nest-worker``):

    python3.12 -m venv benchmarks/.venv-nest
    benchmarks/.venv-nest/bin/pip install nest-simulator==3.10.0 numpy
    python benchmarks/nest_peer.py                       # all four networks + the probe
    python benchmarks/nest_peer.py --networks coba_4k --skip-probe
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import _common
import coba

NEST_PYTHON = Path(__file__).resolve().parent / ".venv-nest" / "bin" / "python"
DT_MS = 0.1
# name: (model, neurons, simulated ms); durations keep a default run to a few minutes
NETWORKS = {"coba_4k": ("coba", 4_000, 1000.0), "coba_40k": ("coba", 40_000, 250.0),
            "brunel_10k": ("brunel", 10_000, 300.0), "brunel_100k": ("brunel", 100_000, 100.0)}
COBA_OUT_DEGREE = 80  # 2 % of the benchmark's 4 000
BRUNEL = {"J_mV": 0.1, "g": 5.0, "eta": 2.0, "delay_ms": 1.5, "tau_ms": 20.0, "theta_mV": 20.0, "reset_mV": 10.0,
          "refractory_ms": 2.0, "out_degree": 1000, "exc_in_degree": 800}
EXC_FRACTION = 0.8
# the probe's input per cell (as the network's in-degree) and its sources
PROBE_INPUTS = {"k_exc": 64, "k_inh": 16, "n_exc_sources": 1000, "n_inh_sources": 250}
# Brian2 settings scored in the probe: (method, dt ms), cheapest first
PROBE_VARIANTS = (("euler", 0.1), ("exponential_euler", 0.1), ("rk2", 0.1), ("rk4", 0.1), ("euler", 0.05),
                  ("euler", 0.025))
REFERENCE = ("rk4", 0.01)


# --------------------------------------------------------------------------- shared
def n_excitatory(n: int) -> int:
    return int(round(EXC_FRACTION * n))


def firing_statistics(senders, times_ms, n: int, start_ms: float, stop_ms: float) -> dict:
    """Mean rate (Hz) over all n neurons and mean CV of ISIs (neurons with >= 3 spikes)
    in [start_ms, stop_ms)."""
    senders, times_ms = np.asarray(senders), np.asarray(times_ms)
    keep = (times_ms >= start_ms) & (times_ms < stop_ms)
    senders, times_ms = senders[keep], times_ms[keep]
    order = np.lexsort((times_ms, senders))
    senders, times_ms = senders[order], times_ms[order]
    isi = np.diff(times_ms)
    same = senders[1:] == senders[:-1]
    cell, isi = senders[1:][same], isi[same]
    count = np.bincount(cell, minlength=n).astype(float)
    total = np.bincount(cell, weights=isi, minlength=n)
    squares = np.bincount(cell, weights=isi ** 2, minlength=n)
    enough = count >= 2
    mean = total[enough] / count[enough]
    sd = np.sqrt(np.maximum(squares[enough] / count[enough] - mean ** 2, 0))
    return {"rate_hz": len(times_ms) / n / ((stop_ms - start_ms) / 1000),
            "cv_isi": float(np.mean(sd / mean)) if enough.any() else float("nan"), "cv_cells": int(enough.sum())}


def probe_input(duration_ms: float, rates_hz: dict, cells: int, seed: int) -> dict:
    """Poisson spike trains on the dt grid (one spike per source and step at most) and
    which sources reach which probe cell: identical for every leg."""
    rng = np.random.default_rng(seed)
    steps = int(round(duration_ms / DT_MS))
    out = {}
    for kind in ("exc", "inh"):
        n_sources, k = PROBE_INPUTS[f"n_{kind}_sources"], PROBE_INPUTS[f"k_{kind}"]
        step, source = np.nonzero(rng.random((steps, n_sources)) < rates_hz[kind] * DT_MS / 1000)
        keep = step > 0  # NEST refuses spike times at 0
        out[f"{kind}_source"], out[f"{kind}_time_ms"] = source[keep], step[keep] * DT_MS
        out[f"{kind}_pre"] = np.concatenate([rng.choice(n_sources, k, replace=False) for _ in range(cells)])
        out[f"{kind}_post"] = np.repeat(np.arange(cells), k)
    return out


def score(reference: tuple[np.ndarray, np.ndarray], leg: tuple[np.ndarray, np.ndarray]) -> dict:
    """Spike-count error and spike-time distance of ``leg`` to ``reference``, each a
    (cell, time ms) pair of arrays; distances after removing the median offset."""
    ref_i, ref_t = reference
    i, t = leg
    nearest = np.full(len(ref_t), np.inf)
    for cell in np.unique(ref_i):
        mine = np.sort(t[i == cell])
        if len(mine) == 0:
            continue
        theirs = ref_t[ref_i == cell]
        pos = np.searchsorted(mine, theirs)
        after = mine[np.clip(pos, 0, len(mine) - 1)] - theirs
        before = mine[np.clip(pos - 1, 0, len(mine) - 1)] - theirs
        nearest[ref_i == cell] = np.where(np.abs(after) < np.abs(before), after, before)
    near = np.abs(nearest) <= 2.0
    offset = float(np.median(nearest[near])) if near.any() else 0.0
    distance = np.abs(nearest[near] - offset)
    return {"spikes": len(t), "count_error_pct": 100 * (len(t) - len(ref_t)) / max(1, len(ref_t)),
            "offset_ms": offset, "matched_fraction": float(near.mean()),
            "mean_distance_ms": float(distance.mean()) if near.any() else float("nan"),
            "within_0p2ms": float((distance <= 0.2 + 1e-9).sum() / max(1, len(ref_t)))}


# --------------------------------------------------------------------------- NEST leg
def peak_rss_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries a
    parent's peak across fork and exec, so a worker started by a large Python process
    would report the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def nest_worker(spec: dict) -> dict:
    """One network (or the probe) in NEST, in this process (the NEST environment)."""
    started = time.perf_counter()
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    import_s = time.perf_counter() - started
    rss_import_mb = peak_rss_mb()
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT_MS, "local_num_threads": 1, "rng_seed": spec["seed"] + 1})
    t0 = time.perf_counter()
    model, n = spec["model"], spec["n"]
    if model == "brunel":
        cells, out_degree = _nest_brunel(nest, n)
    else:
        cells, out_degree = _nest_coba(nest, n, spec.get("probe"))
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    create_connect_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Prepare()
    prepare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Run(spec["duration_ms"])
    sim_s = time.perf_counter() - t0
    nest.Cleanup()
    events = recorder.get("events")
    senders = np.asarray(events["senders"]) - cells[0].global_id
    times = np.asarray(events["times"])
    out = {"leg": "NEST", "import_s": import_s, "build_s": create_connect_s, "prepare_s": prepare_s,
           "sim_s": sim_s, "spikes": len(times), "n_synapses": int(nest.GetKernelStatus("num_connections")),
           "out_degree": out_degree, "rss_mb": peak_rss_mb(),
           "rss_import_mb": rss_import_mb, "nest": nest.__version__}
    if spec.get("probe"):
        out["senders"], out["times_ms"] = senders.tolist(), times.tolist()
    else:
        out.update(firing_statistics(senders, times, n, spec["transient_ms"], spec["duration_ms"]))
    return out


def _nest_coba(nest, n: int, probe_file: str | None):
    p, init, g_leak = coba.PARAMETERS, coba.INITIAL, coba.G_LEAK_NS
    params = {"C_m": p["taum_ms"] * g_leak, "g_L": g_leak, "E_L": p["El_mV"], "V_th": p["Vt_mV"],
              "V_reset": p["Vr_mV"], "t_ref": p["refractory_ms"], "E_ex": p["Ee_mV"], "E_in": p["Ei_mV"],
              "tau_syn_ex": p["taue_ms"], "tau_syn_in": p["taui_ms"], "I_e": 0.0}
    nest.CopyModel("static_synapse_hom_w", "exc", {"weight": p["we"] * g_leak, "delay": DT_MS})
    # NEST: an inhibitory conductance synapse has a negative weight (a positive one excites)
    nest.CopyModel("static_synapse_hom_w", "inh", {"weight": -p["wi"] * g_leak, "delay": DT_MS})
    if probe_file:  # unconnected cells at rest, driven by the probe's spike trains
        cells = nest.Create("iaf_cond_exp", n, params={**params, "V_m": p["El_mV"]})
        probe = np.load(probe_file)
        for kind in ("exc", "inh"):
            n_sources = PROBE_INPUTS[f"n_{kind}_sources"]
            generators = nest.Create("spike_generator", n_sources)
            source, spike_ms = probe[f"{kind}_source"], probe[f"{kind}_time_ms"]
            generators.set([{"spike_times": np.sort(spike_ms[source == s]).tolist()} for s in range(n_sources)])
            nest.Connect(np.asarray(generators.tolist())[probe[f"{kind}_pre"]],
                         np.asarray(cells.tolist())[probe[f"{kind}_post"]], "one_to_one", {"synapse_model": kind})
        return cells, None
    params.update({"V_m": nest.random.normal(init["v_mean_mV"], init["v_sd_mV"]),
                   "g_ex": nest.random.normal(init["ge_mean"] * g_leak, init["ge_sd"] * g_leak),
                   "g_in": nest.random.normal(init["gi_mean"] * g_leak, init["gi_sd"] * g_leak)})
    cells = nest.Create("iaf_cond_exp", n, params=params)
    n_exc = n_excitatory(n)
    rule = {"rule": "fixed_outdegree", "outdegree": COBA_OUT_DEGREE, "allow_autapses": True,
            "allow_multapses": False}
    nest.Connect(cells[:n_exc], cells, rule, {"synapse_model": "exc"})
    nest.Connect(cells[n_exc:], cells, rule, {"synapse_model": "inh"})
    return cells, COBA_OUT_DEGREE


def _nest_brunel(nest, n: int):
    b = BRUNEL
    cells = nest.Create("iaf_psc_delta", n, params={
        "C_m": 1.0, "tau_m": b["tau_ms"], "t_ref": b["refractory_ms"], "E_L": 0.0, "V_reset": b["reset_mV"],
        "V_th": b["theta_mV"], "V_m": nest.random.uniform(0.0, b["theta_mV"])})  # weights: jumps in mV
    nest.CopyModel("static_synapse_hom_w", "exc", {"weight": b["J_mV"], "delay": b["delay_ms"]})
    nest.CopyModel("static_synapse_hom_w", "inh", {"weight": -b["g"] * b["J_mV"], "delay": b["delay_ms"]})
    noise = nest.Create("poisson_generator", params={"rate": brunel_external_rate_hz() * b["exc_in_degree"]})
    nest.Connect(noise, cells, syn_spec={"synapse_model": "exc"})  # an independent train per target
    n_exc = n_excitatory(n)
    rule = {"rule": "fixed_outdegree", "outdegree": b["out_degree"], "allow_autapses": True,
            "allow_multapses": False}
    nest.Connect(cells[:n_exc], cells, rule, {"synapse_model": "exc"})
    nest.Connect(cells[n_exc:], cells, rule, {"synapse_model": "inh"})
    return cells, b["out_degree"]


def brunel_external_rate_hz() -> float:
    """Rate of each external synapse: eta x nu_thr, nu_thr = theta / (J C_E tau)."""
    b = BRUNEL
    return b["eta"] * b["theta_mV"] / (b["J_mV"] * b["exc_in_degree"] * b["tau_ms"] / 1000)


def run_nest(python: Path, spec: dict) -> dict:
    """A fresh process of the NEST environment (one network; its peak RSS is its own)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([str(python), __file__, "--nest-worker", json.dumps(spec)], capture_output=True,
                         text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"NEST worker failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- our leg
def _brunel_build(sim, n: int) -> dict:
    from brian2 import NeuronGroup, PoissonInput, SpikeMonitor, Synapses, Hz, ms, mV

    b = BRUNEL
    names = {"tau": b["tau_ms"] * ms, "theta": b["theta_mV"] * mV, "V_reset": b["reset_mV"] * mV,
             "J": b["J_mV"] * mV, "g": b["g"]}
    # NEST's order within a step: decay, add the step's input, threshold test; and a
    # spike clamps the next t_ref / dt steps. Brian2's default order tests before the
    # input comes and clamps one step less; the network's rate is sensitive to small
    # differences in coupling (benchmarks/README.md), so ours follows NEST's conventions.
    cells = NeuronGroup(n, "dv/dt = -v / tau : volt (unless refractory)", threshold="v >= theta",
                        reset="v = V_reset", refractory=(b["refractory_ms"] + DT_MS) * ms, method="exact",
                        namespace=names, name="brunel")
    cells.v = "rand() * theta"
    n_exc = n_excitatory(n)
    # input during refractoriness is lost, as in NEST's iaf_psc_delta
    exc = Synapses(cells[:n_exc], cells, on_pre="v_post += J * int(not_refractory_post)",
                   delay=b["delay_ms"] * ms, namespace=names, name="exc_syn")
    inh = Synapses(cells[n_exc:], cells, on_pre="v_post += -g * J * int(not_refractory_post)",
                   delay=b["delay_ms"] * ms, namespace=names, name="inh_syn")
    rng = np.random.default_rng(sim.seed)
    for synapses in (exc, inh):
        synapses.connect(**coba.fixed_outdegree(len(synapses.source), n, b["out_degree"], rng))
        synapses.pre.when = "before_thresholds"
    external = PoissonInput(cells, "v", N=b["exc_in_degree"], rate=brunel_external_rate_hz() * Hz,
                            weight="J * int(not_refractory)", when="before_thresholds")
    spikes = SpikeMonitor(cells, name="brunel_spikes")
    sim.add(cells, exc, inh, external, spikes)
    return {"spikes": spikes}


def run_ours(name: str, model: str, n: int, duration_ms: float, method: str, args, seed: int) -> dict:
    import brian2
    from brian2 import ms

    from mtspark_bio.devices import Simulation

    with Simulation("cpp", directory=args.build_dir / name, seed=seed, dt=DT_MS * ms) as sim:
        if model == "brunel":
            net, out_degree = _brunel_build(sim, n), BRUNEL["out_degree"]
        else:
            net = coba.build(sim, n, out_degree=COBA_OUT_DEGREE, method=method, delay=DT_MS * ms)
            out_degree = COBA_OUT_DEGREE
        spikes = net["spikes"]
        sim.build(duration_ms * ms, read_back=[spikes])
        rss_mb = _common.runs_with_peak_rss(sim, args.build_dir / f"{name}.rss")
        i, t = np.asarray(spikes.i[:]), np.asarray(spikes.t[:] / ms)
        timings = sim.timings
    brian2.defaultclock.dt = DT_MS * ms
    sim_s, run_s = timings["sim_s"][-1], timings["run_s"][-1]
    return {"leg": "ours", "method": method if model == "coba" else "exact", "build_s": timings["build_s"],
            "prepare_s": run_s - sim_s, "sim_s": sim_s, "spikes": len(t), "out_degree": out_degree,
            "n_synapses": n * out_degree, "rss_mb": rss_mb,
            **firing_statistics(i, t, n, args.transient_ms, duration_ms)}


def probe_ours(input_file: Path, args) -> dict:
    """Every probe variant and the reference in one Brian2 project (one compilation):
    each (method, dt) its own group and clock, fed by its own copy of the input."""
    import brian2
    from brian2 import SpikeGeneratorGroup, SpikeMonitor, Synapses, ms

    from mtspark_bio.devices import Simulation

    probe = np.load(input_file)
    monitors = {}
    with Simulation("cpp", directory=args.build_dir / "probe", seed=args.seed, dt=DT_MS * ms) as sim:
        for k, (method, dt_ms) in enumerate((REFERENCE, *PROBE_VARIANTS)):
            cells = coba.cells_group(args.probe_cells, method, name=f"cells_{k}", dt=dt_ms * ms)
            cells.v = coba.PARAMETERS["El_mV"] * brian2.mV
            sim.add(cells)
            for kind, variable in (("exc", "ge"), ("inh", "gi")):
                weight = "we" if kind == "exc" else "wi"
                sources = SpikeGeneratorGroup(PROBE_INPUTS[f"n_{kind}_sources"], probe[f"{kind}_source"],
                                              probe[f"{kind}_time_ms"] * ms, dt=dt_ms * ms, name=f"{kind}_{k}")
                synapses = Synapses(sources, cells, on_pre=f"{variable}_post += {weight}",
                                    namespace=coba.namespace(), name=f"{kind}_syn_{k}", dt=dt_ms * ms)
                synapses.connect(i=probe[f"{kind}_pre"], j=probe[f"{kind}_post"])
                sim.add(sources, synapses)
            monitors[(method, dt_ms)] = SpikeMonitor(cells, name=f"spikes_{k}")
            sim.add(monitors[(method, dt_ms)])
        sim.build(args.probe_ms * ms, read_back=list(monitors.values()))
        sim.run()
        spikes = {key: (np.asarray(m.i[:]), np.asarray(m.t[:] / ms)) for key, m in monitors.items()}
        build_s = sim.timings["build_s"]
    brian2.defaultclock.dt = DT_MS * ms
    return {"spikes": spikes, "build_s": build_s}


def accuracy(args, python: Path) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        input_file = Path(tmp) / "probe.npz"
        np.savez(input_file, **probe_input(args.probe_ms, {"exc": args.probe_exc_rate_hz, "inh": args.probe_inh_rate_hz},
                                              args.probe_cells, args.seed))
        print("  probe: Brian2 (reference + variants, one project) ...", flush=True)
        ours = probe_ours(input_file, args)
        print("  probe: NEST ...", flush=True)
        nest_out = run_nest(python, {"model": "coba", "n": args.probe_cells, "duration_ms": args.probe_ms,
                                     "seed": args.seed, "probe": str(input_file)})
    reference = ours["spikes"][REFERENCE]
    rows = [{"leg": "reference", "method": REFERENCE[0], "dt_ms": REFERENCE[1], "spikes": len(reference[1]),
             "rate_hz": len(reference[1]) / args.probe_cells / (args.probe_ms / 1000)}]
    nest_spikes = (np.asarray(nest_out["senders"]), np.asarray(nest_out["times_ms"]))
    rows.append({"leg": "NEST", "method": "iaf_cond_exp (GSL RKF45)", "dt_ms": DT_MS, **score(reference, nest_spikes)})
    for key in PROBE_VARIANTS:
        rows.append({"leg": "ours", "method": key[0], "dt_ms": key[1], **score(reference, ours["spikes"][key])})
    nest_row = rows[1]
    for row in rows[2:]:
        row["as_accurate_as_nest"] = bool(row["mean_distance_ms"] <= nest_row["mean_distance_ms"]
                                          and abs(row["count_error_pct"]) <= abs(nest_row["count_error_pct"]) + 0.5)
    return rows


# --------------------------------------------------------------------------- main
def per_leg(row: dict, duration_ms: float) -> dict:
    duration_s = duration_ms / 1000
    events = row["spikes"] * row["out_degree"]
    return {**row, "duration_s": duration_s, "events": events, "wall_per_sim_s": row["sim_s"] / duration_s,
            "events_per_core_s": events / row["sim_s"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", default=",".join(NETWORKS), help=f"comma list of {','.join(NETWORKS)}")
    parser.add_argument("--duration-scale", type=float, default=1.0, help="multiplies every network's duration")
    parser.add_argument("--coba-method", default="rk2",
                        help="our COBA integration method at dt 0.1 ms (the probe shows which matches NEST)")
    parser.add_argument("--transient-ms", type=float, default=50.0, help="statistics start here")
    parser.add_argument("--rate-tolerance", type=float, default=0.15, help="relative")
    parser.add_argument("--cv-tolerance", type=float, default=0.1)
    parser.add_argument("--probe-cells", type=int, default=500)
    parser.add_argument("--probe-ms", type=float, default=1000.0)
    # the probe cells' mean membrane potential near threshold: irregular firing, where
    # spike times are most sensitive to the integration
    parser.add_argument("--probe-exc-rate-hz", type=float, default=25.0, help="rate of each excitatory input")
    parser.add_argument("--probe-inh-rate-hz", type=float, default=10.0, help="rate of each inhibitory input")
    parser.add_argument("--skip-probe", action="store_true")
    parser.add_argument("--spread-network", default="coba_4k",
                        help="our leg of this network also runs with --spread-seeds other seeds (other wiring, "
                             "initial state and noise): how far the statistics move between realisations")
    parser.add_argument("--spread-seeds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nest-python", type=Path, default=NEST_PYTHON)
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/mtspark-bench/nest_peer"))
    parser.add_argument("--name", default="nest_peer")
    parser.add_argument("--nest-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.nest_worker:
        print(json.dumps(nest_worker(json.loads(args.nest_worker)), default=float))
        return 0

    info = _common.machine()
    _common.header("ours (Brian2 cpp_standalone) vs NEST, one thread each", info)
    if not args.nest_python.exists():
        print(f"NEST environment missing ({args.nest_python}); create it as in this script's docstring")
        return 2
    args.build_dir.mkdir(parents=True, exist_ok=True)
    probe_rows = [] if args.skip_probe else accuracy(args, args.nest_python)
    if probe_rows:
        print()
        print(_common.table(probe_rows, [("leg", "leg", ""), ("method", "method", ""), ("dt_ms", "dt ms", "g"),
                                         ("spikes", "spikes", "d"), ("count_error_pct", "count err %", "+.2f"),
                                         ("offset_ms", "offset ms", "+.2f"),
                                         ("matched_fraction", "matched <=2 ms", ".3f"),
                                         ("mean_distance_ms", "mean |dt| ms", ".3f"),
                                         ("within_0p2ms", "<=0.2 ms", ".3f"),
                                         ("as_accurate_as_nest", ">= NEST", "")]))
        print()
    rows, ratios, spread = [], [], []
    for name in args.networks.split(","):
        model, n, duration_ms = NETWORKS[name]
        duration_ms *= args.duration_scale
        print(f"  {name}: ours ...", flush=True)
        ours = per_leg(run_ours(name, model, n, duration_ms, args.coba_method, args, args.seed), duration_ms)
        print(f"  {name}: NEST ...", flush=True)
        nest_row = per_leg(run_nest(args.nest_python, {"model": model, "n": n, "duration_ms": duration_ms,
                                                       "seed": args.seed, "transient_ms": args.transient_ms}),
                           duration_ms)
        for row in (ours, nest_row):
            rows.append({"network": name, "n_neurons": n, **row, "load": _common.machine()["load"]})
        same = (abs(ours["rate_hz"] - nest_row["rate_hz"]) <= args.rate_tolerance * nest_row["rate_hz"]
                and abs(ours["cv_isi"] - nest_row["cv_isi"]) <= args.cv_tolerance)
        ratios.append({"network": name, "loop_speedup": nest_row["sim_s"] / ours["sim_s"],
                       "events_per_core_ratio": ours["events_per_core_s"] / nest_row["events_per_core_s"],
                       "build_ratio": (nest_row["build_s"] + nest_row["prepare_s"])
                       / (ours["build_s"] + ours["prepare_s"]),
                       "rss_ratio": nest_row["rss_mb"] / ours["rss_mb"], "same_statistics": same})
        if name == args.spread_network:
            for seed in range(args.seed + 1, args.seed + 1 + args.spread_seeds):
                print(f"  {name}: ours, seed {seed} ...", flush=True)
                other = run_ours(f"{name}-seed{seed}", model, n, duration_ms, args.coba_method, args, seed)
                spread.append({"network": name, "seed": seed, "rate_hz": other["rate_hz"], "cv_isi": other["cv_isi"]})
    if spread:
        seeds = [r for r in rows if r["network"] == args.spread_network and r["leg"] == "ours"] + spread
        print(f"\n  {args.spread_network}, ours over {len(seeds)} seeds: rate "
              + ", ".join(f"{r['rate_hz']:.2f}" for r in seeds) + " Hz; CV " + ", ".join(f"{r['cv_isi']:.3f}" for r in seeds))
    print()
    print(_common.table(rows, [("network", "network", ""), ("leg", "leg", ""), ("method", "method", ""),
                               ("rate_hz", "Hz", ".2f"), ("cv_isi", "CV ISI", ".3f"),
                               ("build_s", "build s", ".2f"), ("prepare_s", "set-up s", ".2f"),
                               ("wall_per_sim_s", "wall s / sim s", ".3g"),
                               ("events_per_core_s", "events/s/core", ".3g"), ("rss_mb", "peak RSS MB", ".0f"),
                               ("load", "load", "")]))
    print()
    print(_common.table(ratios, [("network", "network", ""), ("loop_speedup", "NEST loop / ours", ".2f"),
                                 ("events_per_core_ratio", "events/s/core ours / NEST", ".2f"),
                                 ("build_ratio", "build+set-up NEST / ours", ".2f"),
                                 ("rss_ratio", "RSS NEST / ours", ".2f"),
                                 ("same_statistics", "same statistics", "")]))
    settings = {k: v for k, v in vars(args).items() if k not in ("name", "nest_worker")}
    path = _common.write_result(args.name, {"settings": settings, "networks": NETWORKS, "brunel": BRUNEL,
                                            "coba_out_degree": COBA_OUT_DEGREE, "probe": probe_rows,
                                            "seed_spread": spread, "rows": rows, "ratios": ratios}, info)
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
