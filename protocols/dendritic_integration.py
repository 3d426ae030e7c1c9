"""Dendritic integration: somatic and dendritic responses to synchronous synapses on one segment.

Methods
-------
Schiller et al. (2000, Nature 404:285) stimulated clustered inputs on one basal dendrite
of layer-5 pyramidal neurons with increasing strength: past a threshold, the response
jumped to an all-or-none NMDA spike that appeared at the soma as a 5.9 +- 1.5 mV,
64.4 +- 19.8 ms (half-width) depolarisation and amplified the somatic response by
226 +- 46 % over the response without the spike. Major et al. (2008, J. Neurophysiol.
99:2584; review 2013, Annu. Rev. Neurosci. 36:1) found the plateau's somatic amplitude
graded with the site, ~3 mV (distal) to ~23 mV (proximal), and durations of tens to
hundreds of ms.

Part 1 (threshold, amplitude, duration). Neuron n (n = 0 .. ``n_max``) of a group of
``models.neurons.DendriticNeuron`` cells receives n synapses of ``g_unit`` onto distal
segment 0, all activated at the same instant. A passive twin group (the same neurons
with no plateau conductance) gives the response the synapses would produce without the
dendritic spike. Measured: the plateau threshold (fewest synapses that start a
plateau; the supralinear jump of the dendritic peak), the dendritic and somatic
amplitudes and the somatic half-width just above threshold, the amplification of the
somatic response over the passive twin, and the plateau duration (full width of the
dendritic depolarisation at half its amplitude).

Part 2 (the gain change that context gating relies on). The input-output curve of the
soma — output rate against the rate of ``n_ff`` Poisson feed-forward synapses onto the
basal dendrite — with segment 0 at rest and with segment 0 held in plateau for the
whole run (its plateau onset time is set in the future, so the plateau never ends: the
model's analogue of holding a dendrite depolarised). Measured: the feed-forward rate at
which the soma reaches ``criterion_hz`` in each condition (the curve's shift) and the
slope of each curve between ``criterion_hz`` and 4 x ``criterion_hz`` (its gain).

Published values: Schiller et al.'s three numbers and Major et al.'s 3-23 mV range were
checked against the papers' abstracts (the figures were not readable from here); the
plateau durations of "tens to hundreds of ms" were not checked.

Key numbers (root attributes): ``threshold_synapses``, ``threshold_nS``,
``dendritic_jump_mV``, ``soma_plateau_mV``, ``soma_halfwidth_ms``,
``amplification_percent``, ``plateau_duration_ms``, ``io_threshold_rest_hz``,
``io_threshold_plateau_hz``, ``io_shift_hz``, ``io_gain_ratio``.
"""

from __future__ import annotations


import numpy as np

from mtspark_bio.protocols.physiology import Measurement, crossing_index, simulation

NAME = "dendritic-integration"
_SCHILLER = "Schiller et al. 2000 (Nature 404:285), abstract (checked against it)"
PUBLISHED = {
    "soma_plateau_mV": {"value": "5.9 +- 1.5", "unit": "mV", "source": _SCHILLER},
    "soma_halfwidth_ms": {"value": "64.4 +- 19.8", "unit": "ms", "source": _SCHILLER},
    "amplification_percent": {"value": "226 +- 46", "unit": "%", "source": _SCHILLER},
    "soma_plateau_range_mV": {"value": "3 (distal) .. 23 (proximal)", "unit": "mV",
                              "source": "Major et al. 2008 (J. Neurophysiol. 99:2584), abstract (checked)"},
    "plateau_duration_ms": {"value": "tens to hundreds", "unit": "ms",
                            "source": "Major et al. 2008, 2013 (Annu. Rev. Neurosci. 36:1); not checked here"},
}
T_STIM_MS = 20.0  # synchronous activation time


def half_width(trace, dt_ms, baseline):
    """Full width (ms) of ``trace`` above half its peak over ``baseline`` (the first
    contiguous stretch around the peak)."""
    trace = np.asarray(trace) - baseline
    peak = int(np.argmax(trace))
    above = trace >= trace[peak] / 2
    start = peak
    while start > 0 and above[start - 1]:
        start -= 1
    end = peak
    while end + 1 < len(trace) and above[end + 1]:
        end += 1
    return (end - start + 1) * dt_ms


def rate_crossing(x, y, level):
    """Input value where the curve y(x) first reaches ``level`` (linear interpolation);
    NaN if it never does."""
    k = crossing_index(y, level)
    if k is None:
        return float("nan")
    if k == 0:
        return float(x[0])
    return float(np.interp(level, [y[k - 1], y[k]], [x[k - 1], x[k]]))


def _summarise(traces: dict, time_ms: np.ndarray, counts: np.ndarray, rates: np.ndarray, E_L: float, dt_ms: float,
               g_unit_nS: float, n_ff: int, io_duration_s: float, criterion_hz: float) -> tuple[dict, dict]:
    """The key numbers and arrays from the recorded traces (part 1: per number of
    synchronous synapses, active and passive cells) and output spike counts (part 2:
    replicates x condition x input rate)."""
    n_syn = np.arange(traces["active"]["v_d0"].shape[0])
    active, passive = traces["active"], traces["passive"]
    peak_d = active["v_d0"].max(axis=1) - E_L
    peak_s = active["v_s"].max(axis=1) - E_L
    peak_s_passive = passive["v_s"].max(axis=1) - E_L
    plateaued = active["plateau0"].max(axis=1) > 0
    if not plateaued.any():
        raise ValueError(f"no plateau with up to {n_syn[-1]} synapses of {g_unit_nS} nS; raise n_max")
    n_star = int(n_syn[plateaued].min())
    out_rate = counts.mean(axis=0) / io_duration_s  # (condition, rate)
    thresholds = [rate_crossing(rates, out_rate[c], criterion_hz) for c in (0, 1)]
    gains = []
    for c in (0, 1):
        upper = rate_crossing(rates, out_rate[c], 4 * criterion_hz)
        gains.append(3 * criterion_hz / (upper - thresholds[c]) if upper > thresholds[c] else float("nan"))
    numbers = {
        "threshold_synapses": float(n_star),
        "threshold_nS": n_star * g_unit_nS,
        "all_or_none": float(np.all(plateaued[n_star:]) and not np.any(plateaued[:n_star])),
        "dendritic_jump_mV": float(peak_d[n_star] - peak_d[n_star - 1]),
        "dendritic_plateau_mV": float(peak_d[n_star]),
        "soma_plateau_mV": float(peak_s[n_star]),
        "soma_halfwidth_ms": half_width(active["v_s"][n_star], dt_ms, E_L),
        "amplification_percent": float(100 * (peak_s[n_star] / peak_s_passive[n_star] - 1)),
        "plateau_duration_ms": half_width(active["v_d0"][n_star], dt_ms, E_L),
        "io_threshold_rest_hz": thresholds[0] * n_ff,
        "io_threshold_plateau_hz": thresholds[1] * n_ff,
        "io_shift_hz": (thresholds[0] - thresholds[1]) * n_ff,
        "io_gain_rest": gains[0] / n_ff,
        "io_gain_plateau": gains[1] / n_ff,
        "io_gain_ratio": gains[1] / gains[0],
    }
    arrays = {
        "synapses": n_syn, "time_ms": time_ms, "peak_dendrite_mV": peak_d, "peak_soma_mV": peak_s,
        "peak_dendrite_passive_mV": passive["v_d0"].max(axis=1) - E_L, "peak_soma_passive_mV": peak_s_passive,
        "plateaued": plateaued.astype(np.int8),
        "traces": {"v_d_mV": active["v_d0"], "v_s_mV": active["v_s"]},
        "io": {"input_rate_hz": rates * n_ff, "output_rate_hz": out_rate,
               "output_rate_replicates_hz": counts / io_duration_s},
    }
    return numbers, arrays


def measure(device: str = "runtime", seed: int = 0, n_max: int = 24, g_unit_nS: float = 0.5,
            ff_rates_hz=tuple(range(0, 41, 4)), n_ff: int = 50, g_ff_nS: float = 1.25,
            replicates: int = 2, io_duration_s: float = 1.0, criterion_hz: float = 5.0,
            directory=None) -> Measurement:
    from brian2 import (Hz, PoissonGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, mV, ms, nS,
                        second)

    from mtspark_bio.models.neurons import DendriticNeuron, SegmentParams
    from mtspark_bio.models.plasticity import static_synapse
    from mtspark_bio.network import make_neurons, make_synapses

    neuron = DendriticNeuron(n_segments=2)
    passive_neuron = DendriticNeuron(n_segments=2, segment=SegmentParams(g_plateau=0 * nS))
    rates = np.asarray(ff_rates_hz, dtype=float)
    dt_ms = 0.1
    sim = simulation(device, seed, dt=dt_ms * ms, directory=directory)
    try:
        # part 1: n synapses activated together on segment 0 of neuron n
        source = SpikeGeneratorGroup(n_max, np.arange(n_max), np.full(n_max, T_STIM_MS) * ms, name="synchronous")
        cells = {}
        for label, model in (("active", neuron), ("passive", passive_neuron)):
            group = make_neurons(model.spec(), n_max + 1, label)
            syn = make_synapses(static_synapse("g_ctx0", g_unit_nS * nS), source, group, f"{label}_syn")
            syn.connect(condition="i < j")
            syn.w = 1.0
            monitor = StateMonitor(group, ["v_d0", "v_s", "plateau0"], record=True, name=f"{label}_trace")
            cells[label] = monitor
            sim.add(group, syn, monitor)
        sim.add(source)
        # part 2: input-output curves, segment 0 at rest or held in plateau
        n_rates = len(rates)
        n_io = n_rates * 2 * replicates  # cell = (replicate, condition, rate)
        io = make_neurons(neuron.spec(), n_io, "io")
        condition = (np.arange(n_io) // n_rates) % 2
        io.t_plateau0 = np.where(condition == 1, 1e4, -1.0) * second  # onset in the future: plateau on
        ff = PoissonGroup(n_io * n_ff, rates=np.repeat(np.tile(rates, 2 * replicates), n_ff) * Hz, name="ff")
        ff_syn = make_synapses(static_synapse("g_exc", g_ff_nS * nS), ff, io, "ff_syn")
        ff_syn.connect(i=np.arange(n_io * n_ff), j=np.arange(n_io * n_ff) // n_ff)
        ff_syn.w = 1.0
        spikes = SpikeMonitor(io, name="io_spikes")
        sim.add(io, ff, ff_syn, spikes)
        sim.build(max(io_duration_s, 0.2) * second)
        sim.run()
        t_ms = np.asarray(cells["active"].t / ms)
        keep = t_ms < 200.0
        traces = {label: {var: np.asarray(getattr(mon, var))[:, keep] for var in ("v_d0", "v_s", "plateau0")}
                  for label, mon in cells.items()}
        for label in traces:
            for var in ("v_d0", "v_s"):
                traces[label][var] = traces[label][var] / float(mV)
        counts = np.asarray(spikes.count[:]).reshape(replicates, 2, n_rates)
    finally:
        sim.close()

    E_L = float(neuron.soma.E_leak / mV)
    numbers, arrays = _summarise(traces, t_ms[keep], counts, rates, E_L, dt_ms, g_unit_nS, n_ff, io_duration_s,
                                 criterion_hz)
    config = {"device": device, "seed": seed, "n_max": n_max, "g_unit_nS": g_unit_nS,
              "ff_rates_hz": rates.tolist(), "n_ff": n_ff, "g_ff_nS": g_ff_nS, "replicates": replicates,
              "io_duration_s": io_duration_s, "criterion_hz": criterion_hz, "dt_ms": dt_ms,
              "t_stim_ms": T_STIM_MS, "E_leak_mV": E_L,
              "V_plateau_threshold_mV": float(neuron.segment.V_plateau_threshold / mV),
              "plateau_duration_param_ms": float(neuron.segment.plateau_duration / ms)}
    return Measurement(numbers, arrays, config, PUBLISHED)

