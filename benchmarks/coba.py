"""COBA, the network Brian2, NEST and GeNN all report (Brette et al. 2007, J Comput
Neurosci 23:349, benchmark 1; after Vogels & Abbott 2005), in Brian2 cpp_standalone
on this machine: so that our dendritic network's numbers (network_scaling.py) can be
set beside published ones.

4000 leaky integrate-and-fire neurons with conductance-based synapses, 3200 excitatory
and 800 inhibitory, each pair connected with probability 0.02; parameters and initial
state of the benchmark's Brian script (taum 20 ms, taue 5 ms, taui 10 ms, Vt -50 mV,
Vr = El = -60 mV, Ee 0 mV, Ei -80 mV, refractory 5 ms, we 0.6 and wi 6.7 in units of the
leak conductance), dt 0.1 ms, euler. Run through mtspark_bio.devices.Simulation exactly
like our networks (vectorising flags, and Brian2's own flags side by side), twice each;
the second run is reported. Synaptic events = spikes x out-degree.

    python benchmarks/coba.py
    python benchmarks/coba.py --duration-ms 5000 --devices cpp1,cpp2
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

import numpy as np

import _common

DEVICES = {"cpp1": (1, "vectorising"), "cpp2": (2, "vectorising"), "cpp1_brian2": (1, "brian2")}
N_NEURONS, N_EXC, P_CONNECT = 4000, 3200, 0.02


# the benchmark's parameters as plain numbers, shared with NEST's version (nest_peer.py);
# conductances in units of the leak conductance, which NEST needs in nS (G_LEAK_NS)
PARAMETERS = {"taum_ms": 20.0, "taue_ms": 5.0, "taui_ms": 10.0, "Vt_mV": -50.0, "Vr_mV": -60.0, "El_mV": -60.0,
              "Ee_mV": 0.0, "Ei_mV": -80.0, "we": 6 / 10.0, "wi": 67 / 10.0, "refractory_ms": 5.0}
G_LEAK_NS = 10.0  # Brette et al. 2007: membrane area 20 000 um^2, 5e-5 S/cm^2
# initial state (the benchmark script): v 5 mV below rest with s.d. 5 mV; ge, gi (units of g_leak)
INITIAL = {"v_mean_mV": -65.0, "v_sd_mV": 5.0, "ge_mean": 4.0, "ge_sd": 1.5, "gi_mean": 20.0, "gi_sd": 12.0}
EQUATIONS = """
dv/dt = (ge*(Ee - v) + gi*(Ei - v) - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : 1
dgi/dt = -gi / taui : 1
"""


def namespace() -> dict:
    from brian2 import ms, mV

    p = PARAMETERS
    return {"taum": p["taum_ms"] * ms, "taue": p["taue_ms"] * ms, "taui": p["taui_ms"] * ms, "Vt": p["Vt_mV"] * mV,
            "Vr": p["Vr_mV"] * mV, "El": p["El_mV"] * mV, "Ee": p["Ee_mV"] * mV, "Ei": p["Ei_mV"] * mV,
            "we": p["we"], "wi": p["wi"]}


def cells_group(n: int, method: str = "euler", name: str = "coba", dt=None):
    """n COBA neurons (not connected, at rest)."""
    from brian2 import NeuronGroup, ms

    return NeuronGroup(n, EQUATIONS, threshold="v > Vt", reset="v = Vr", refractory=PARAMETERS["refractory_ms"] * ms,
                       method=method, namespace=namespace(), name=name, dt=dt)


def fixed_outdegree(n_sources: int, n_targets: int, out_degree: int, rng) -> dict:
    """Connect arguments (i, j) giving each source ``out_degree`` distinct targets drawn
    uniformly. Drawn here with numpy: Brian2 2.10's ``sample(N_post, size=K)`` generator
    draws them unevenly (a wider in-degree distribution than the binomial one, which
    changes the Brunel network's rate; benchmarks/README.md)."""
    i = np.repeat(np.arange(n_sources, dtype=np.int32), out_degree)
    j = np.concatenate([rng.choice(n_targets, out_degree, replace=False).astype(np.int32)
                        for _ in range(n_sources)])
    return {"i": i, "j": j}


def build(sim, n_neurons: int = N_NEURONS, out_degree: int | None = None, method: str = "euler",
          delay=None) -> dict:
    """The benchmark network. ``out_degree`` None: each pair connected with probability
    P_CONNECT (the benchmark); a number: every neuron projects to that many distinct
    targets drawn at random (:func:`fixed_outdegree`, what NEST's fixed_outdegree
    does), so that networks of different sizes keep the in-degree. ``delay``: Brian2
    delivers a spike in the time step it is emitted in, NEST one minimum delay (a step)
    later at the earliest."""
    from brian2 import SpikeMonitor, Synapses

    n_exc = n_neurons * N_EXC // N_NEURONS
    cells = cells_group(n_neurons, method)
    excitatory, inhibitory = cells[:n_exc], cells[n_exc:]
    exc_syn = Synapses(excitatory, cells, on_pre="ge += we", namespace=namespace(), name="exc_syn", delay=delay)
    inh_syn = Synapses(inhibitory, cells, on_pre="gi += wi", namespace=namespace(), name="inh_syn", delay=delay)
    rng = np.random.default_rng(sim.seed)
    for synapses in (exc_syn, inh_syn):
        if out_degree is None:
            synapses.connect(p=P_CONNECT)
        else:
            synapses.connect(**fixed_outdegree(len(synapses.source), n_neurons, out_degree, rng))
    init = INITIAL
    cells.v = f"El + (randn()*{init['v_sd_mV']} + {init['v_mean_mV'] - PARAMETERS['El_mV']})*mV"
    cells.ge = f"randn()*{init['ge_sd']} + {init['ge_mean']}"
    cells.gi = f"randn()*{init['gi_sd']} + {init['gi_mean']}"
    spikes = SpikeMonitor(cells, name="coba_spikes")
    sim.add(cells, exc_syn, inh_syn, spikes)
    return {"spikes": spikes, "synapses": (exc_syn, inh_syn), "cells": cells}


def measure(device: str, duration_ms: float, build_dir: Path) -> dict:
    import brian2
    from brian2 import ms

    from mtspark_bio.devices import Simulation

    threads, flags = DEVICES[device]
    with Simulation("cpp", directory=build_dir / f"coba-{device}", seed=0, dt=0.1 * ms, threads=threads,
                    compiler_flags=flags) as sim:
        net = build(sim)
        sim.build(duration_ms * ms)
        rss_binary_mb = _common.runs_with_peak_rss(sim, build_dir / f"coba-{device}.rss", runs=2)
        spikes = net["spikes"]
        i = np.asarray(spikes.i[:])
        exc_syn, inh_syn = net["synapses"]
        out_degree = np.concatenate([np.bincount(np.asarray(exc_syn.i[:]), minlength=N_EXC),
                                     np.bincount(np.asarray(inh_syn.i[:]), minlength=N_NEURONS - N_EXC)])
        n_synapses = len(exc_syn) + len(inh_syn)
        timings = sim.timings
    brian2.defaultclock.dt = 0.1 * ms
    events = int(out_degree[i].sum())
    duration_s = duration_ms / 1000
    sim_s, run_s = timings["sim_s"][-1], timings["run_s"][-1]
    return {"device": device, "threads": threads, "compiler_flags": flags, "n_neurons": N_NEURONS,
            "n_synapses": n_synapses, "duration_s": duration_s, "build_s": timings["build_s"], "run_s": run_s,
            "sim_s": sim_s, "realtime": duration_s / run_s, "realtime_sim": duration_s / sim_s,
            "rate_hz": len(i) / N_NEURONS / duration_s, "events": events, "events_per_s": events / run_s,
            "events_per_core_s": events / (sim_s * threads),
            "rss_binary_mb": rss_binary_mb,
            "rss_python_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load": _common.machine()["load"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="cpp1,cpp1_brian2,cpp2", help=f"comma list of {','.join(DEVICES)}")
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/mtspark-bench/coba"))
    parser.add_argument("--name", default="coba")
    args = parser.parse_args(argv)
    args.build_dir.mkdir(parents=True, exist_ok=True)

    info = _common.machine()
    _common.header("COBA (Brette et al. 2007 benchmark 1) in Brian2 cpp_standalone", info)
    rows = []
    for device in args.devices.split(","):
        print(f"  {device} ...", flush=True)
        rows.append(measure(device, args.duration_ms, args.build_dir))
    print()
    print(_common.table(rows, [("device", "device", ""), ("n_synapses", "synapses", "d"), ("rate_hz", "Hz", ".1f"),
                               ("build_s", "build s", ".1f"), ("run_s", "run s", ".3f"), ("sim_s", "sim s", ".3f"),
                               ("realtime", "sim s/wall s", ".3g"), ("realtime_sim", "loop", ".3g"),
                               ("events_per_core_s", "events/s/core (loop)", ".3g"),
                               ("rss_binary_mb", "RSS bin MB", ".0f"), ("load", "load", "")]))
    path = _common.write_result(args.name, {"duration_ms": args.duration_ms, "rows": rows}, info)
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
