"""Behaviour of the neuron and synapse models (runtime device, numpy target, dt = 0.1 ms).

Every assertion compares a measured quantity with an expectation derived from the model
parameters (a linear steady state, a passive twin of the neuron, the eligibility decay),
never with a number copied from an earlier run; the STDP window is fitted in
test_physiology_protocols.py. Run with ``-s`` to see the measured figures.
"""

import numpy as np
import pytest
from brian2 import (
    EventMonitor,
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    defaultclock,
    mV,
    ms,
    nS,
    prefs,
    second,
)

from mtspark_bio.models.neurons import DendriticNeuron, SegmentParams
from mtspark_bio.models.plasticity import (
    ContextParams,
    RSTDPParams,
    context_plasticity,
    delayed_credit_rstdp,
    reward_modulated_stdp,
    static_synapse,
)
from mtspark_bio.network import make_neurons, make_synapses, schedule_consolidation

pytestmark = [pytest.mark.runtime,
              pytest.mark.filterwarnings("ignore:'parseAll' argument is deprecated")]

DT = 0.1 * ms


@pytest.fixture(autouse=True)
def numpy_runtime():
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT


# ----------------------------------------------------------------------------- helpers

def scheduled_group(spike_times, name, extra=""):
    """Neurons that each fire exactly once, at ``spike_times[i]`` (negative: never).

    Deterministic stand-in for a pre- or postsynaptic population; ``extra`` declares the
    variables synapses write or read (``g_exc``, a modulator, ...).
    """
    group = NeuronGroup(len(spike_times), "t_spike : second\n" + extra,
                        threshold="abs(t - t_spike) < 0.5*dt", reset="", name=name)
    group.t_spike = np.asarray(spike_times, dtype=float) * second
    return group


def poisson_trains(n, rate_hz, duration_s, rng):
    """Seeded Poisson spike trains on the dt grid (at most one spike per neuron and step)."""
    indices, steps = [], []
    n_steps = int(round(duration_s / float(DT)))
    for k in range(n):
        isi = rng.exponential(1.0 / rate_hz, size=int(3 * rate_hz * duration_s) + 20)
        t = np.cumsum(isi)
        s = np.unique(np.round(t[t < duration_s] / float(DT)).astype(int))
        s = s[s < n_steps]
        indices.append(np.full(len(s), k))
        steps.append(s)
    return np.concatenate(indices), np.concatenate(steps) * float(DT)


def linear_steady_state(neuron: DendriticNeuron, plateau_segments=()):
    """Steady state (volts) of the passive compartments with the plateau conductance
    open in ``plateau_segments``: solves G v = b for (v_s, v_b, v_d0 .. v_d{K-1})."""
    soma, basal, seg = neuron.soma, neuron.basal, neuron.segment
    K = neuron.n_segments
    n = 2 + K
    G = np.zeros((n, n))
    b = np.zeros(n)
    E_L = float(soma.E_leak)

    def couple(i, j, g):
        G[i, i] += g
        G[j, j] += g
        G[i, j] -= g
        G[j, i] -= g

    def leak(i, g, E):
        G[i, i] += g
        b[i] += g * E

    leak(0, float(soma.g_leak_soma), E_L)
    leak(1, float(basal.g_leak_basal), E_L)
    couple(0, 1, float(basal.g_axial_basal))
    for k in range(K):
        leak(2 + k, float(seg.g_leak_segment), E_L)
        couple(0, 2 + k, float(seg.g_axial_segment))
        if k in plateau_segments:
            leak(2 + k, float(seg.g_plateau), float(seg.E_plateau))
    return np.linalg.solve(G, b)


def kick_network(kicks_per_segment, neuron, name):
    """One DendriticNeuron per row of ``kicks_per_segment`` (nS, one column per segment),
    each segment receiving one conductance step of that size at 10 ms."""
    kicks = np.asarray(kicks_per_segment, dtype=float)
    group = make_neurons(neuron.spec(), len(kicks), name)
    source = SpikeGeneratorGroup(1, [0], [10] * ms, name=f"{name}_kick")
    objects = [group, source]
    for k in range(kicks.shape[1]):
        syn = make_synapses(static_synapse(f"g_ctx{k}", 1 * nS), source, group, f"{name}_kick{k}")
        syn.connect()
        syn.w = kicks[:, k]
        objects.append(syn)
    return group, objects


# --------------------------------------------------------------------------- 1. gating

def test_context_gating_of_feedforward_input():
    """Feed-forward input alone leaves the soma subthreshold; a matching context (drive
    onto segment 0 strong enough for plateaus) gates the neuron on; a non-matching
    context (the same spike statistics through depressed, 2 % weights) does not."""
    duration_s, replicates = 1.0, 3
    n_ff, ff_rate, g_ff = 50, 20.0, 1.25 * nS  # 1 kHz of 1.25 nS kicks on the basal dendrite
    n_ctx, ctx_rate, g_ctx, w_nonmatching = 20, 40.0, 2.5 * nS, 0.02
    neuron = DendriticNeuron(n_segments=2)
    rng = np.random.default_rng(20240601)

    ff_i, ff_t = [], []
    for r in range(replicates):  # replicate r gets its own feed-forward trains
        indices, times = poisson_trains(n_ff, ff_rate, duration_s, rng)
        ff_i.append(indices + r * n_ff)
        ff_t.append(times)
    ff = SpikeGeneratorGroup(replicates * n_ff, np.concatenate(ff_i), np.concatenate(ff_t) * second,
                             name="ff")
    # context neurons 0..n_ctx-1: the matching context; n_ctx..2n_ctx-1: another context
    ci, ct = poisson_trains(2 * n_ctx, ctx_rate, duration_s, rng)
    ctx = SpikeGeneratorGroup(2 * n_ctx, ci, ct * second, name="ctx")

    # neuron 3r + c: replicate r, condition c (0 = ff only, 1 = matched, 2 = non-matching)
    cells = make_neurons(neuron.spec(), 3 * replicates, "cells")
    ff_syn = make_synapses(static_synapse("g_exc", g_ff), ff, cells, "ff_syn")
    pre = np.repeat(np.arange(replicates * n_ff), 3)
    post = 3 * (pre // n_ff) + np.tile(np.arange(3), replicates * n_ff)
    ff_syn.connect(i=pre, j=post)
    ff_syn.w = 1.0
    ctx_syn = make_synapses(static_synapse("g_ctx0", g_ctx), ctx, cells, "ctx_syn")
    matched_pre = np.tile(np.arange(n_ctx), replicates)
    matched_post = np.repeat(3 * np.arange(replicates) + 1, n_ctx)
    other_pre = np.tile(np.arange(n_ctx, 2 * n_ctx), replicates)
    other_post = np.repeat(3 * np.arange(replicates) + 2, n_ctx)
    ctx_syn.connect(i=np.concatenate([matched_pre, other_pre]), j=np.concatenate([matched_post, other_post]))
    ctx_syn.w = np.concatenate([np.ones(len(matched_pre)), np.full(len(other_pre), w_nonmatching)])

    spikes = SpikeMonitor(cells, name="spikes")
    plateaus = EventMonitor(cells, "plateau", name="plateaus")
    soma = StateMonitor(cells, ["v_s", "v_d0"], record=True, dt=1 * ms, name="soma")
    Network(cells, ff, ctx, ff_syn, ctx_syn, spikes, plateaus, soma).run(duration_s * second)

    counts = np.asarray(spikes.count).reshape(replicates, 3)
    rates = counts.sum(axis=0) / (replicates * duration_s)
    n_plateaus = np.bincount(np.asarray(plateaus.i), minlength=3 * replicates).reshape(replicates, 3)
    v_s_mean = (soma.v_s / mV).reshape(replicates, 3, -1)[:, 0].mean()
    v_d0_max_other = (soma.v_d0 / mV).reshape(replicates, 3, -1)[:, 2].max()
    print(f"\n[gating] rate ff only = {rates[0]:.2f} Hz, ff + matched context = {rates[1]:.2f} Hz, "
          f"ff + non-matching context = {rates[2]:.2f} Hz; plateaus per neuron "
          f"{n_plateaus.mean(axis=0)}; mean v_s (ff only) = {v_s_mean:.2f} mV; "
          f"max v_d0 non-matching = {v_d0_max_other:.2f} mV")

    seg = neuron.segment
    # ff alone: subthreshold on average, rare spikes
    assert v_s_mean < float(neuron.soma.V_threshold / mV) - 2
    assert rates[0] < 5
    # matched context: plateaus re-trigger as soon as the plateau refractory allows
    cycle_s = float(seg.plateau_duration + seg.plateau_refractory)
    assert np.all(n_plateaus[:, 1] >= 0.8 * duration_s / cycle_s)
    assert np.all(n_plateaus[:, 1] <= duration_s / cycle_s + 1)
    assert rates[1] >= 10 and rates[1] >= 3 * rates[0]
    # non-matching context: never reaches the plateau threshold, rate stays close to ff only
    assert np.all(n_plateaus[:, [0, 2]] == 0)
    assert v_d0_max_other < float(seg.V_plateau_threshold / mV)
    assert rates[2] < 5
    assert abs(rates[2] - rates[0]) <= 0.1 * (rates[1] - rates[0])


# ------------------------------------------------------------- 2. plateau all-or-none

def test_plateau_all_or_none_and_duration():
    neuron = DendriticNeuron(n_segments=2)
    seg, soma_p = neuron.segment, neuron.soma
    # passive twin: the same neuron without plateau conductance tells which kicks cross
    passive_neuron = DendriticNeuron(n_segments=2, segment=SegmentParams(g_plateau=0 * nS))
    kicks = np.linspace(0.5, 10.0, 39)
    zeros = np.zeros_like(kicks)
    active, objs_a = kick_network(np.c_[kicks, zeros], neuron, "active")
    passive, objs_p = kick_network(np.c_[kicks, zeros], passive_neuron, "passive")
    mon = StateMonitor(active, ["v_d0", "v_s", "plateau0"], record=True, name="mon_active")
    mon_p = StateMonitor(passive, ["v_d0"], record=True, name="mon_passive")
    duration = 150 * ms
    Network(*objs_a, *objs_p, mon, mon_p).run(duration)

    t = mon.t / ms
    v_d = mon.v_d0 / mV
    v_s = mon.v_s / mV
    threshold = float(seg.V_plateau_threshold / mV)
    predicted = (mon_p.v_d0 / mV).max(axis=1) > threshold
    plateaued = mon.plateau0.max(axis=1) > 0
    assert predicted.any() and not predicted.all(), "kick range must span the threshold"
    np.testing.assert_array_equal(plateaued, predicted)
    critical = (kicks[~plateaued].max(), kicks[plateaued].min())
    assert critical[0] < critical[1]  # monotone: every kick above the critical one plateaus

    peak = v_d.max(axis=1)
    # below the critical kick the segment is passive (identical to the twin)
    np.testing.assert_allclose(peak[~plateaued], (mon_p.v_d0 / mV).max(axis=1)[~plateaued], atol=1e-6)
    # all-or-none: a jump of well over 10 mV between the largest failure and smallest success
    jump = peak[plateaued].min() - peak[~plateaued].max()
    E_plateau = float(seg.E_plateau / mV)
    assert jump > 10
    assert np.all(np.abs(peak[plateaued] - E_plateau) < 10)

    duration_ms = float(seg.plateau_duration / ms)
    dt_ms = float(DT / ms)
    steady = linear_steady_state(neuron, plateau_segments=(0,)) / float(mV)
    E_L = float(soma_p.E_leak / mV)
    levels, durations, soma_depol = [], [], []
    for n in np.flatnonzero(plateaued):
        on = np.flatnonzero(mon.plateau0[n] > 0)
        assert np.all(np.diff(on) == 1), "one contiguous plateau"
        durations.append(len(on) * dt_ms)
        onset = t[on[0]]
        # plateau level once the context conductance has decayed (8 tau_context)
        level_idx = np.searchsorted(t, onset + 8 * float(seg.tau_context / ms))
        levels.append(v_d[n, level_idx])
        soma_depol.append(v_s[n, on].max() - E_L)
        # the plateau ends: 5 ms later the segment is back below threshold
        assert v_d[n, on[-1] + int(5 / dt_ms)] < threshold
    levels, durations, soma_depol = map(np.asarray, (levels, durations, soma_depol))
    print(f"\n[plateau] critical kick between {critical[0]:.2f} and {critical[1]:.2f} nS; "
          f"jump {jump:.1f} mV; peak v_d0 {peak[plateaued].min():.2f}..{peak[plateaued].max():.2f} mV "
          f"(E_plateau {E_plateau:.0f} mV); plateau level {levels.min():.2f}..{levels.max():.2f} mV "
          f"(linear steady state {steady[2]:.2f} mV); duration {durations.min():.1f}..{durations.max():.1f} ms "
          f"(plateau_duration {duration_ms:.0f} ms); soma depolarisation {soma_depol.min():.2f}.."
          f"{soma_depol.max():.2f} mV (steady state {steady[0] - E_L:.2f} mV)")

    assert np.ptp(levels) < 0.5  # level independent of the kick
    assert np.all(np.abs(levels - steady[2]) < 1.0)
    assert np.all(np.abs(durations - duration_ms) <= 2 * dt_ms)
    assert np.all((soma_depol > 5) & (soma_depol < 20))
    assert np.all(np.abs(soma_depol - (steady[0] - E_L)) < 1.0)


# --------------------------------------------------------- 3. strongest segment decides

def test_only_the_segment_above_threshold_plateaus():
    neuron = DendriticNeuron(n_segments=2)
    passive_neuron = DendriticNeuron(n_segments=2, segment=SegmentParams(g_plateau=0 * nS))
    # rows: (segment 0, segment 1) kicks in nS
    kicks = np.array([[8.0, 2.0], [2.0, 8.0], [8.0, 4.0], [2.0, 2.0]])
    active, objs_a = kick_network(kicks, neuron, "active")
    passive, objs_p = kick_network(kicks, passive_neuron, "passive")
    mon = StateMonitor(active, ["plateau0", "plateau1", "v_s"], record=True, name="mon_active")
    mon_p = StateMonitor(passive, ["v_d0", "v_d1"], record=True, name="mon_passive")
    Network(*objs_a, *objs_p, mon, mon_p).run(100 * ms)

    threshold = float(neuron.segment.V_plateau_threshold / mV)
    crosses = np.stack([(mon_p.v_d0 / mV).max(axis=1), (mon_p.v_d1 / mV).max(axis=1)], axis=1) > threshold
    fired = np.stack([mon.plateau0.max(axis=1), mon.plateau1.max(axis=1)], axis=1) > 0
    print(f"\n[segments] kicks (nS) {kicks.tolist()} -> plateaus {fired.astype(int).tolist()}")
    np.testing.assert_array_equal(crosses, kicks >= 8)  # the design: 8 nS above, <= 4 nS below
    np.testing.assert_array_equal(fired, crosses)
    # only segment 0 in row 0, only segment 1 in row 1; by symmetry the soma sees the same
    assert fired[0].tolist() == [True, False] and fired[1].tolist() == [False, True]
    np.testing.assert_allclose(mon.v_s[0] / mV, mon.v_s[1] / mV, atol=1e-6)


# ------------------------------------------------------------------------ 4. STDP window
# Fitted to 2 % of STDPParams by tests/test_physiology_protocols.py
# (test_stdp_window_recovers_the_model_window, the stdp-window protocol).


# ---------------------------------------------------------------------------- 5. R-STDP

POST_VARIABLES = "g_exc : siemens\nM : 1\nd : 1"


def test_rstdp_pulsed_modulator_sign_and_unpaired_synapses():
    params = RSTDPParams(tau_c=200 * ms)
    t_pre, t_post, reward_every = 0.020, 0.030, 100 * ms
    # synapse k: (pre time, post time, modulator)
    cases = {
        "paired, M = 0": (t_pre, t_post, 0.0),
        "paired, M = +1": (t_pre, t_post, 1.0),
        "paired, M = -1": (t_pre, t_post, -1.0),
        "pre only, M = +1": (t_pre, -1.0, 1.0),
        "post only, M = +1": (-1.0, t_post, 1.0),
        "silent, M = +1": (-1.0, -1.0, 1.0),
    }
    pre_t, post_t, modulator = map(np.array, zip(*cases.values()))
    pre = scheduled_group(pre_t, "pre")
    post = scheduled_group(post_t, "post", extra=POST_VARIABLES)
    post.M = modulator
    spec = reward_modulated_stdp("g_exc", 0 * nS, params, modulator="M", mode="pulsed")
    syn = make_synapses(spec, pre, post, "rstdp_syn")
    syn.connect(j="i")
    w0 = 0.5
    syn.w = w0
    schedule_consolidation(syn, spec, reward_every, name="consolidate")
    Network(pre, post, syn).run(250 * ms)  # rewards at 0, 100 and 200 ms

    dw = np.asarray(syn.w) - w0
    # eligibility at the 100 ms reward: the STDP window, decayed with tau_c since the post spike
    c_reward = params.A_plus * np.exp(-(t_post - t_pre) / float(params.tau_plus)) * np.exp(
        -(float(reward_every) - t_post) / float(params.tau_c))
    expected = np.array([0.0, 1.0, -1.0, 0.0, 0.0, 0.0]) * params.eta * c_reward
    print("\n[R-STDP pulsed] " + ", ".join(f"{k}: dw = {v:+.6f}" for k, v in zip(cases, dw))
          + f" (expected +-{params.eta * c_reward:.6f})")
    assert dw[0] == 0 and dw[3] == 0 and dw[4] == 0 and dw[5] == 0
    assert dw[1] > 0 and dw[2] < 0
    np.testing.assert_allclose(dw, expected, rtol=1e-3, atol=1e-12)
    # the eligibility was consumed at the first reward: the 200 ms reward added nothing
    np.testing.assert_array_equal(np.asarray(syn.c), 0.0)



def _delayed_credit_run(tag, trace_decay=0.0, pre_credit=0.0, boundaries=3):
    """Three synapses under the agent's rule (models.plasticity.delayed_credit_rstdp),
    agent steps of 20 ms: 0 paired pre->post in step 0 (5 ms -> 8 ms), 1 unpaired
    (pre at 5 ms, its post silent), 2 silent. M = 1 from the 20 ms boundary on; the tag
    of the 0 ms boundary is 0 and that of the 20 ms boundary (which marks step 0's
    eligibility) is ``tag``, later ones 0. Returns the weight changes after the 20, 40,
    60 ... ms boundaries."""
    params = RSTDPParams(tau_c=50 * ms, eta=0.1)
    step = 20 * ms
    pre = scheduled_group([0.005, 0.005, -1.0], "pre")
    post = scheduled_group([0.008, -1.0, -1.0], "post", extra=POST_VARIABLES + "\ntag : 1")
    spec = delayed_credit_rstdp("g_exc", 0 * nS, params, modulator="M", tag="tag", trace_decay=trace_decay,
                                pre_credit=pre_credit)
    syn = make_synapses(spec, pre, post, "delayed_syn")
    syn.connect(j="i")
    syn.w = 0.5
    syn.run_regularly(spec.consolidate, dt=step, when="end", order=1, name="delayed_consolidate")
    post.run_regularly(f"M = int(t >= 20*ms)\ntag = {tag}*int(abs(t - 20*ms) < 1*ms)", dt=step, when="end",
                       order=0, name="set_m")
    net = Network(pre, post, syn)
    net.run(10 * ms)  # the 0 ms boundary
    changes = []
    for _ in range(boundaries):
        net.run(step)
        changes.append(np.asarray(syn.w) - 0.5)
    return params, np.array(changes)


def test_delayed_credit_rstdp_applies_the_modulator_to_the_previous_steps_eligibility():
    """One-step credit (trace_decay 0): the TD error delivered at a step boundary judges
    the step before. The pairing in step 0 (0-20 ms), marked at the 20 ms boundary, is
    credited by the modulator of the 40 ms boundary and not by the 20 ms one, and by no
    later one; the unpaired and silent synapses never change."""
    params, dw = _delayed_credit_run(tag=1)
    c_at_20 = params.A_plus * np.exp(-0.003 / float(params.tau_plus)) * np.exp(-0.012 / float(params.tau_c))
    print(f"\n[delayed-credit R-STDP] dw = {dw[1, 0]:+.6f} at the 40 ms boundary (expected {params.eta * c_at_20:+.6f})")
    assert np.all(dw[0] == 0)  # the 20 ms delta does not credit step 0 yet
    assert dw[1, 0] == pytest.approx(params.eta * c_at_20, rel=1e-6)
    assert dw[2, 0] == pytest.approx(dw[1, 0], rel=1e-12)  # nothing more after the 40 ms one
    assert np.all(dw[:, 1:] == 0)


def test_delayed_credit_trace_reaches_later_errors_and_follows_the_tag():
    """TD(lambda) credit: with trace_decay d every later boundary credits the same marked
    eligibility again, scaled by d per step; a tag of 0 marks nothing and a tag of -1
    (the opponent value population) learns with the opposite sign."""
    decay = 0.5
    params, dw = _delayed_credit_run(tag=1, trace_decay=decay, boundaries=4)
    steps = np.diff(np.r_[0.0, dw[:, 0]])
    print(f"\n[credit trace] weight change per boundary (20..80 ms): {np.round(steps, 7)}; decay {decay}")
    assert steps[0] == 0 and steps[1] > 0
    np.testing.assert_allclose(steps[2:], steps[1] * decay ** np.arange(1, 3), rtol=1e-9)
    _, untagged = _delayed_credit_run(tag=0, trace_decay=decay)
    assert np.all(untagged == 0)
    _, opponent = _delayed_credit_run(tag=-1)
    assert opponent[-1, 0] == pytest.approx(-dw[1, 0], rel=1e-9)


def test_pre_credit_reaches_an_explored_action_whose_population_was_silent():
    """pre_credit: a tagged synapse whose postsynaptic neuron stayed silent (an action
    chosen by exploration) is credited with its presynaptic trace, apre decayed with
    tau_plus to the boundary, times pre_credit; without it, it has no eligibility."""
    params, dw = _delayed_credit_run(tag=1, pre_credit=0.2)
    apre_at_20 = np.exp(-0.015 / float(params.tau_plus))
    assert dw[1, 1] == pytest.approx(params.eta * 0.2 * apre_at_20, rel=1e-6)
    assert dw[1, 2] == 0  # a silent input has nothing to credit
    _, without = _delayed_credit_run(tag=1)
    assert without[1, 1] == 0


def test_rstdp_eligibility_decays_with_tau_c():
    params = RSTDPParams(tau_c=200 * ms)
    t_pre, t_post = 0.010, 0.020
    pre = scheduled_group([t_pre, t_post], "pre")
    post = scheduled_group([t_post, t_pre], "post", extra=POST_VARIABLES)
    spec = reward_modulated_stdp("g_exc", 0 * nS, params, modulator="M", mode="pulsed")
    syn = make_synapses(spec, pre, post, "rstdp_syn")  # no consolidation: c is never consumed
    syn.connect(j="i")
    mon = StateMonitor(syn, "eligibility", record=[0, 1], dt=1 * ms, name="elig")
    Network(pre, post, syn, mon).run(400 * ms)

    t = mon.t / second
    after = t > t_post + 0.001
    fits = []
    for k, sign in ((0, 1.0), (1, -1.0)):  # pre->post: positive trace; post->pre: negative
        e = mon.eligibility[k][after]
        assert np.all(sign * e > 0)
        slope, intercept = np.polyfit(t[after], np.log(sign * e), 1)
        fits.append(-1 / slope)
        amplitude = (params.A_plus if k == 0 else params.A_minus) * np.exp(-(t_post - t_pre) / 0.020)
        assert np.exp(intercept + slope * t_post) == pytest.approx(amplitude, rel=0.01)
    print(f"\n[R-STDP eligibility] fitted tau_c = {fits[0] * 1000:.2f} ms (LTP trace), "
          f"{fits[1] * 1000:.2f} ms (LTD trace); parameter {float(params.tau_c / ms):.0f} ms")
    for tau in fits:
        assert tau == pytest.approx(float(params.tau_c), rel=0.05)


def test_rstdp_continuous_dopamine():
    params = RSTDPParams(tau_c=200 * ms)
    t_pre, t_post, duration = 0.020, 0.030, 0.330
    dopamine = np.array([10.0, 0.0, -10.0, 10.0])
    pre = scheduled_group([t_pre, t_pre, t_pre, t_pre], "pre")
    post = scheduled_group([t_post, t_post, t_post, -1.0], "post", extra=POST_VARIABLES)  # last: unpaired
    post.d = dopamine
    spec = reward_modulated_stdp("g_exc", 0 * nS, params, modulator="d", mode="continuous")
    syn = make_synapses(spec, pre, post, "rstdp_cont")
    syn.connect(j="i")
    w0 = 0.5
    syn.w = w0
    Network(pre, post, syn).run(duration * second)

    dw = np.asarray(syn.w) - w0
    # dw = eta d \int c dt / second, c = c0 exp(-(t - t_post)/tau_c) after the post spike
    tau_c = float(params.tau_c)
    c0 = params.A_plus * np.exp(-(t_post - t_pre) / float(params.tau_plus))
    integral = c0 * tau_c * (1 - np.exp(-(duration - t_post) / tau_c))
    expected = params.eta * dopamine * integral * np.array([1, 1, 1, 0])
    print(f"\n[R-STDP continuous] d = {dopamine.tolist()} -> dw = {np.round(dw, 6).tolist()} "
          f"(expected {np.round(expected, 6).tolist()})")
    assert dw[0] > 0 and dw[2] < 0
    assert dw[1] == 0 and dw[3] == 0
    np.testing.assert_allclose(dw[[0, 2]], expected[[0, 2]], rtol=0.02)


# --------------------------------------------------------------- 6. context plasticity

def context_run(trains, segments, w0=0.5):
    """One DendriticNeuron whose segment 0 is kicked into a plateau at 10 ms (segment 1
    never plateaus), with context synapses (no transmission, g_max = 0) from context
    neurons firing at ``trains[k]`` (seconds) onto segment ``segments[k]``. Returns the
    final weights, the plateau onset and end (seconds) and the parameters."""
    neuron = DendriticNeuron(n_segments=2)
    params = ContextParams()
    cell, objects = kick_network([[8.0, 0.0]], neuron, "cell")
    indices = np.concatenate([np.full(len(train), k) for k, train in enumerate(trains)])
    times = np.concatenate([np.asarray(train, dtype=float) for train in trains])
    context = SpikeGeneratorGroup(len(trains), indices, times * second, name="context")
    syn = make_synapses(context_plasticity(2, 0 * nS, params), context, cell, "context_syn")
    syn.connect(i=np.arange(len(trains)), j=0)
    syn.segment = segments
    syn.w = w0
    mon = StateMonitor(cell, ["plateau0", "plateau1"], record=0, name="mon")
    Network(*objects, context, syn, mon).run(150 * ms)
    on = np.flatnonzero(mon.plateau0[0] > 0)
    assert len(on) and mon.plateau1[0].max() == 0, "segment 0 (only) must plateau"
    return np.asarray(syn.w), float(mon.t[on[0]]), float(mon.t[on[-1]]), params


def test_context_plasticity_potentiates_only_during_the_plateau():
    """Every context neuron fires at 8 ms, just before the plateau onset (so none is
    silent at onset); some fire again during the plateau, after it, or onto segment 1."""
    cases = {
        "fires in plateau -> seg 0": ([0.008, 0.040], 0),
        "fires twice in plateau -> seg 0": ([0.008, 0.040, 0.045], 0),
        "fires in plateau -> seg 1": ([0.008, 0.040], 1),
        "fires after the plateau -> seg 0": ([0.008, 0.100], 0),
        "fires before onset only -> seg 0": ([0.008], 0),
        "silent -> seg 1": ([], 1),
    }
    trains, segments = zip(*cases.values())
    w0 = 0.5
    w, onset, end, params = context_run(trains, segments, w0)
    assert 0.008 < onset < 0.040 and 0.045 < end < 0.100
    print("\n[context LTP] " + ", ".join(f"{k}: w = {v:.4f}" for k, v in zip(cases, w))
          + f" (plateau {onset * 1000:.1f}-{end * 1000:.1f} ms)")

    def ltp(x):  # soft-bounded potentiation by one context spike in plateau
        return x + params.eta_ltp * (params.w_max_context - x)

    assert w[0] == pytest.approx(ltp(w0), rel=1e-9)
    assert w[1] == pytest.approx(ltp(ltp(w0)), rel=1e-9)
    # segment 1 never plateaus: its weights never change; outside the plateau nothing changes
    np.testing.assert_array_equal(w[[2, 3, 4, 5]], w0)


def test_context_plasticity_depresses_silent_synapses_at_plateau_onset():
    cases = {
        "silent -> seg 0": ([], 0),
        "silent -> seg 1": ([], 1),
        "fires before onset -> seg 0": ([0.008], 0),
    }
    trains, segments = zip(*cases.values())
    w0 = 0.5
    w, onset, end, params = context_run(trains, segments, w0)
    print("\n[context LTD] " + ", ".join(f"{k}: w = {v:.4f}" for k, v in zip(cases, w)))
    # a recently active neuron's trace at onset is above silent_below: no depression
    assert np.exp(-(onset - 0.008) / float(params.tau_context_trace)) > params.silent_below
    np.testing.assert_array_equal(w[[1, 2]], w0)
    assert w[0] == pytest.approx(w0 * (1 - params.eta_ltd), rel=1e-9)
