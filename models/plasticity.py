"""Synapse models: static, STDP, reward-modulated STDP and plateau-gated context plasticity.

Weights ``w`` are dimensionless in [0, w_max]; a presynaptic spike adds ``w * g_max`` to
the postsynaptic conductance named by ``target``. ``learning`` is an expression that gates
all weight change (``"1"`` = always; protocols pass a TimedArray that is 0 during tests).

**STDP** (pair-based, all-to-all, additive with hard bounds; Song, Miller & Abbott 2000,
Nat. Neurosci. 3:919; window after Bi & Poo 1998, J. Neurosci. 18:10464)::

    pre spike:  apre += 1;  w -= A_minus * apost
    post spike: apost += 1; w += A_plus * apre
    dapre/dt = -apre / tau_plus,  dapost/dt = -apost / tau_minus

so a pair with delay dt = t_post - t_pre changes w by A_plus exp(-dt/tau_plus) for dt > 0
and by -A_minus exp(dt/tau_minus) for dt < 0.

**Reward-modulated STDP** (three-factor; Izhikevich 2007, Cereb. Cortex 17:2443; Florian
2007; Fremaux & Gerstner 2016, Front. Neural Circuits 9:85): the same STDP window writes
into an eligibility trace c instead of w::

    dc/dt = -c / tau_c + STDP(dt) at spikes

and a neuromodulator M (a variable of the postsynaptic group: a reward, reward minus
expected reward, or a TD error) turns it into weight change. Two forms:

* ``pulsed`` — dopamine arrives as brief pulses at reward times; each pulse of area M
  changes w by eta * M * c(t_reward) (the delta-pulse limit of dw/dt = c d). Event-driven,
  so it costs nothing between spikes; the engine runs ``consolidate`` at reward times.
* ``continuous`` — Izhikevich's form, dw/dt = eta * c * d with d the dopamine
  concentration of the postsynaptic group (clock-driven: every synapse every time step).
* ``stepped`` — the same equations integrated as Izhikevich's own code does
  (daspnet.m, ModelDB 84167): c changes only at spikes between steps, and every
  ``update_interval`` (10 ms there) ``w += eta * c * d * update_interval``, then
  ``c *= exp(-update_interval / tau_c)``. The engine runs the step as the rule's
  ``consolidate`` (``network.schedule_consolidation(..., every=update_interval)``), so a
  network of 10^5 plastic synapses costs one pass over them per 10 ms, not per 0.1-1 ms.

**Normalised instar** (three-factor, teacher-modulated; for a classifying readout): at
the end of each presentation every synapse from an active presynaptic neuron moves its
weight toward that neuron's share of the presentation's input::

    dw = eta * M_post * G_pre * [n_pre > 0] * (n_pre / sqrt(sum_k n_k^2) - w)

with n_pre the presynaptic spike count of the presentation, G_pre the presynaptic
neuron's dendritic gate (1 if its distal dendrite fired a plateau during the
presentation; a point neuron has no gate and always passes), the sum over the
postsynaptic neuron's inputs (divisive normalisation of its input; Heeger 1992, Vis.
Neurosci. 9:181; Carandini & Heeger 2012, Nat. Rev. Neurosci. 13:51) and M_post a
neuron-specific modulator, 1 for the readout neuron that codes the label and 0 for the
others (a vector-valued dopamine or teacher signal; Wärnberg & Kumar 2023, PNAS). Each
class's weights converge to the mean normalised response to that class: Grossberg's
instar (1976, Biol. Cybern. 23:121) under a third factor. A synapse whose presynaptic
neuron stays silent does not change, so what one task's presentations write is not
overwritten by another task that uses other neurons; and a neuron that fires without
its dendritic gate (driven by strong feed-forward input alone, outside its own task)
does not learn either, as plasticity in pyramidal cells needs the dendritic plateau
(Golding, Staff & Spruston 2002, Nature 418:326; Bittner et al. 2017). After each
update the taught neuron's weights from the gated inputs are rescaled to unit L2 norm,
a heterosynaptic normalisation that conserves the total strength of the active pathway
(Royer & Paré 2003, Nature 422:518): every class then competes with a prototype of the
same length, which matters when classes differ in how many neurons they drive (on
Fashion-MNIST the unnormalised rule let one broad class win every decision).

**Context plasticity** (onto distal segments), gated by the segment's plateau: a context
spike arriving while its segment is in plateau potentiates (soft bound), and at plateau
onset the segment's synapses from silent context neurons depress. Segments that did not
fire a plateau do not change, so only the segment that won learns the current context —
a plateau-gated rule in the spirit of behavioural-timescale plasticity (Bittner et al.
2017, Science 357:1033).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from brian2 import ms, second

from mtspark_bio.models.spec import SynapseSpec, as_namespace, param


@dataclass(frozen=True)
class STDPParams:
    """Window and amplitudes; A_minus/A_plus = 1.05 as in Song et al. 2000 (the
    default the learning protocols were tuned with: symmetric 20/20 ms)."""

    tau_plus: object = param(20 * ms)
    tau_minus: object = param(20 * ms)
    A_plus: float = 0.01
    A_minus: float = 0.0105
    w_max: float = 1.0

    @classmethod
    def bi_poo(cls) -> "STDPParams":
        """The window fitted to Bi & Poo's data (1998, J. Neurosci. 18:10464, Fig. 7):
        the exponential fits dw/w = 0.777 exp(-dt/16.8 ms) for dt > 0 and
        -0.273 exp(dt/33.7 ms) for dt < 0 (Bi & Poo 2001, Annu. Rev. Neurosci.
        24:139; values not checked against the paper here, see
        ``protocols/stdp_window.py``). The time constants and the ratio
        A_minus/A_plus = 0.273/0.777 are theirs; the scale A_plus = 0.01 w_max per
        pairing is the project's, since an additive weight has no dw/w. Its balance
        A_minus tau_minus / (A_plus tau_plus) = 0.70 < 1, so under uncorrelated firing
        weights drift up (Song et al. 2000 need > 1 for stable competition)."""
        return cls(tau_plus=16.8 * ms, tau_minus=33.7 * ms, A_plus=0.01, A_minus=0.01 * 0.273 / 0.777)


#: STDP presets by name (``protocols/stdp_window.py --preset``)
STDP_PRESETS = {"song": STDPParams, "bi-poo": STDPParams.bi_poo}


@dataclass(frozen=True)
class RSTDPParams:
    """Eligibility and dopamine time constants from Izhikevich 2007 (tau_c = 1 s,
    tau_d = 0.2 s, A_minus = 1.5 A_plus); protocols shorten tau_c when rewards follow
    each stimulus within tens of ms."""

    tau_plus: object = param(20 * ms)
    tau_minus: object = param(20 * ms)
    A_plus: float = 1.0
    A_minus: float = 1.5
    tau_c: object = param(1 * second)
    eta: float = 0.01
    w_max: float = 1.0


@dataclass(frozen=True)
class ContextParams:
    """Plateau-gated plasticity of context synapses onto distal segments."""

    tau_context_trace: object = param(20 * ms)
    eta_ltp: float = 0.05
    eta_ltd: float = 0.1
    silent_below: float = 0.05  # a presynaptic trace below this counts as silent
    w_max_context: float = 1.0


def _transmit(target: str) -> str:
    return f"{target}_post += w*g_max"


def static_synapse(target: str, g_max) -> SynapseSpec:
    """A fixed weight."""
    return SynapseSpec(model="w : 1", on_pre=_transmit(target), namespace={"g_max": g_max})


_TRACES = """
dapre/dt = -apre / tau_plus : 1 (event-driven)
dapost/dt = -apost / tau_minus : 1 (event-driven)
"""


def stdp(target: str, g_max, params: STDPParams = STDPParams(), learning: str = "1") -> SynapseSpec:
    """Additive pair-based STDP with hard bounds [0, w_max]."""
    return SynapseSpec(
        model="w : 1" + _TRACES,
        on_pre=f"""{_transmit(target)}
apre += 1
w = clip(w - ({learning})*A_minus*apost, 0, w_max)""",
        on_post=f"""apost += 1
w = clip(w + ({learning})*A_plus*apre, 0, w_max)""",
        namespace={"g_max": g_max, **as_namespace(params)},
    )


def reward_modulated_stdp(target: str, g_max, params: RSTDPParams = RSTDPParams(),
                          modulator: str = "M", mode: str = "pulsed", learning: str = "1",
                          consume_eligibility: bool = True, update_interval=10 * ms) -> SynapseSpec:
    """Three-factor STDP; ``modulator`` names a variable of the postsynaptic group.

    ``eligibility`` (a subexpression) is the trace's current value, so monitors and the
    consolidation step see c decayed to the present even though c itself is only
    updated at spikes. ``update_interval`` is the step of the ``stepped`` mode.
    """
    if mode == "pulsed":
        model = "w : 1" + _TRACES + """
dc/dt = -c / tau_c : 1 (event-driven)
eligibility = c*exp(-(t - lastupdate)/tau_c) : 1
"""
        consolidate = (f"w = clip(w + ({learning})*eta*{modulator}_post*eligibility, 0, w_max)"
                       + ("\nc = 0" if consume_eligibility else ""))
        method = "exact"
        clip_on_spike = clip_before_transmit = ""
    elif mode == "continuous":
        # Izhikevich 2007: dw/dt = c*d integrated every step; w clipped at each spike.
        model = _TRACES + f"""
dc/dt = -c / tau_c : 1 (clock-driven)
dw/dt = ({learning})*eta*c*{modulator}_post / second : 1 (clock-driven)
eligibility = c : 1
"""
        consolidate = None
        method = "euler"
        clip_on_spike = "\nw = clip(w, 0, w_max)"
        # w drifts between spikes (dw/dt = eta c d); bound it before it is transmitted
        clip_before_transmit = "w = clip(w, 0, w_max)\n"
    elif mode == "stepped":
        # Izhikevich's daspnet.m: every 10 ms s += (0.002 + DA)*sd, clipped; sd *= 0.99
        model = "w : 1\nc : 1\neligibility = c : 1\n" + _TRACES
        consolidate = (f"w = clip(w + ({learning})*eta*c*{modulator}_post*update_interval/second, 0, w_max)\n"
                       "c = c*exp(-update_interval/tau_c)")
        method = "exact"
        clip_on_spike = clip_before_transmit = ""
    else:
        raise ValueError(f"mode must be 'pulsed', 'continuous' or 'stepped', got {mode!r}")
    return SynapseSpec(
        model=model,
        on_pre=f"""{clip_before_transmit}{_transmit(target)}
apre += 1
c += -A_minus*apost""",
        on_post=f"""apost += 1
c += A_plus*apre{clip_on_spike}""",
        consolidate=consolidate,
        method=method,
        namespace={"g_max": g_max, "update_interval": update_interval, **as_namespace(params)},
    )


def delayed_credit_rstdp(target: str, g_max, params: RSTDPParams = RSTDPParams(), modulator: str = "M",
                         tag: str = "tag", trace_decay: float = 0.0, pre_credit: float = 0.0,
                         learning: str = "1") -> SynapseSpec:
    """Pulsed R-STDP for a closed loop: the modulator judges earlier steps through a
    tagged, decaying credit trace.

    In an agent the TD error of the step that ends now, delta = r + gamma V(s') - V(s),
    is known only once the network has responded to s': it judges what the synapses
    did one step ago and, through the trace, the steps before. At each step boundary,
    with the postsynaptic ``modulator`` M (the TD error, broadcast) and ``tag`` (which
    outputs the step's action marks, and with what sign; ``models.actor_critic``)::

        w     += eta * M * z
        z      = trace_decay * z + tag * (c + pre_credit * x_pre)
        c      = 0

    where c is the step's STDP eligibility and x_pre the presynaptic trace (apre,
    tau_plus), the latter so that an action chosen while its population was silent (an
    exploratory choice) still credits the inputs that were active. ``trace_decay`` is
    gamma * lambda: 0 is one-step credit (Potjans, Morrison & Diesmann 2009, Neural
    Comput. 21:301 align state activity and TD error the same way); > 0 is the
    eligibility trace of TD(lambda) carried across steps (Izhikevich 2007, Cereb. Cortex
    17:2443 and Fremaux, Sprekeler & Gerstner 2013, PLoS Comput. Biol. 9:e1003024 bridge
    the distal reward the same way, with a slow synaptic trace).
    """
    spec = reward_modulated_stdp(target, g_max, params, modulator=modulator, mode="pulsed", learning=learning)
    presynaptic = "apre*exp(-(t - lastupdate)/tau_plus)" if pre_credit else "0"
    return dataclasses.replace(
        spec, model=spec.model + "z : 1  # tagged credit trace\n",
        consolidate=(f"w = clip(w + ({learning})*eta*{modulator}_post*z, 0, w_max)\n"
                     f"z = trace_decay*z + {tag}_post*(eligibility + pre_credit*{presynaptic})\nc = 0"),
        namespace={**spec.namespace, "trace_decay": float(trace_decay), "pre_credit": float(pre_credit)})


def normalised_instar(target: str, g_max, eta: float, n_outputs: int, modulator: str = "M",
                      learning: str = "1", w_max: float = 1.0, balance: float = 1.0,
                      presynaptic_gate: str = "dendritic_gate_pre") -> SynapseSpec:
    """The normalised instar rule (module docstring), consolidated at the end of each
    presentation. ``count`` is the presynaptic spike count of the presentation (the
    engine clears it after the consolidation); ``input_power`` is a summed variable of
    the postsynaptic group, sum_k n_k^2 over its inputs; ``presynaptic_gate`` is G_pre
    (``models.neurons``: ``dendritic_gate``)."""
    gate = presynaptic_gate  # G_pre
    return SynapseSpec(
        model="w : 1\ninput_power_post = count_pre**2 : 1 (summed)\n"
              "mean_w_out_pre = w/n_outputs : 1 (summed)\n"
              f"gated_weight_power_post = w**2*({gate}) : 1 (summed)\n",
        # balanced feed-forward inhibition: each presynaptic spike also drives, through
        # interneurons, inhibition equal to the mean weight of the spiking neuron's
        # outputs (Pouille & Scanziani 2001, Science 293:1159), so the readout integrates
        # only how much more this synapse carries than its siblings
        on_pre=f"{target}_post += (w - balance*mean_w_out_pre)*g_max",
        consolidate=(f"w = clip(w + ({learning})*eta*{modulator}_post*({gate})*int(count_pre > 0)"
                     "*(count_pre/sqrt(input_power_post + 1e-12) - w), 0, w_max)"),
        # heterosynaptic normalisation within the gated pathway: the taught neuron's
        # weights from the neurons whose dendritic gate is open are rescaled to unit
        # L2 norm, so every class competes with a prototype of the same length
        after_consolidation=(f"w = w*(1 + int({modulator}_post > 0)*({gate})*int(gated_weight_power_post > 0)"
                             "*(1/sqrt(gated_weight_power_post + 1e-12) - 1))"),
        summed_at_consolidation=("input_power_post",),
        summed_after_consolidation=("gated_weight_power_post",),
        namespace={"g_max": g_max, "eta": eta, "w_max": w_max, "n_outputs": n_outputs, "balance": balance},
    )


#: the summed total weight onto each postsynaptic neuron that synaptic scaling reads
SCALING_TOTAL = "\nw_total_post = w : 1 (summed)\n"


def synaptic_scaling(total: float) -> str:
    """Code rescaling each postsynaptic neuron's incoming weights to the fixed ``total``
    (the synapses' model needs :data:`SCALING_TOTAL`), so learning redistributes weight
    between inputs instead of making one neuron stronger than the others."""
    return f"w = clip(w*{float(total)!r}/(w_total_post + 1e-9), 0, w_max)"


def context_plasticity(n_segments: int, g_max, params: ContextParams = ContextParams(),
                       learning: str = "1") -> SynapseSpec:
    """Context synapses onto distal segments; each synapse targets segment ``segment``."""
    segments = range(n_segments)
    on_segment = "int(segment == {k})"
    in_plateau = " + ".join(f"plateau{k}_post*{on_segment.format(k=k)}" for k in segments)
    # plateau onset stamps t_plateau_k = t exactly, so equality marks "starts now"
    starts_now = " + ".join(f"int(t_plateau{k}_post == t)*{on_segment.format(k=k)}" for k in segments)
    transmit = "\n".join(f"g_ctx{k}_post += w*g_max*{on_segment.format(k=k)}" for k in segments)
    model = f"""
w : 1
segment : integer (constant)
dx_ctx/dt = -x_ctx / tau_context_trace : 1 (event-driven)
segment_in_plateau = {in_plateau} : 1
segment_plateau_starts = {starts_now} : 1
"""
    return SynapseSpec(
        model=model,
        on_pre=f"""{transmit}
x_ctx += 1
w = clip(w + ({learning})*eta_ltp*segment_in_plateau*(w_max_context - w), 0, w_max_context)""",
        on_post=("w = clip(w - ({learning})*eta_ltd*segment_plateau_starts*int(x_ctx < silent_below)*w,"
                 " 0, w_max_context)").format(learning=learning),
        on_event={"post": "plateau"},
        namespace={"g_max": g_max, **as_namespace(params)},
    )
