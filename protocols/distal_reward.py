"""Distal reward: one synapse, rewarded seconds after each of its pre->post pairings, wins.

Methods
-------
Izhikevich (2007, Cereb. Cortex 17:2443, Fig. 1) solved the distal-reward problem with
dopamine-modulated STDP: every excitatory synapse keeps an eligibility trace c that
STDP writes into and that decays with tau_c = 1 s; extracellular dopamine d (decay
tau_d = 0.2 s, a small tonic level plus a pulse per reward) turns it into weight change,
dw/dt = c d. In a network of 800 excitatory and 200 inhibitory neurons (100 synapses
per neuron, ~1 Hz spontaneous firing) one excitatory synapse was chosen and, every
time its postsynaptic neuron fired shortly after its presynaptic neuron, a dopamine
pulse was delivered 1-3 s later. Spikes of all other synapses happened in the same
interval, yet the chosen synapse grew to the maximum weight while the others did not:
the eligibility trace tags the synapse whose pairing came before the reward.

The paper's text was not readable from here; the numbers below are set beside
Izhikevich's own code for Fig. 1, ``daspnet.m`` (ModelDB 84167; read in a public copy
of the file), line by line:

=========================  ==============================  ================================
quantity                   daspnet.m                       here (preset ``full``)
=========================  ==============================  ================================
neurons                    800 RS + 200 FS, Izhikevich     800 ``PointNeuron`` + 200
                           model                           ``Interneuron`` (conductance LIF)
synapses                   100 per neuron (out), exc onto  the same, no self-connections or
                           any neuron, inh onto exc only   repeats; E->E plastic, E->I
                                                           static (all exc plastic there)
delay                      1 ms                            1 ms
time step                  1 ms, forward Euler (v in two   1 ms, forward Euler (``integration``)
                           0.5 ms steps)
weights                    w(0) = 1 mV, max 4 mV, chosen   w(0) = 0.25 w_max, chosen
                           synapse starts at 0             synapse starts at 0
STDP                       0.1 mV at each spike, decay     A+ = 1, A- = 1.5, tau 20 ms (c in
                           0.95/ms (tau 20 ms), LTD 1.5x   units of A+ = 0.1 mV)
eligibility c              decays 0.99 per 10 ms (~1 s)    tau_c = 1 s, same 10 ms step
dopamine d                 0.995/ms (200 ms), +0.5 per     tau_d = 0.2 s, +0.5 per reward
                           reward
weight update              every 10 ms, w += (0.002 + DA)  every 10 ms, w += eta (d_tonic +
                           c, clipped to [0, 4 mV]         d) c 10 ms; eta = 2.5/s, d_tonic
                                                           = 0.002 (the same in w_max units)
pairing -> reward          post fires < 20 ms after pre;   the same (``pairing_window_ms``);
                           reward 1-3 s later, any number  one reward pending at a time
                           pending
background                 uniform noise current, every    500 (exc) / 300 (inh) Hz Poisson
                           neuron, every ms                input, 1 nS each
duration                   3600 s                          3600 s
=========================  ==============================  ================================

Where ours differs, and why:

* Neurons: the project's conductance-based integrate-and-fire soma (its ``PointNeuron``
  and fast-spiking ``Interneuron``), since the protocol tests the project's models,
  not Izhikevich's. His EPSPs decay within a few ms (the quadratic model relaxes
  fast near rest); ours last the 20 ms membrane time constant. The maximal synapse is
  therefore matched by its integrated depolarisation rather than its peak: 1 nS is a
  1.1 mV peak and ~35 mV ms, against ~4 mV over a few ms. A maximum matched by the
  peak instead drove the network into synchronous bursts in which leader-to-follower
  synapses all grew to the maximum (docs/results.md, "Measurements behind the
  defaults").
* Background: Poisson conductance input instead of a noise current, set so that the
  excitatory neurons fire ~1 Hz as in the paper; the interneurons then fire less than
  Izhikevich's fast-spiking cells (the rates are in the physiology table of
  docs/results.md).
* E->I synapses are static: their plasticity plays no part in the demonstration, and
  fixed inhibition keeps the rate from drifting as the excitatory weights depress.
* One reward pending at a time (the loop compiles to a one-neuron "VTA" group); a
  pairing while one is pending is not rewarded again.
* The weight update runs as ``models.plasticity.reward_modulated_stdp`` in its
  ``stepped`` mode, daspnet.m's 10 ms step, so 64 000 plastic synapses cost one pass
  per 10 ms.

Why ~1 Hz matters: at higher rates the network fires in population bursts whose
leader-to-follower synapses carry more eligibility at reward time than the chosen
synapse does 1-3 s after its pairing, so the dopamine pulses grow them too (the
measurements are in docs/results.md, "Measurements behind the defaults").

The reward loop runs inside the network, so it compiles to C++: the VTA group notes
the chosen presynaptic neuron's spikes, and when the chosen postsynaptic neuron fires
within ``pairing_window_ms`` after one it schedules a reward at a uniformly drawn 1-3 s
later; at that time a custom event releases dopamine onto every excitatory neuron.

Preset ``quick`` keeps the compressed run used before (and by the tests): 100
neurons with random connectivity p = 0.1, 20 min, the clock-driven ``continuous``
update, ``eta`` = 3 with d_tonic = 0.01/3, a 10 ms pairing window, the chosen synapse
starting at w(0), Poisson input of 500 Hz to every neuron, exponential-Euler
integration (what it was tuned with, before the neurons' default became forward Euler).
It was tuned on seed 0 only.
On ``runtime`` the protocol uses Brian2's cython target (``runtime_target``); its
default device is ``cpp``.

Several seeds' files combine into one (``combine``; ``mtspark-bio figures FILES
--combine OUT.h5``), whose figure shows the chosen synapse's time course over seeds.

Key numbers (root attributes): ``chosen_w_final`` (units of w_max), ``chosen_rank``
(fraction of the other synapses below it at the end), ``others_mean_final``,
``others_p99_final``, ``chosen_wins`` (1 if the chosen synapse ends >= 0.9 w_max and
above the others' 99th percentile), ``time_to_max_s`` (first sample with the chosen
synapse above 0.9 w_max), ``n_pairings``, ``n_rewards``, ``rate_exc_hz``,
``rate_inh_hz``, ``rate_exc_cv``, ``build_s`` and ``run_s`` (wall time of compiling and
of the simulation).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from mtspark_bio.protocols.physiology import Measurement

NAME = "distal-reward"
DEFAULT_DEVICE = "cpp"
_PAPER = "Izhikevich 2007 (Cereb. Cortex 17:2443)"
_CODE = "Izhikevich's daspnet.m for Fig. 1 (ModelDB 84167), read in a public copy"
PUBLISHED = {
    "chosen_w_final": {"value": 1.0, "unit": "w_max",
                       "source": f"{_PAPER} Fig. 1: the rewarded synapse reaches the maximum, 4 mV "
                                 f"(sm = 4 in {_CODE}); the figure itself not checked here"},
    "others": {"value": "stay low (most near 0)", "unit": "",
               "source": f"{_PAPER} Fig. 1: distribution of the other synapses (from memory, not checked here)"},
    "network": {"value": "800 exc + 200 inh, 100 synapses each", "unit": "", "source": _CODE},
    "reward_delay_s": {"value": "1-3", "unit": "s", "source": f"{_CODE}: 1000 + ceil(2000 rand) ms"},
    "pairing_window_ms": {"value": 20, "unit": "ms", "source": f"{_CODE}: interval = 20"},
    "duration_s": {"value": 3600, "unit": "s", "source": f"{_CODE}: T = 3600"},
}
NEVER_S = 1e6  # "no reward pending"
OTHERS_PERCENTILES = (5, 25, 50, 75, 95, 99)


QUICK = {  # the compressed run of before issue 18: 100 neurons, 20 min, 3x rate, 1 nS (tests)
    "duration_s": 1200.0, "n_exc": 80, "synapses_per_neuron": None, "p": 0.1, "plasticity": "continuous",
    "eta": 3.0, "d_tonic": 0.01 / 3.0, "g_max_nS": 1.0, "chosen_w_init": None, "pairing_window_ms": 10.0,
    "background_hz": 500.0, "background_inh_hz": None, "g_ei_nS": 0.5, "random_initial_v": False,
    "integration": "exponential_euler", "sample_s": 10.0}
PRESETS = {"full": {}, "quick": QUICK}


def measure(device: str = DEFAULT_DEVICE, seed: int = 0, preset: str = "full", **options) -> Measurement:
    """Run preset ``preset`` (``full``: the paper's scale; ``quick``: the compressed
    run), ``options`` overriding single parameters of :func:`simulate`."""
    if preset not in PRESETS:
        raise ValueError(f"unknown distal-reward preset {preset!r}; choose one of {', '.join(PRESETS)}")
    measurement = simulate(device=device, seed=seed, **{**PRESETS[preset], **options})
    measurement.config["preset"] = preset
    return measurement


def _draw_wiring(rng, n_exc: int, n_inh: int, synapses_per_neuron: int | None, p: float):
    """The plastic E->E pairs (pre, post), the static pathways {"ei"/"ie"/"ii": (i, j)} and
    the index of the chosen (rewarded) synapse, drawn in one fixed order from ``rng``."""
    static = {}
    if synapses_per_neuron is None:  # each pair connected with probability p
        pre, post = np.nonzero((rng.random((n_exc, n_exc)) < p) & ~np.eye(n_exc, dtype=bool))
        chosen = int(rng.integers(len(pre)))  # drawn here as before issue 18: same quick runs
        for label, n_source, n_target in (("ei", n_exc, n_inh), ("ie", n_inh, n_exc), ("ii", n_inh, n_inh)):
            static[label] = np.nonzero(rng.random((n_source, n_target)) < p)
        return pre, post, static, chosen
    # daspnet.m: each neuron's axon makes synapses_per_neuron synapses; excitatory ones
    # onto any other neuron, inhibitory ones onto excitatory neurons only
    targets = np.stack([rng.permutation(n_exc + n_inh - 1)[:synapses_per_neuron] for _ in range(n_exc)])
    targets += targets >= np.arange(n_exc)[:, None]  # skip the neuron itself
    source = np.repeat(np.arange(n_exc), synapses_per_neuron)
    targets = targets.ravel()
    onto_exc = targets < n_exc
    pre, post = source[onto_exc], targets[onto_exc]
    static["ei"] = (source[~onto_exc], targets[~onto_exc] - n_exc)
    inh_targets = np.stack([rng.permutation(n_exc)[:synapses_per_neuron] for _ in range(n_inh)])
    static["ie"] = (np.repeat(np.arange(n_inh), synapses_per_neuron), inh_targets.ravel())
    return pre, post, static, int(rng.integers(len(pre)))


def _static_pathways(static: dict, exc, inh, g_ei_nS: float, g_ie_nS: float) -> list:
    """The static E->I, I->E (and I->I) synapses, 1 ms delay."""
    from brian2 import ms, nS

    from mtspark_bio.models.plasticity import static_synapse
    from mtspark_bio.network import make_synapses

    pathways = []
    for label, (i, j) in static.items():
        source = exc if label[0] == "e" else inh
        target = exc if label[1] == "e" else inh
        var, g = ("g_exc", g_ei_nS) if label[0] == "e" else ("g_inh", g_ie_nS)
        syn = make_synapses(static_synapse(var, g * nS), source, target, label, delay=1 * ms)
        syn.connect(i=i, j=j)
        syn.w = 1.0
        pathways.append(syn)
    return pathways


def _reward_loop(exc, pre_neuron: int, post_neuron: int, pairing_window_ms: float, dopamine: dict):
    """The reward loop inside the network: a one-neuron "VTA" group notes the chosen
    presynaptic neuron's spikes; when the chosen postsynaptic neuron fires within the
    pairing window after one, it schedules a reward 1-3 s later, at which a custom event
    releases dopamine onto every excitatory neuron. Returns the VTA group and all objects."""
    from brian2 import NeuronGroup, Synapses, second

    vta = NeuronGroup(1, "t_reward : second\nt_pre_spike : second\nt_pairing : second\n"
                      "n_pairings : integer\nn_rewards : integer",
                      events={"reward": "t >= t_reward"}, name="vta")
    vta.t_reward = NEVER_S * second
    vta.t_pre_spike = -NEVER_S * second
    vta.run_on_event("reward", f"t_reward = {NEVER_S}*second\nn_rewards += 1")
    stamp = Synapses(exc, vta, on_pre="t_pre_spike_post = t", name="stamp")
    stamp.connect(i=pre_neuron, j=0)
    trigger = Synapses(exc, vta, on_pre=f"""
paired = int(t - t_pre_spike_post <= {pairing_window_ms}*ms)*int(t_reward_post > {NEVER_S / 2}*second)
n_pairings_post += paired
t_pairing_post = paired*t + (1 - paired)*t_pairing_post
t_reward_post = paired*(t + 1*second + 2*second*rand()) + (1 - paired)*t_reward_post""", name="trigger")
    trigger.connect(i=post_neuron, j=0)
    release = Synapses(vta, exc, on_pre="d_post += dopamine_pulse", on_event={"pre": "reward"},
                       namespace=dopamine, name="release")
    release.connect()
    return vta, [vta, stamp, trigger, release]


def _weight_summary(t_w, w_t, chosen: int, w_max: float) -> tuple[dict, dict]:
    """The chosen synapse against the others over time (w_t: synapses x samples)."""
    others = np.delete(w_t, chosen, axis=0)
    final, others_final = w_t[chosen, -1], others[:, -1]
    above = np.flatnonzero(w_t[chosen] >= 0.9 * w_max)
    others_p99 = float(np.percentile(others_final, 99))
    numbers = {
        "chosen_w_final": float(final),
        "chosen_rank": float(np.mean(others_final < final)),
        "others_mean_final": float(others_final.mean()),
        "others_p99_final": others_p99,
        "chosen_wins": float(final >= 0.9 * w_max and final > others_p99),
        "time_to_max_s": float(t_w[above[0]]) if len(above) else float("nan"),
    }
    arrays = {"time_s": t_w, "chosen_w": w_t[chosen],
              # the other synapses as percentiles over time (storing all of them would
              # take 64 000 x samples numbers) and their final weights
              "others_percentiles": np.percentile(others, OTHERS_PERCENTILES, axis=0),
              "others_percentile_levels": np.asarray(OTHERS_PERCENTILES, dtype=float),
              "others_mean": others.mean(axis=0), "others_final_w": others_final}
    return numbers, arrays


def _firing_summary(spikes: dict, exc_rates, pair: tuple[int, int], sizes: tuple[int, int],
                    duration_s: float) -> dict:
    """Mean rates of both populations, the spread of the excitatory rates and the chosen
    pair's rates (spikes: "exc"/"inh" -> (t, i))."""
    (n_exc, n_inh), (t_exc, i_exc) = sizes, spikes["exc"]
    return {
        "rate_exc_hz": len(t_exc) / (n_exc * duration_s),
        "rate_inh_hz": len(spikes["inh"][0]) / (n_inh * duration_s),
        "rate_exc_cv": float(exc_rates.std() / exc_rates.mean()) if exc_rates.mean() > 0 else float("nan"),
        "rate_exc_p10_hz": float(np.percentile(exc_rates, 10)),
        "rate_chosen_pre_hz": int(np.sum(i_exc == pair[0])) / duration_s,
        "rate_chosen_post_hz": int(np.sum(i_exc == pair[1])) / duration_s,
    }


def _build_network(rng, n_exc: int, n_inh: int, synapses_per_neuron, p: float, plasticity: str, eta: float,
                   dopamine: dict, update_interval, g_max_nS: float, w_init: float, chosen_w_init,
                   background_hz: float, background_inh_hz: float, g_background_nS: float, g_ei_nS: float,
                   g_ie_nS: float, random_initial_v: bool, integration: str) -> dict:
    """The excitatory and inhibitory populations, the plastic E->E synapses with the
    chosen one, the static pathways and the background; returns the parts the run
    reads (``objects``: everything to simulate)."""
    from brian2 import Hz, PoissonInput, mV, ms, nS, second

    from mtspark_bio.models.neurons import Interneuron, PointNeuron
    from mtspark_bio.models.plasticity import RSTDPParams, reward_modulated_stdp
    from mtspark_bio.network import make_neurons, make_synapses, schedule_consolidation

    spec = PointNeuron().spec()
    spec = dataclasses.replace(spec, equations=spec.equations + "dd/dt = (d_tonic - d)/tau_d : 1\n",
                               method=integration)
    exc = make_neurons(spec, n_exc, "exc", namespace=dopamine)
    exc.d = dopamine["d_tonic"]
    inh = make_neurons(dataclasses.replace(Interneuron().spec(), method=integration), n_inh, "inh")

    params = RSTDPParams(A_plus=1.0, A_minus=1.5, tau_c=1 * second, eta=eta)
    plastic = reward_modulated_stdp("g_exc", g_max_nS * nS, params, modulator="d", mode=plasticity,
                                    update_interval=update_interval)
    ee = make_synapses(plastic, exc, exc, "ee", delay=1 * ms)
    if plasticity == "stepped":
        schedule_consolidation(ee, plastic, every=update_interval, name="ee_update")
    pre, post, static, chosen = _draw_wiring(rng, n_exc, n_inh, synapses_per_neuron, p)
    ee.connect(i=pre, j=post)
    initial_w = np.full(len(pre), w_init)
    if chosen_w_init is not None:  # daspnet.m starts the chosen synapse at 0
        initial_w[chosen] = chosen_w_init
    ee.w = initial_w
    if random_initial_v:  # start desynchronised: membrane potentials between rest and threshold
        for group in (exc, inh):
            group.v_s = rng.uniform(-70.0, -50.0, len(group)) * mV
    objects = [exc, inh, ee, *_static_pathways(static, exc, inh, g_ei_nS, g_ie_nS)]
    for group, rate_hz in ((exc, background_hz), (inh, background_inh_hz)):
        # background: N independent Poisson inputs per neuron
        objects.append(PoissonInput(group, "g_exc", N=100, rate=rate_hz / 100 * Hz,
                                    weight=f"{g_background_nS}*nS"))
    return {"exc": exc, "inh": inh, "ee": ee, "params": params, "n_plastic": len(pre), "chosen": chosen,
            "pair": (int(pre[chosen]), int(post[chosen])), "objects": objects}


def simulate(device: str = DEFAULT_DEVICE, seed: int = 0, duration_s: float = 3600.0, n_exc: int = 800,
             synapses_per_neuron: int | None = 100, p: float = 0.1, plasticity: str = "stepped",
             eta: float = 2.5, d_tonic: float = 0.002, g_max_nS: float = 1.0, w_init: float = 0.25,
             chosen_w_init: float | None = 0.0, pairing_window_ms: float = 20.0,
             background_hz: float = 500.0, background_inh_hz: float | None = 300.0,
             g_background_nS: float = 1.0, g_ei_nS: float = 1.0,
             g_ie_nS: float = 4.0, random_initial_v: bool = True, integration: str = "euler",
             sample_s: float = 60.0,
             runtime_target: str = "cython",
             directory=None) -> Measurement:
    from brian2 import EventMonitor, SpikeMonitor, StateMonitor, ms, second

    from mtspark_bio.devices import Simulation
    from mtspark_bio.protocols.physiology import check_device

    check_device(device)
    if plasticity not in ("stepped", "continuous"):
        raise ValueError(f"plasticity must be 'stepped' or 'continuous', got {plasticity!r}")
    n_inh = n_exc // 4
    if synapses_per_neuron is not None and not 0 < synapses_per_neuron < n_exc:
        raise ValueError(f"synapses_per_neuron must lie in 1..{n_exc - 1} for {n_exc} excitatory neurons, "
                         f"got {synapses_per_neuron}")
    if background_inh_hz is None:
        background_inh_hz = background_hz
    rng = np.random.default_rng(seed)
    dopamine = {"d_tonic": d_tonic, "tau_d": 200 * ms, "dopamine_pulse": 0.5}
    update_interval = 10 * ms  # stepped plasticity: daspnet.m's 10 ms weight update
    sim = Simulation(device, directory=directory, seed=seed, dt=1 * ms, runtime_target=runtime_target)
    try:
        net = _build_network(rng, n_exc, n_inh, synapses_per_neuron, p, plasticity, eta, dopamine, update_interval,
                             g_max_nS, w_init, chosen_w_init, background_hz, background_inh_hz, g_background_nS,
                             g_ei_nS, g_ie_nS, random_initial_v, integration)
        exc, inh, ee, params, (a, b) = net["exc"], net["inh"], net["ee"], net["params"], net["pair"]
        vta, loop = _reward_loop(exc, a, b, pairing_window_ms, dopamine)

        weights = StateMonitor(ee, "w", record=True, dt=sample_s * second, name="weights")
        rewards = EventMonitor(vta, "reward", variables=["t_pairing"], name="rewards")
        exc_spikes = SpikeMonitor(exc, name="exc_spikes")
        inh_spikes = SpikeMonitor(inh, name="inh_spikes")
        sim.add(*net["objects"], *loop, weights, rewards, exc_spikes, inh_spikes)
        sim.build(duration_s * second)
        started = time.perf_counter()
        sim.run()
        run_s = time.perf_counter() - started
        w_t = np.clip(np.asarray(weights.w), 0, params.w_max)  # (synapses, samples); w drifts between spikes
        t_w = np.asarray(weights.t / second)
        final_w = np.clip(np.asarray(ee.w[:]), 0, params.w_max)
        reward_times = np.asarray(rewards.t / second)
        rewarded_pairings = np.asarray(rewards.t_pairing / second)  # the pairing each reward answers
        n_pairings = int(vta.n_pairings[0])
        spikes = {label: (np.asarray(m.t / second), np.asarray(m.i[:])) for label, m in
                  (("exc", exc_spikes), ("inh", inh_spikes))}
        exc_rates = np.asarray(exc_spikes.count[:]) / duration_s
        build_s = sim.timings["build_s"]
    finally:
        sim.close()

    # the state at the end of the run joins the samples (the monitor samples from t = 0)
    t_w, w_t = np.append(t_w, duration_s), np.column_stack([w_t, final_w])
    numbers, arrays = _weight_summary(t_w, w_t, net["chosen"], params.w_max)
    last_s = min(10.0, duration_s)  # raster of the last seconds
    numbers.update({"n_pairings": float(n_pairings), "n_rewards": float(len(reward_times)),
                    **_firing_summary(spikes, exc_rates, (a, b), (n_exc, n_inh), duration_s),
                    "build_s": float(build_s), "run_s": float(run_s)})
    arrays.update({"reward_times_s": reward_times, "rewarded_pairing_times_s": rewarded_pairings,
                   "raster": {label: {"t": t[t >= duration_s - last_s], "i": i[t >= duration_s - last_s]}
                              for label, (t, i) in spikes.items()},
                   "chosen_pair": np.array([a, b])})
    config = {"device": device, "seed": seed, "duration_s": duration_s, "n_exc": n_exc, "n_inh": n_inh,
              "synapses_per_neuron": synapses_per_neuron, "p": p if synapses_per_neuron is None else None,
              "n_plastic_synapses": int(net["n_plastic"]), "plasticity": plasticity,
              "update_interval_ms": float(update_interval / ms) if plasticity == "stepped" else None,
              "eta": eta, "g_max_nS": g_max_nS, "w_init": w_init, "chosen_w_init": chosen_w_init,
              "background_hz": background_hz, "background_inh_hz": background_inh_hz,
              "g_background_nS": g_background_nS, "g_ei_nS": g_ei_nS, "g_ie_nS": g_ie_nS,
              "random_initial_v": random_initial_v, "integration": integration, "sample_s": sample_s,
              "dt_ms": 1.0, "A_plus": 1.0, "A_minus": 1.5,
              "tau_c_s": 1.0, "tau_d_s": 0.2, "d_tonic": d_tonic, "dopamine_pulse": 0.5,
              "reward_delay_s": [1.0, 3.0], "pairing_window_ms": pairing_window_ms, "raster_last_s": last_s}
    return Measurement(numbers, arrays, config, PUBLISHED)


SEEDS_PROTOCOL = "distal-reward-seeds"
#: key numbers summarised over seeds (mean and s.d.) in a combined file
SEED_SUMMARY = ("chosen_w_final", "chosen_rank", "others_mean_final", "others_p99_final", "time_to_max_s",
                "n_rewards", "rate_exc_hz", "rate_inh_hz", "run_s", "build_s")


def combine(paths, out) -> Path:
    """Write the result files of several seeds of one configuration as one file
    (protocol ``distal-reward-seeds``): the chosen synapse's weight, the others' mean and
    99th percentile over time for every seed (rows), every seed's key numbers, and as
    root attributes ``n_seeds``, ``n_wins`` (chosen synapse >= 0.9 w_max and above the
    others' 99th percentile) and ``<number>_mean`` / ``<number>_sd`` (s.d. over seeds,
    ddof 1). ValueError, before anything is written, for fewer than two files, files of
    another protocol, repeated seeds or configurations that differ beyond the seed."""
    from mtspark_bio.protocols.physiology import write_result
    from mtspark_bio.readers import PhysiologyResult

    paths, out = [Path(p) for p in paths], Path(out)
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"the combined file must be an .h5 file, got {out}")
    if len(paths) < 2:
        raise ValueError(f"combining needs the result files of at least two seeds, got {len(paths)}")
    for path in paths:
        if not path.is_file():
            raise ValueError(f"{path} does not exist")
    results = [PhysiologyResult(path, NAME) for path in paths]  # ValueError for another protocol
    runs = [{"path": r.path, "config": r.config, "arrays": r.data, "numbers": r.numbers} for r in results]
    seeds = [run["config"]["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"repeated seeds among the files: {sorted(seeds)}")
    ignore = ("seed", "n_plastic_synapses")  # the seed draws the wiring, so its size too
    reference = {k: v for k, v in runs[0]["config"].items() if k not in ignore}
    for run in runs[1:]:
        differs = sorted(k for k in set(reference) | set(run["config"])
                         if k not in ignore and reference.get(k) != run["config"].get(k))
        if differs:
            raise ValueError(f"{run['path']} differs from {runs[0]['path']} in {', '.join(differs)}; "
                             "combine only seeds of one configuration")
    order = np.argsort(seeds)
    runs = [runs[k] for k in order]
    time_s = runs[0]["arrays"]["time_s"]
    levels = list(runs[0]["arrays"]["others_percentile_levels"])
    p99 = levels.index(99.0)
    arrays = {"seeds": np.asarray([run["config"]["seed"] for run in runs]), "time_s": time_s,
              "chosen_w": np.stack([run["arrays"]["chosen_w"] for run in runs]),
              "others_mean": np.stack([run["arrays"]["others_mean"] for run in runs]),
              "others_p99": np.stack([run["arrays"]["others_percentiles"][p99] for run in runs]),
              "per_seed": {key: np.asarray([run["numbers"].get(key, np.nan) for run in runs])
                           for key in (*SEED_SUMMARY, "chosen_wins")}}
    wins = arrays["per_seed"]["chosen_wins"]
    numbers = {"n_seeds": float(len(runs)), "n_wins": float(np.nansum(wins))}
    for key in SEED_SUMMARY:
        values = arrays["per_seed"][key]
        numbers[f"{key}_mean"] = float(np.nanmean(values))
        numbers[f"{key}_sd"] = float(np.nanstd(values, ddof=1)) if np.sum(np.isfinite(values)) > 1 else float("nan")
    config = {**reference, "seeds": arrays["seeds"].tolist(), "files": [str(run["path"]) for run in runs]}
    return write_result(out, SEEDS_PROTOCOL, Measurement(numbers, arrays, config, PUBLISHED))

