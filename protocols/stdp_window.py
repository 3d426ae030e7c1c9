"""STDP window: weight change against the delay between a presynaptic and a postsynaptic spike.

Methods
-------
Bi & Poo (1998, J. Neurosci. 18:10464) paired a presynaptic stimulus with a
postsynaptic spike at a fixed delay dt = t_post - t_pre, repeatedly at a low rate (60
times at 1 Hz: from memory, not checked), in cultured hippocampal neurons, and measured
the lasting change of the EPSC. Their abstract (checked) gives LTP for postsynaptic
spiking within a window of 20 ms after presynaptic activation and LTD within 20 ms
before it. Exponential fits to their data (Fig. 7 there; Bi & Poo 2001, Annu. Rev.
Neurosci. 24:139, Fig. 1; neither figure checked here) give a depression window about
twice as long as the potentiation window:

    dw/w = A+ exp(-dt/tau+) for dt > 0,   -A- exp(dt/tau-) for dt < 0,
    A+ = 0.777, tau+ = 16.8 ms;  A- = 0.273, tau- = 33.7 ms.

Here one synapse per delay (dt = -100 .. 100 ms in 2 ms steps, 0 left out) connects a
presynaptic neuron to a postsynaptic neuron that fire exactly at the scheduled times
(no membrane dynamics, so the measured window is the synapse model's own), with the
model's STDP (``models.plasticity.stdp``: pair-based, all-to-all traces, additive,
hard bounds; Song, Miller & Abbott 2000). Every preset of
``models.plasticity.STDP_PRESETS`` is measured side by side in the same run:

* ``song`` — the model's default, the symmetric 20/20 ms window with A-/A+ = 1.05 of
  Song, Miller & Abbott (2000, Nat. Neurosci. 3:919), which the learning protocols
  were tuned with and keep;
* ``bi-poo`` — fitted to Bi & Poo's data: their fit's time constants (16.8 and
  33.7 ms) and amplitude ratio A-/A+ = 0.273/0.777, at the project's scale
  A+ = 0.01 w_max (``STDPParams.bi_poo``).

Each pair is repeated ``pairings`` times every ``period`` (default 40 at 1 Hz: Bi &
Poo's rate, and as many repetitions as keep the summed change of the strongest pair
inside the hard bounds from w = 0.5; a run whose weights reach a bound is refused).
Starting from w = 0.5, the weight change per pairing is fitted with one exponential on
each side (least squares), and the balance of the window (integral of depression over
potentiation, A- tau- / A+ tau+) is reported: Song et al. need it above 1 for stable
competitive learning; the Bi & Poo fit gives 0.70. Each window is compared with Bi &
Poo's fit by shape: both divided by their LTP peak, the RMS difference over the
measured delays (``shape_error_vs_bi_poo``; 0 = the published shape). ``--preset``
chooses whose numbers are the unprefixed key numbers.

Published values: the exponential fits above are quoted as given for Bi & Poo's
(1998) Fig. 7 data in Bi & Poo 2001 (Fig. 1); they were entered from memory and could
not be checked against either paper from here (only the 1998 abstract, with its 20 ms
windows, was readable).

Key numbers (root attributes): ``A_plus``, ``tau_plus_ms``, ``A_minus``,
``tau_minus_ms`` (per pairing, in units of w_max), ``balance``,
``shape_error_vs_bi_poo``, and the same prefixed ``song_`` and ``bi_poo_`` for each preset.
"""

from __future__ import annotations


import numpy as np

from mtspark_bio.models.plasticity import STDP_PRESETS as PRESETS  # noqa: F401  (the names --preset accepts)
from mtspark_bio.protocols.physiology import Measurement, fit_exponential, scheduled_group, simulation

NAME = "stdp-window"
_BI_POO_FIT = ("Bi & Poo 1998 (J. Neurosci. 18:10464) Fig. 7 data, exponential fit of Bi & Poo 2001 Fig. 1 "
               "(not checked here)")
PUBLISHED = {
    "tau_plus_ms": {"value": 16.8, "unit": "ms", "source": _BI_POO_FIT},
    "tau_minus_ms": {"value": 33.7, "unit": "ms", "source": _BI_POO_FIT},
    "A_plus_relative": {"value": 0.777, "unit": "dw/w", "source": _BI_POO_FIT},
    "A_minus_relative": {"value": 0.273, "unit": "dw/w", "source": _BI_POO_FIT},
    "balance": {"value": round(0.273 * 33.7 / (0.777 * 16.8), 3), "unit": "",
                "source": "A- tau- / A+ tau+ of the fit above"},
}


def window(delay_ms, a_plus, tau_plus_ms, a_minus, tau_minus_ms):
    """The pair-based window A+ exp(-dt/tau+) (dt > 0), -A- exp(dt/tau-) (dt < 0)."""
    delay_ms = np.asarray(delay_ms, dtype=float)
    return np.where(delay_ms > 0, a_plus * np.exp(-delay_ms / tau_plus_ms),
                    -a_minus * np.exp(delay_ms / tau_minus_ms))


def published_window(delay_ms):
    """Bi & Poo's exponential fits (dw/w per pairing protocol), from ``PUBLISHED``."""
    return window(delay_ms, PUBLISHED["A_plus_relative"]["value"], PUBLISHED["tau_plus_ms"]["value"],
                  PUBLISHED["A_minus_relative"]["value"], PUBLISHED["tau_minus_ms"]["value"])


def fit_window(delays_ms, dw, params) -> dict[str, float]:
    """Exponential fits on each side, the balance, and how far the window's shape (each
    window divided by its LTP peak) lies from Bi & Poo's fit: the RMS difference over
    the measured delays, in units of the LTP peak."""
    ltp, ltd = delays_ms > 0, delays_ms < 0
    a_plus, tau_plus = fit_exponential(delays_ms[ltp], dw[ltp], p0=(params.A_plus, 15.0))
    a_minus, tau_minus = fit_exponential(delays_ms[ltd], -dw[ltd], p0=(params.A_minus, 15.0))
    reference = published_window(delays_ms)
    shape_error = np.sqrt(np.mean((dw / a_plus - reference / PUBLISHED["A_plus_relative"]["value"]) ** 2))
    return {"A_plus": a_plus, "tau_plus_ms": tau_plus, "A_minus": a_minus, "tau_minus_ms": tau_minus,
            "balance": a_minus * tau_minus / (a_plus * tau_plus),
            "potentiated_fraction": float(np.mean(dw[ltp] > 0)), "depressed_fraction": float(np.mean(dw[ltd] < 0)),
            "shape_error_vs_bi_poo": float(shape_error)}


def measure(device: str = "runtime", seed: int = 0, preset: str = "song", pairings: int = 40,
            period_s: float = 1.0, max_delay_ms: float = 100.0, step_ms: float = 2.0, w0: float = 0.5,
            params=None, directory=None) -> Measurement:
    """Run the pairing protocol for every preset of ``models.plasticity.STDP_PRESETS``
    and fit each window. The key numbers without prefix are the selected ``preset``'s
    (or those of ``params``, a ``models.plasticity.STDPParams``, if given); every
    preset's numbers are also stored as ``<preset>_<number>`` (``-`` written ``_``)."""
    from brian2 import ms, nS, second

    from mtspark_bio.models.plasticity import STDP_PRESETS, stdp
    from mtspark_bio.network import make_synapses

    if preset not in STDP_PRESETS:
        raise ValueError(f"unknown STDP preset {preset!r}; choose one of {', '.join(STDP_PRESETS)}")
    if pairings < 1 or period_s * 1000 <= 2 * max_delay_ms:
        raise ValueError("need pairings >= 1 and a period longer than twice the largest delay")
    windows = {name: make() for name, make in STDP_PRESETS.items()}
    if params is not None:
        windows[preset] = params
    delays_ms = np.arange(-max_delay_ms, max_delay_ms + step_ms / 2, step_ms)
    delays_ms = delays_ms[delays_ms != 0]
    t_first = 0.2 + max_delay_ms / 1000  # s: every pair fits after t = 0
    sim = simulation(device, seed, dt=0.1 * ms, directory=directory)
    try:
        pre = scheduled_group(np.full(len(delays_ms), t_first), "pre", n_spikes=pairings,
                              period=period_s * second)
        post = scheduled_group(t_first + delays_ms / 1000, "post", extra="g_exc : siemens",
                               n_spikes=pairings, period=period_s * second)
        synapses = {}
        for name, window_params in windows.items():  # one synapse per delay and window
            syn = make_synapses(stdp("g_exc", 0 * nS, window_params), pre, post,
                                f"stdp_syn_{name.replace('-', '_')}")
            syn.connect(j="i")
            syn.w = w0
            synapses[name] = syn
        sim.add(pre, post, *synapses.values())
        sim.build((t_first + (pairings - 1) * period_s) * second + 2 * max_delay_ms * ms)
        sim.run()
        w = {name: np.asarray(syn.w[:]) for name, syn in synapses.items()}
    finally:
        sim.close()
    for name, values in w.items():
        if np.any((values <= 0) | (values >= windows[name].w_max)):
            raise ValueError(f"{pairings} pairings drive the {name} window's weights to a bound from w0 = {w0}; "
                             "use fewer pairings")
    dw = {name: (values - w0) / pairings for name, values in w.items()}
    fits = {name: fit_window(delays_ms, dw[name], windows[name]) for name in windows}
    numbers = dict(fits[preset])
    for name, fit in fits.items():
        numbers.update({f"{name.replace('-', '_')}_{key}": value for key, value in fit.items()})

    def model(window_params):
        return {"A_plus": window_params.A_plus, "A_minus": window_params.A_minus,
                "tau_plus_ms": float(window_params.tau_plus / ms),
                "tau_minus_ms": float(window_params.tau_minus / ms), "w_max": window_params.w_max}

    config = {"device": device, "seed": seed, "preset": preset, "pairings": pairings, "period_s": period_s,
              "max_delay_ms": max_delay_ms, "step_ms": step_ms, "w0": w0, "dt_ms": 0.1,
              "model": model(windows[preset]), "presets": {name: model(p) for name, p in windows.items()}}
    arrays = {"delay_ms": delays_ms, "dw_per_pairing": dw[preset],
              "presets": {name.replace("-", "_"): {"dw_per_pairing": values} for name, values in dw.items()}}
    return Measurement(numbers, arrays, config, PUBLISHED)

