"""STDP window: weight change against the delay between a presynaptic and a postsynaptic spike.

Methods
-------
Bi & Poo (1998, J. Neurosci. 18:10464) paired a presynaptic stimulus with a
postsynaptic spike at a fixed delay dt = t_post - t_pre, 60 times at 1 Hz, in cultured
hippocampal neurons, and measured the lasting change of the EPSC: potentiation for
dt > 0 within ~20 ms, depression for dt < 0 within ~40 ms. Exponential fits to their
data (Bi & Poo 2001, Annu. Rev. Neurosci. 24:139) give

    dw/w = A+ exp(-dt/tau+) for dt > 0,   -A- exp(dt/tau-) for dt < 0,
    A+ = 0.777, tau+ = 16.8 ms;  A- = 0.273, tau- = 33.7 ms.

Here one synapse per delay (dt = -100 .. 100 ms in 2 ms steps, 0 left out) connects a
presynaptic neuron to a postsynaptic neuron that fire exactly at the scheduled times
(no membrane dynamics, so the measured window is the synapse model's own), with the
model's STDP (``models.plasticity.stdp``: pair-based, all-to-all traces, additive,
hard bounds; Song, Miller & Abbott 2000). Each pair is repeated ``pairings`` times
every ``period`` (default 40 at 1 Hz: Bi & Poo's rate, and as many repetitions as keep
the summed change of the strongest pair inside the hard bounds from w = 0.5; a run whose
weights reach a bound is refused). Starting from w = 0.5, the weight
change per pairing is fitted with one exponential on each side (least squares), and
the balance of the window (integral of depression over potentiation,
A- tau- / A+ tau+) is reported: Song et al. need it above 1 for stable competitive
learning; the Bi & Poo fit gives 0.70.

Key numbers (root attributes): ``A_plus``, ``tau_plus_ms``, ``A_minus``,
``tau_minus_ms`` (per pairing, in units of w_max), ``balance``.
"""

from __future__ import annotations

import sys

import numpy as np

from mtspark_bio.protocols.physiology import Measurement, fit_exponential, main as _main, scheduled_group, simulation

NAME = "stdp-window"
PUBLISHED = {
    "tau_plus_ms": {"value": 16.8, "unit": "ms", "source": "Bi & Poo 1998 data, fit of Bi & Poo 2001"},
    "tau_minus_ms": {"value": 33.7, "unit": "ms", "source": "Bi & Poo 1998 data, fit of Bi & Poo 2001"},
    "A_plus_relative": {"value": 0.777, "unit": "dw/w", "source": "Bi & Poo 2001 fit"},
    "A_minus_relative": {"value": 0.273, "unit": "dw/w", "source": "Bi & Poo 2001 fit"},
    "balance": {"value": round(0.273 * 33.7 / (0.777 * 16.8), 3), "unit": "",
                "source": "A- tau- / A+ tau+ of the Bi & Poo 2001 fit"},
}


def measure(device: str = "runtime", seed: int = 0, pairings: int = 40, period_s: float = 1.0,
            max_delay_ms: float = 100.0, step_ms: float = 2.0, w0: float = 0.5, params=None,
            directory=None) -> Measurement:
    """Run the pairing protocol and fit the window; ``params`` is a
    ``models.plasticity.STDPParams`` (the model's defaults if None)."""
    from brian2 import ms, nS, second

    from mtspark_bio.models.plasticity import STDPParams, stdp
    from mtspark_bio.network import make_synapses

    params = params or STDPParams()
    if pairings < 1 or period_s * 1000 <= 2 * max_delay_ms:
        raise ValueError("need pairings >= 1 and a period longer than twice the largest delay")
    delays_ms = np.arange(-max_delay_ms, max_delay_ms + step_ms / 2, step_ms)
    delays_ms = delays_ms[delays_ms != 0]
    t_first = 0.2 + max_delay_ms / 1000  # s: every pair fits after t = 0
    sim = simulation(device, seed, dt=0.1 * ms, directory=directory)
    try:
        pre = scheduled_group(np.full(len(delays_ms), t_first), "pre", n_spikes=pairings,
                              period=period_s * second)
        post = scheduled_group(t_first + delays_ms / 1000, "post", extra="g_exc : siemens",
                               n_spikes=pairings, period=period_s * second)
        syn = make_synapses(stdp("g_exc", 0 * nS, params), pre, post, "stdp_syn")
        syn.connect(j="i")
        syn.w = w0
        sim.add(pre, post, syn)
        sim.build((t_first + (pairings - 1) * period_s) * second + 2 * max_delay_ms * ms)
        sim.run()
        w = np.asarray(syn.w[:])
    finally:
        sim.close()
    if np.any((w <= 0) | (w >= params.w_max)):
        raise ValueError(f"{pairings} pairings drive weights to a bound from w0 = {w0}; use fewer pairings")
    dw = (w - w0) / pairings

    ltp, ltd = delays_ms > 0, delays_ms < 0
    a_plus, tau_plus = fit_exponential(delays_ms[ltp], dw[ltp], p0=(params.A_plus, 15.0))
    a_minus, tau_minus = fit_exponential(delays_ms[ltd], -dw[ltd], p0=(params.A_minus, 15.0))
    numbers = {"A_plus": a_plus, "tau_plus_ms": tau_plus, "A_minus": a_minus,
               "tau_minus_ms": tau_minus, "balance": a_minus * tau_minus / (a_plus * tau_plus),
               "potentiated_fraction": float(np.mean(dw[ltp] > 0)),
               "depressed_fraction": float(np.mean(dw[ltd] < 0))}
    config = {"device": device, "seed": seed, "pairings": pairings, "period_s": period_s,
              "max_delay_ms": max_delay_ms, "step_ms": step_ms, "w0": w0, "dt_ms": 0.1,
              "model": {"A_plus": params.A_plus, "A_minus": params.A_minus,
                        "tau_plus_ms": float(params.tau_plus / ms),
                        "tau_minus_ms": float(params.tau_minus / ms), "w_max": params.w_max}}
    return Measurement(numbers, {"delay_ms": delays_ms, "dw_per_pairing": dw}, config, PUBLISHED)


if __name__ == "__main__":
    sys.exit(_main(NAME, __doc__))
