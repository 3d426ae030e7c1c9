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


def build(sim) -> dict:
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, ms, mV

    namespace = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "Vt": -50 * mV, "Vr": -60 * mV,
                 "El": -60 * mV, "Ee": 0 * mV, "Ei": -80 * mV, "we": 6 / 10.0, "wi": 67 / 10.0}
    equations = """
dv/dt = (ge*(Ee - v) + gi*(Ei - v) - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : 1
dgi/dt = -gi / taui : 1
"""
    cells = NeuronGroup(N_NEURONS, equations, threshold="v > Vt", reset="v = Vr", refractory=5 * ms,
                        method="euler", namespace=namespace, name="coba")
    excitatory, inhibitory = cells[:N_EXC], cells[N_EXC:]
    exc_syn = Synapses(excitatory, cells, on_pre="ge += we", namespace=namespace, name="exc_syn")
    inh_syn = Synapses(inhibitory, cells, on_pre="gi += wi", namespace=namespace, name="inh_syn")
    exc_syn.connect(p=P_CONNECT)
    inh_syn.connect(p=P_CONNECT)
    cells.v = "El + (randn()*5 - 5)*mV"  # the benchmark script: 5 mV below rest, s.d. 5 mV
    cells.ge = "randn()*1.5 + 4"
    cells.gi = "randn()*12 + 20"
    spikes = SpikeMonitor(cells, name="coba_spikes")
    sim.add(cells, exc_syn, inh_syn, spikes)
    return {"spikes": spikes, "synapses": (exc_syn, inh_syn)}


def measure(device: str, duration_ms: float, build_dir: Path) -> dict:
    import brian2
    from brian2 import ms

    from mtspark_bio.devices import Simulation

    threads, flags = DEVICES[device]
    rss_file = build_dir / f"coba-{device}.rss"
    with Simulation("cpp", directory=build_dir / f"coba-{device}", seed=0, dt=0.1 * ms, threads=threads,
                    compiler_flags=flags) as sim:
        net = build(sim)
        sim.build(duration_ms * ms)
        brian2.prefs.devices.cpp_standalone.run_cmd_unix = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file),
                                                            "./main"]
        try:
            for _ in range(2):
                sim.run()
        finally:
            brian2.prefs.devices.cpp_standalone.run_cmd_unix = "./main"
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
            "rss_binary_mb": int(rss_file.read_text().split()[-1]) / 1024,
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
