"""Learning rules of the classifier's readout: the hidden -> readout synapses, one class each.

A rule is its parameters (a frozen dataclass, stored in every result file) plus what the
circuit (``mtspark_bio.circuit``) asks of it: the readout neuron, the code run at the
end of each presentation (the teacher or reward signal, then clearing the counters), the
synapse model with its consolidation step, and any pathway the rule needs besides
(lateral inhibition, exploratory input). The circuit compares no rule names.

Every presentation ends with, in Brian2's 'end' slot: order -2 .. -1 the rule's
housekeeping, 0 the readout's signal ``M`` (``models.neuromodulation``), 1 the
synapses' consolidation (``models.plasticity``), 3 what follows it, 4 clearing the
per-presentation counters.

Adding a rule: write a class here with a unique ``rule`` name and register it in
:data:`RULES`.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

from brian2 import ms, nS

from mtspark_bio.models import neuromodulation
from mtspark_bio.models.neurons import DENDRITIC_PRESENTATION_CLEAR, PRESENTATION_CLEAR, CountingReadout, PointNeuron
from mtspark_bio.models.plasticity import (SCALING_TOTAL, RSTDPParams, normalised_instar, reward_modulated_stdp,
                                           static_synapse, synaptic_scaling)
from mtspark_bio.models.spec import NeuronSpec, SynapseSpec, rule_from

#: the reward a naive readout expects with n classes (wrong most of the time: -1 + 2/n),
#: the starting point of the R-STDP readout's expectation and the stored value of rules
#: that keep none
NAIVE_EXPECTED_REWARD = -0.8
#: the readout's running activity before any presentation (spikes per presentation)
INITIAL_ACTIVITY = 0.5


@dataclass(frozen=True)
class PresentationStep:
    """Code a rule runs on one group at the end of every presentation."""

    group: str  # "hidden", "readout" or "synapses"
    code: str
    order: int
    part: str  # the Brian2 object is named <variant>_<part>


@dataclass(frozen=True)
class ReadoutRule:
    """What every readout rule provides (the defaults suit a rule that needs nothing).
    Every rule also has the fields ``rule`` (its name, first) and ``w_max_init``: the
    initial weights are uniform in [0, w_max_init]."""

    rule: ClassVar[str]  # a field of each rule, so that dataclasses.asdict names it

    #: variables the rule adds to the hidden neurons
    hidden_variables: ClassVar[str] = ""

    def readout_sums(self) -> dict[str, str]:
        """Summed variables the readout neurons compute from each other's state
        (variable -> the expression summed over the readout, in terms of ``_pre``
        variables), summed at the end of each step just before :meth:`signal` reads them."""
        return {}

    def validate(self) -> list[str]:
        """What is wrong with the parameters (empty if nothing)."""
        return []

    def readout_neuron(self, integration: str) -> NeuronSpec:
        raise NotImplementedError

    def signal(self, trial: str, label_now: str) -> str:
        """Code on the readout at order 0: sets ``M`` for the consolidation."""
        raise NotImplementedError

    def synapses(self, point: bool, learning: str, n_classes: int) -> SynapseSpec:
        """The hidden -> readout synapses; ``learning`` is 1 in a training presentation."""
        raise NotImplementedError

    def steps(self, trial: str, dendritic: bool, n_hidden: int) -> list[PresentationStep]:
        """Code run at the end of every presentation besides the signal and the consolidation."""
        return []

    def initial_readout_state(self) -> dict[str, float]:
        return {"expected_reward": NAIVE_EXPECTED_REWARD, "activity": INITIAL_ACTIVITY}

    @property
    def lateral_inhibition(self) -> tuple[SynapseSpec, str | None] | None:
        """Readout -> readout inhibition (i != j) and the code gating it each presentation, or None."""
        return None

    @property
    def exploration(self) -> tuple[float, bool, SynapseSpec] | None:
        """Independent Poisson input to each readout neuron: (rate in Hz, on in test
        presentations too, synapse), or None."""
        return None



def counting_readout_neuron(extra: str) -> NeuronSpec:
    """The counting readout (``models.neurons.CountingReadout``) with the classifier's
    readout variables and the rule's own ``extra`` equations."""
    spec = CountingReadout().spec()
    return dataclasses.replace(spec, equations=spec.equations + neuromodulation.CLASSIFIER_READOUT_EQUATIONS + extra)


def clear_presentation_counts(dendritic: bool) -> list[PresentationStep]:
    """The steps of a rule that reads per-presentation spike counts."""
    # the presynaptic counts are per presentation: clear them after the consolidation,
    # and the dendritic gate, which stays open for a plateau still under way
    return [PresentationStep("hidden", DENDRITIC_PRESENTATION_CLEAR if dendritic else PRESENTATION_CLEAR, 4,
                             "hidden_count_clear"),
            PresentationStep("readout", CountingReadout.CLEAR, 4, "readout_clear")]


@dataclass(frozen=True)
class Instar(ReadoutRule):
    """The normalised instar (``models.plasticity.normalised_instar``): a teacher-gated
    Hebbian rule whose weights converge to each class's normalised mean code, read by
    counting readout neurons. The teacher is 1 for the label's neuron, 0 otherwise."""

    rule: str = field(default="instar", init=False)
    hidden_variables: ClassVar[str] = "mean_w_out : 1\n"  # the hidden side of the balanced inhibition

    eta: float = 0.05
    w_max_init: float = 0.05  # initial weights uniform in [0, w_max_init]
    gain: float = 60.0  # CountingReadout spikes per unit of weighted input

    def readout_neuron(self, integration: str) -> NeuronSpec:
        return counting_readout_neuron("input_power : 1  # summed: sum of squared input counts\n"
                                 "gated_weight_power : 1  # summed: squared weights from gated inputs\n")

    def signal(self, trial: str, label_now: str) -> str:
        return neuromodulation.reward_tick("reward", trial, 50.0, punishment=0.0, scope="neuron", label_now=label_now)

    def synapses(self, point: bool, learning: str, n_classes: int) -> SynapseSpec:
        return normalised_instar("v", self.gain, self.eta, n_classes, modulator="M", learning=learning)

    def steps(self, trial: str, dendritic: bool, n_hidden: int) -> list[PresentationStep]:
        return clear_presentation_counts(dendritic)


@dataclass(frozen=True)
class RewardSTDP(ReadoutRule):
    """Reward-modulated STDP (``models.plasticity.reward_modulated_stdp``) onto
    conductance-based point neurons, with lateral inhibition between them and
    exploratory background input so that a neuron that does not yet win sometimes
    fires, acquires eligibility and can be rewarded."""

    rule: str = field(default="rstdp", init=False)

    eta: float = 0.01
    tau_c_ms: float = 50.0
    # Izhikevich's A- = 1.5 A+ makes uncorrelated rate-coded pairings net depressing, so
    # a rewarded presentation would weaken the synapses that caused it; the readout
    # uses a net-Hebbian window instead.
    a_minus: float = 0.5
    g_nS: float = 5.0
    g_point_nS: float = 2.5  # the point variant's hidden->readout scale; 0 = g_nS
    g_inh_nS: float = 15.0
    w_max_init: float = 0.3
    modulator: str = "reward"  # or "reward_prediction_error" (population scope only)
    # "population": one reward for the margin of the whole readout (bandit feedback);
    # "neuron": each readout neuron is rewarded for its own response (see
    # models.neuromodulation and docs/results.md on why population scope cannot sort 10 classes).
    scope: str = "neuron"
    # Fraction of the readout's lateral inhibition left on during training
    # presentations (1 = always on). Lowering it lets every readout neuron respond and
    # learn on every presentation, as acetylcholine suppresses intracortical
    # transmission during encoding (Hasselmo 1999, Trends Cogn Sci 3:351).
    training_inhibition: float = 0.0
    reward_average: float = 50.0
    # with n classes a naive readout is wrong most of the time, so an expectation near
    # -1 + 2/n keeps early errors from being large surprises that silence the readout
    expected_reward_init: float = NAIVE_EXPECTED_REWARD
    punishment: float = 0.1  # reward of a wrong answer is -punishment
    noise_hz: float = 200.0
    noise_in_test: bool = False  # keep the background on in test presentations too
    g_noise_nS: float = 2.0
    # Intrinsic homeostasis (in the spirit of Triesch 2005's intrinsic plasticity): each
    # readout neuron tracks its spikes per training presentation (running mean over
    # homeostasis_average presentations) and receives a bias current
    # -homeostasis_pA * (rate - homeostasis_target). 0 disables it.
    homeostasis_pA: float = 0.0
    homeostasis_target: float = INITIAL_ACTIVITY
    homeostasis_average: float = 50.0
    # Synaptic scaling: before each reward step every readout neuron's weights are
    # rescaled to the expected initial total (n_hidden * w_max_init / 2). Off by
    # default: rescaling a whole row moves the weights of hidden neurons the current
    # task does not use, itself a cause of forgetting.
    normalize: bool = False

    def validate(self) -> list[str]:
        problems = []
        if self.modulator not in neuromodulation.MODULATORS:
            problems.append(f"readout.modulator must be one of {neuromodulation.MODULATORS}")
        if self.scope not in neuromodulation.SCOPES:
            problems.append(f"readout.scope must be one of {neuromodulation.SCOPES}")
        if not 0 <= self.training_inhibition <= 1:
            problems.append(f"readout.training_inhibition must be in [0, 1] (got {self.training_inhibition})")
        return problems

    def readout_neuron(self, integration: str) -> NeuronSpec:
        spec = dataclasses.replace(PointNeuron().spec(), method=integration)
        return dataclasses.replace(spec, equations=spec.equations + neuromodulation.CLASSIFIER_READOUT_EQUATIONS
                                   + ("w_total : 1\n" if self.normalize else ""))

    def signal(self, trial: str, label_now: str) -> str:
        return neuromodulation.reward_tick(self.modulator, trial, self.reward_average, punishment=self.punishment,
                                           scope=self.scope, label_now=label_now)

    def synapses(self, point: bool, learning: str, n_classes: int) -> SynapseSpec:
        g = self.g_point_nS if point and self.g_point_nS > 0 else self.g_nS
        spec = reward_modulated_stdp("g_exc", g * nS, RSTDPParams(tau_c=self.tau_c_ms * ms, eta=self.eta,
                                                                  A_minus=self.a_minus),
                                     modulator="M", learning=learning)
        if self.normalize:
            spec = dataclasses.replace(spec, model=spec.model + SCALING_TOTAL)
        return spec

    def initial_readout_state(self) -> dict[str, float]:
        return {"expected_reward": self.expected_reward_init, "activity": self.homeostasis_target}

    def steps(self, trial: str, dendritic: bool, n_hidden: int) -> list[PresentationStep]:
        steps = []
        if self.normalize:
            steps.append(PresentationStep("synapses", synaptic_scaling(n_hidden * self.w_max_init / 2), -2, "scaling"))
        if self.homeostasis_pA > 0:  # before the reward tick, which clears the spike counters
            steps.append(PresentationStep("readout", neuromodulation.intrinsic_homeostasis(
                trial, self.homeostasis_average, self.homeostasis_pA, self.homeostasis_target), -1, "homeostasis"))
        return steps

    @property
    def lateral_inhibition(self):
        gate = (neuromodulation.lateral_inhibition_gate(self.training_inhibition)
                if self.training_inhibition != 1.0 else None)
        return static_synapse("g_inh", self.g_inh_nS * nS), gate

    @property
    def exploration(self):
        if self.noise_hz <= 0:
            return None
        return self.noise_hz, self.noise_in_test, static_synapse("g_exc", self.g_noise_nS * nS)


@dataclass(frozen=True)
class ErrorDriven(ReadoutRule):
    """The delta rule with a softmax output, a local error-driven rule.

    Each readout neuron is the counting neuron (``models.neurons.CountingReadout``) with
    a tonic drive that adds ``baseline`` spikes over the presentation. Its own activity
    in the presentation, spikes plus what is left in its potential, is then exactly
    ``c + v = baseline + gain * sum_i w_i n_i``: signed, and neither rectified at zero,
    floored, nor capped at one spike per step as the spike count alone is. At the end of
    each training presentation, with n_pre the presynaptic spike count, G_pre the
    presynaptic dendritic gate, P = sum_k n_k^2 the input's power (accumulated by the
    readout neuron spike by spike) and T = 1 for the label's neuron, else 0::

        z_post = (c_post + v_post - baseline) / (temperature * sqrt(P + 1))
        y_post = exp(z_post) / sum_k exp(z_k)
        M_post = T_post - y_post
        dw     = eta * M_post * G_pre * n_pre / sqrt(P)

    so z = (gain / temperature) * w.x on the normalised code x = n / sqrt(P) (up to the +1
    that keeps a silent presentation finite), and the rule is the gradient of the
    cross-entropy of a softmax readout of x (Widrow & Hoff 1960; as a three-factor rule
    whose third factor is the output's error, Urbanczik & Senn 2014, Neuron 81:521).
    Dividing by the input's norm is divisive normalisation (Carandini & Heeger 2012, Nat.
    Rev. Neurosci. 13:51): it makes the softmax's scale, and so the step the rule takes in
    it (eta * gain / temperature), the same whatever the code's spike count. Unlike the
    instar the rule corrects what the readout got wrong, so it keeps improving where the
    class means overlap. The teacher, the readout's own activity, the input's power and
    the softmax's normaliser (a summed variable over the readout, like the reward margin)
    are all computed in the network.

    The decision stays the readout's spike count. Because every update moves the
    readout's weights by errors that sum to zero over the classes, the drives sum to zero
    and the winner's is positive; the baseline keeps most losers' counts above zero too, so
    the count follows the drive (up to the running maximum of the potential: a spike,
    once fired, is not taken back when negative drive follows). ``temperature``
    is in spikes per logit unit per unit of input norm: sqrt(P) is about 26 with the defaults
    on Fashion-MNIST, so 1.0 gives about 26 spikes per logit unit, enough that two
    classes rarely tie; a code with far more spikes makes larger drives, which saturate
    at one spike per time step (lower the temperature and eta together for it).

    Weights are signed. Dale's law holds in the circuit they stand for: a negative
    weight is the net effect of the hidden cell's excitation onto the readout neuron
    and the feed-forward interneurons it also drives (Pouille & Scanziani 2001,
    Science 293:1159), as the instar's balanced inhibition already makes them.
    """

    rule: str = field(default="error_driven", init=False)

    eta: float = 0.01  # the step in the softmax's logits is eta * gain / temperature = 0.6
    # initial weights uniform in [0, w_max_init]. 0: the readout starts knowing nothing
    # (and the drives sum to zero over the classes).
    w_max_init: float = 0.0
    gain: float = 60.0  # CountingReadout spikes per unit of weighted input
    temperature: float = 1.0  # spikes per logit unit per unit of input norm (see above)
    baseline: float = 50.0  # spikes the tonic drive adds over a presentation
    w_max: float = 1.0  # weights are clipped to [-w_max, w_max]

    def validate(self) -> list[str]:
        problems = [] if self.temperature > 0 else [f"readout.temperature must be > 0 (got {self.temperature})"]
        if self.baseline < 0:
            problems.append(f"readout.baseline must be >= 0 (got {self.baseline})")
        return problems

    def logit(self, suffix: str = "") -> str:
        """The readout's logit z as code (``suffix`` "_pre" in the summed normaliser)."""
        return (f"(count{suffix} + v{suffix} - {float(self.baseline)!r})"
                f"/({float(self.temperature)!r}*sqrt(input_power{suffix} + 1))")

    def readout_neuron(self, integration: str) -> NeuronSpec:
        # the counting readout with a tonic drive while an image is shown
        # (t_sample, t_rest: the circuit's namespace)
        equations = (f"dv/dt = {float(self.baseline)!r}/(t_sample - t_rest)"
                     "*int(t - t_sample*floor(t/t_sample) >= t_rest) : 1\n"
                     "count : 1  # spikes since the counter was last cleared\n"
                     "I_ext : amp  # unused; kept so the readout shares the soma's interface\n"
                     + neuromodulation.CLASSIFIER_READOUT_EQUATIONS
                     + "input_power : 1  # sum of squared input counts, accumulated spike by spike\n"
                       "partition : 1  # summed: the softmax's normaliser over the readout\n")
        spec = CountingReadout().spec()
        return dataclasses.replace(spec, equations=equations)

    def readout_sums(self) -> dict[str, str]:
        return {"partition": f"exp({self.logit('_pre')})"}

    def signal(self, trial: str, label_now: str) -> str:
        right = f"int(i == int({label_now}))"
        return (f"reward = ({trial})*{right}\n"
                f"M = ({trial})*({right} - exp({self.logit()})/partition)\n"
                "count = 0\n")

    def synapses(self, point: bool, learning: str, n_classes: int) -> SynapseSpec:
        return SynapseSpec(
            model="w : 1\n",
            # count_pre is the presynaptic count before this spike (synapses act before
            # resets), so the increments add up to n^2 over the presentation
            on_pre="v_post += w*gain\ninput_power_post += 2*count_pre + 1",
            consolidate=(f"w = clip(w + ({learning})*eta*M_post*dendritic_gate_pre"
                         "*count_pre/sqrt(input_power_post + 1e-12), -w_max, w_max)"),
            namespace={"gain": self.gain, "eta": self.eta, "w_max": self.w_max})

    def steps(self, trial: str, dendritic: bool, n_hidden: int) -> list[PresentationStep]:
        hidden, _ = clear_presentation_counts(dendritic)
        return [hidden, PresentationStep("readout", CountingReadout.CLEAR + "\ninput_power = 0", 4, "readout_clear")]


#: every readout rule by name
RULES: dict[str, type[ReadoutRule]] = {cls.rule: cls for cls in (Instar, RewardSTDP, ErrorDriven)}
#: the rule a circuit learns by unless told otherwise
DEFAULT_RULE = Instar

#: CircuitConfig fields of the readout before rules were objects -> (rule, its field)
LEGACY_FIELDS = {
    "eta_instar": ("instar", "eta"), "w_instar_init": ("instar", "w_max_init"), "readout_gain": ("instar", "gain"),
    "eta": ("rstdp", "eta"), "tau_c_ms": ("rstdp", "tau_c_ms"), "a_minus_readout": ("rstdp", "a_minus"),
    "g_readout_nS": ("rstdp", "g_nS"), "g_readout_point_nS": ("rstdp", "g_point_nS"),
    "g_readout_inh_nS": ("rstdp", "g_inh_nS"), "w_readout_init": ("rstdp", "w_max_init"),
    "modulator": ("rstdp", "modulator"), "reward_scope": ("rstdp", "scope"),
    "training_inhibition": ("rstdp", "training_inhibition"), "reward_average": ("rstdp", "reward_average"),
    "expected_reward_init": ("rstdp", "expected_reward_init"), "punishment": ("rstdp", "punishment"),
    "readout_noise_hz": ("rstdp", "noise_hz"), "readout_noise_in_test": ("rstdp", "noise_in_test"),
    "g_readout_noise_nS": ("rstdp", "g_noise_nS"), "homeostasis_pA": ("rstdp", "homeostasis_pA"),
    "homeostasis_target": ("rstdp", "homeostasis_target"), "homeostasis_average": ("rstdp", "homeostasis_average"),
    "normalize_readout": ("rstdp", "normalize"),
}


def make_rule(spec: ReadoutRule | dict | str | None) -> ReadoutRule:
    """A rule from its stored or JSON form: ``{"rule": NAME, FIELD: VALUE, ...}``, a
    name, or a rule (returned as it is). Raises ValueError naming what is wrong."""
    return rule_from(spec, RULES, DEFAULT_RULE.rule, "readout rule")


def from_legacy_fields(values: dict) -> dict:
    """Circuit overrides written with the flat readout fields of earlier versions
    (``readout_rule``, ``eta_instar``, ``reward_scope``, ...) as the ``readout`` entry,
    with a FutureWarning (shown to users by default) naming the new form. Other keys pass through."""
    values = dict(values)
    old = {key: values.pop(key) for key in ["readout_rule", *LEGACY_FIELDS] if key in values}
    if not old:
        return values
    readout = dict(values.get("readout") or {})
    name = old.get("readout_rule", readout.get("rule", DEFAULT_RULE.rule))
    readout["rule"] = name
    for key, value in old.items():
        if key in LEGACY_FIELDS and LEGACY_FIELDS[key][0] == name:  # another rule's field changed nothing
            readout[LEGACY_FIELDS[key][1]] = value
    warnings.warn(f"the circuit's readout fields {sorted(old)} are deprecated; give the rule as "
                  f"{{\"readout\": {json.dumps(readout)}}}", FutureWarning, stacklevel=3)
    values["readout"] = readout
    return values
