"""Coincidence detection: somatic firing against the delay between feed-forward and context input.

Methods
-------
A context volley (``n_ctx`` synchronous synapses of ``g_unit`` onto distal segment 0,
above the plateau threshold) arrives at t_ctx; a feed-forward volley (``n_ff``
synchronous synapses onto the basal dendrite, subthreshold on its own) arrives at
t_ff = t_ctx + delay. One ``models.neurons.DendriticNeuron`` per delay (``delay_ms``,
default -50 .. 150 ms in 2 ms steps), plus two controls (feed-forward alone, context
alone); the somatic spikes of each cell are counted.

The plateau depolarises the soma for its whole duration, so the neuron fires when the
feed-forward volley arrives while the plateau lasts, or shortly before its onset (the
feed-forward EPSP decays with the membrane time constant). The coincidence window is
therefore set by the plateau: NMDA spike/plateaus last tens of ms at the soma
(Schiller et al. 2000, Nature 404:285: half-width 64.4 +- 19.8 ms; Major et al. 2008,
J. Neurophysiol. 99:2584), far longer than the few-ms window of
backpropagation-activated Ca2+ spike firing in the apical tuft (Larkum, Zhu & Sakmann
1999, Nature 398:338), which this model does not include.

Published values: the NMDA-spike half-width was checked against Schiller et al.'s
abstract; the few-ms window of BAC firing (Larkum et al. 1999) was not checked.

Key numbers (root attributes): ``window_start_ms``, ``window_end_ms`` (first and last
delay that gives a spike), ``window_ms`` (their span plus one step), ``peak_spikes``,
``ff_alone_spikes``, ``context_alone_spikes``, ``ff_epsp_mV`` (feed-forward EPSP alone).
"""

from __future__ import annotations


import numpy as np

from mtspark_bio.protocols.physiology import Measurement, simulation

NAME = "coincidence"
PUBLISHED = {
    "plateau_halfwidth_ms": {"value": "64.4 +- 19.8", "unit": "ms",
                             "source": "Schiller et al. 2000 (Nature 404:285), abstract: somatic NMDA-spike "
                                       "half-width (checked)"},
    "bac_window_ms": {"value": "a few", "unit": "ms",
                      "source": "Larkum et al. 1999 (Nature 398:338): BAC firing, a different mechanism; "
                                "not checked here"},
}
T_CTX_MS = 100.0


def measure(device: str = "runtime", seed: int = 0, delays_ms=None, n_ctx: int = 16, n_ff: int = 80,
            g_unit_nS: float = 0.5, directory=None) -> Measurement:
    from brian2 import SpikeGeneratorGroup, SpikeMonitor, StateMonitor, mV, ms, nS

    from mtspark_bio.models.neurons import DendriticNeuron
    from mtspark_bio.models.plasticity import static_synapse
    from mtspark_bio.network import make_neurons, make_synapses

    delays = np.arange(-50.0, 151.0, 2.0) if delays_ms is None else np.asarray(delays_ms, dtype=float)
    neuron = DendriticNeuron(n_segments=2)
    n_cells = len(delays) + 2  # ..., ff alone, context alone
    t_ff = np.r_[T_CTX_MS + delays, T_CTX_MS, -1.0]
    t_ctx = np.r_[np.full(len(delays), T_CTX_MS), -1.0, T_CTX_MS]
    sim = simulation(device, seed, dt=0.1 * ms, directory=directory)
    try:
        cells = make_neurons(neuron.spec(), n_cells, "cells")
        objects = [cells]
        # one source neuron per cell and pathway; a volley = one spike through n synapses
        for label, times, target, n in (("ff", t_ff, "g_exc", n_ff), ("ctx", t_ctx, "g_ctx0", n_ctx)):
            fires = np.flatnonzero(times >= 0)
            source = SpikeGeneratorGroup(n_cells, fires, times[fires] * ms, name=f"{label}_volley")
            syn = make_synapses(static_synapse(target, g_unit_nS * nS), source, cells, f"{label}_syn")
            syn.connect(j="i")
            syn.w = float(n)  # n synchronous synapses of g_unit each
            objects += [source, syn]
        spikes = SpikeMonitor(cells, name="spikes")
        soma = StateMonitor(cells, "v_s", record=[n_cells - 2], name="ff_alone_soma")
        sim.add(*objects, spikes, soma)
        sim.build((T_CTX_MS + max(delays.max(), 0) + 100.0) * ms)
        sim.run()
        counts = np.asarray(spikes.count[:])
        ff_epsp = float(np.max(soma.v_s[0] / mV) - neuron.soma.E_leak / mV)
    finally:
        sim.close()

    per_delay = counts[:len(delays)]
    fired = delays[per_delay > 0]
    step = float(np.median(np.diff(delays))) if len(delays) > 1 else 0.0
    numbers = {
        "window_start_ms": float(fired.min()) if len(fired) else float("nan"),
        "window_end_ms": float(fired.max()) if len(fired) else float("nan"),
        "window_ms": float(fired.max() - fired.min() + step) if len(fired) else 0.0,
        "peak_spikes": float(per_delay.max()),
        "ff_alone_spikes": float(counts[-2]),
        "context_alone_spikes": float(counts[-1]),
        "ff_epsp_mV": ff_epsp,
    }
    config = {"device": device, "seed": seed, "delays_ms": delays.tolist(), "n_ctx": n_ctx, "n_ff": n_ff,
              "g_unit_nS": g_unit_nS, "t_ctx_ms": T_CTX_MS, "dt_ms": 0.1,
              "plateau_duration_param_ms": float(neuron.segment.plateau_duration / ms)}
    arrays = {"delay_ms": delays, "spikes": per_delay, "controls": counts[-2:]}
    return Measurement(numbers, arrays, config, PUBLISHED)

