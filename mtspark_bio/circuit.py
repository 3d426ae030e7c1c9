"""The context-gated classifier circuit used by the forgetting protocol.

    pixels (Poisson) ──ff──▶ hidden (dendritic or point) ──instar──▶ readout (one neuron per class)
    task context (Poisson) ──plateau-gated plasticity──▶ distal segments of hidden
    hidden ⇄ inhibitory pool (k-WTA-like sparsity);  readout ⇄ readout (reward margin)

The readout learns by the normalised instar (``readout_rule="instar"``, the default:
a teacher-modulated Hebbian rule, ``models.plasticity.normalised_instar``) or by
reward-modulated STDP (``"rstdp"``, which adds lateral inhibition between readout
neurons and exploratory background input).

Time is cut into presentations of ``t_rest + t_present``: rest first, then the image as
Poisson rates. Per-presentation inputs are TimedArrays with one row per presentation —
the image, its label, the task (context), and whether it is a training presentation —
so a whole chunk of presentations runs inside compiled code. At the end of each
presentation the readout computes its reward (``models.neuromodulation``) and the
hidden→readout synapses consolidate their eligibility (``models.plasticity``).

One :class:`Classifier` per variant; several variants can share one Simulation (and so
one compiled binary), fed the same TimedArrays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from brian2 import Hz, PoissonGroup, SpikeMonitor, Synapses, TimedArray, ms, nS

from mtspark_bio.models import neuromodulation
from mtspark_bio.models.neurons import (DENDRITIC_PRESENTATION_CLEAR, INTEGRATION_METHODS, PRESENTATION_CLEAR,
                                       SOMA_METHOD, CountingReadout, PointNeuron)
from mtspark_bio.models.plasticity import (SCALING_TOTAL, ContextParams, RSTDPParams, context_plasticity,
                                           normalised_instar, reward_modulated_stdp, static_synapse, synaptic_scaling)
from mtspark_bio.hidden_layer import build_hidden_layer, wire_context
from mtspark_bio.network import make_neurons, make_synapses, schedule_consolidation

VARIANTS = ("dendritic", "point", "shuffled")
GATINGS = ("partition", "random")
READOUT_RULES = ("instar", "rstdp")


@dataclass(frozen=True)
class CircuitConfig:
    """Sizes, rates and strengths of the classifier circuit.

    Quantities with units are plain floats in the unit their name ends with (``_ms``,
    ``_hz``, ``_nS``, ``_pA``), so the configuration serialises to JSON and is stored in
    every result file."""

    n_features: int
    n_classes: int
    n_tasks: int
    # The hidden layer grows with the number of tasks, so every task's gated set keeps
    # its size (the scaling rule of the capacity protocol).
    n_hidden: int = 0  # 0 = hidden_per_task * n_tasks
    hidden_per_task: int = 200
    n_segments: int = 0  # 0 = one segment per task (Iyer et al. 2022)
    # "partition": every hidden neuron's segments take the context of exactly one task,
    # so the tasks' gated sets are disjoint; "random": each (segment, task) pair is
    # wired with a probability that gates gated_fraction of the neurons per task, so
    # sets overlap by chance (Masse, Grant & Freedman 2018). See wire_context.
    gating: str = "partition"
    n_inhibitory: int = 60
    context_per_task: int = 10
    gated_fraction: float = 0.2  # expected fraction of hidden neurons a context gates
    t_rest_ms: float = 25.0
    t_present_ms: float = 100.0
    input_rate_hz: float = 300.0  # Poisson rate of a pixel at intensity 1 (see input_rate_for)
    p_ff: float = 0.25  # fraction of pixels each hidden neuron samples
    context_rate_hz: float = 60.0
    g_ff_nS: float = 0.45
    g_ff_point_nS: float = 0.45
    g_context_nS: float = 3.0
    g_hidden_to_inh_nS: float = 0.5
    g_inh_to_hidden_nS: float = 0.3
    p_inhibition: float = 0.5
    # Learning rule of the hidden->readout synapses: "instar" (models.plasticity.
    # normalised_instar: a teacher-modulated, normalised Hebbian rule) or "rstdp"
    # (reward-modulated STDP with the exploration, reward and homeostasis settings below).
    readout_rule: str = "instar"
    eta_instar: float = 0.05
    w_instar_init: float = 0.05  # initial weights uniform in [0, w_instar_init]
    readout_gain: float = 60.0  # CountingReadout spikes per unit of weighted input
    g_readout_nS: float = 5.0
    g_readout_point_nS: float = 2.5  # point variant's hidden->readout scale; 0 = g_readout_nS
    g_readout_inh_nS: float = 15.0
    w_readout_init: float = 0.3
    eta: float = 0.01
    tau_c_ms: float = 50.0
    # Izhikevich's A- = 1.5 A+ makes uncorrelated rate-coded pairings net depressing, so
    # a rewarded presentation would weaken the synapses that caused it; the readout
    # uses a net-Hebbian window instead.
    a_minus_readout: float = 0.5
    modulator: str = "reward"  # or "reward_prediction_error" (population scope only)
    # "population": one reward for the margin of the whole readout (bandit feedback);
    # "neuron": each readout neuron is rewarded for its own response (see
    # models.neuromodulation and docs/results.md on why population scope cannot sort 10 classes).
    reward_scope: str = "neuron"
    # Fraction of the readout's lateral inhibition left on during training
    # presentations (1 = always on). Lowering it lets every readout neuron respond and
    # learn on every presentation, as acetylcholine suppresses intracortical
    # transmission during encoding (Hasselmo 1999, Trends Cogn Sci 3:351).
    training_inhibition: float = 0.0
    reward_average: float = 50.0
    # Starting value of the reward expectation: with n classes a naive readout is wrong
    # most of the time, so an expectation near -1 + 2/n keeps early errors from being
    # large surprises that silence the readout.
    expected_reward_init: float = -0.8
    punishment: float = 0.1  # reward of a wrong answer is -punishment
    # Exploration: independent Poisson input to each readout neuron during training
    # presentations only, so that a neuron that does not yet win sometimes fires,
    # acquires eligibility and can be rewarded.
    readout_noise_hz: float = 200.0
    readout_noise_in_test: bool = False  # keep the background on in test presentations too
    g_readout_noise_nS: float = 2.0
    # Intrinsic homeostasis of the readout (in the spirit of Triesch 2005's intrinsic
    # plasticity): each readout neuron tracks its spikes per training presentation
    # (running mean over homeostasis_average presentations) and receives a bias current
    # -homeostasis_pA * (rate - homeostasis_target), so a neuron that wins everything is
    # held back and one that never fires is pushed up. 0 disables it.
    homeostasis_pA: float = 0.0
    # Synaptic scaling of the readout: before each reward step every readout neuron's
    # hidden->readout weights are rescaled to a fixed total (the expected initial total,
    # n_hidden * w_readout_init / 2), so learning redistributes weight between hidden
    # neurons instead of making one readout neuron stronger than the others.
    # Off by default: rescaling a neuron's whole row moves the weights of hidden
    # neurons that the current task does not use, which is itself a cause of forgetting.
    normalize_readout: bool = False
    homeostasis_target: float = 0.5
    homeostasis_average: float = 50.0
    context_learning: bool = True
    # Integration method of the conductance-based neurons (hidden, inhibitory and the
    # rstdp readout): "" = the models' own (models.neurons.SOMA_METHOD), resolved on
    # construction so a result file records the method it ran with; naming one, e.g.
    # "exponential_euler", reproduces runs made before a default changed.
    integration: str = ""
    seed: int = 0

    def __post_init__(self):
        if self.n_hidden == 0:  # frozen: resolve the scaling rule once, so asdict() shows it
            object.__setattr__(self, "n_hidden", self.hidden_per_task * self.n_tasks)
        if not self.integration:
            object.__setattr__(self, "integration", SOMA_METHOD)

    @property
    def segments(self) -> int:
        return self.n_segments or self.n_tasks

    @property
    def t_sample_ms(self) -> float:
        return self.t_rest_ms + self.t_present_ms

    def validate(self):
        problems = []
        for name in ("n_features", "n_classes", "n_tasks", "n_hidden", "n_inhibitory", "context_per_task"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.gating not in GATINGS:
            problems.append(f"gating must be one of {GATINGS} (got {self.gating!r})")
        if not 0 < self.gated_fraction <= 1:
            problems.append(f"gated_fraction must be in (0, 1] (got {self.gated_fraction})")
        if self.t_rest_ms <= 0 or self.t_present_ms <= 0:
            problems.append("t_rest_ms and t_present_ms must be > 0")
        if self.readout_rule not in READOUT_RULES:
            problems.append(f"readout_rule must be one of {READOUT_RULES} (got {self.readout_rule!r})")
        if self.modulator not in neuromodulation.MODULATORS:
            problems.append(f"modulator must be one of {neuromodulation.MODULATORS}")
        if self.reward_scope not in neuromodulation.SCOPES:
            problems.append(f"reward_scope must be one of {neuromodulation.SCOPES}")
        if not 0 <= self.training_inhibition <= 1:
            problems.append(f"training_inhibition must be in [0, 1] (got {self.training_inhibition})")
        if self.integration not in INTEGRATION_METHODS:  # '' was resolved on construction
            problems.append(f"integration must be '' (the models' own) or one of {INTEGRATION_METHODS} "
                            f"(got {self.integration!r})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class StimulusSchedule:
    """The TimedArrays that drive every variant: one row per presentation."""

    def __init__(self, config: CircuitConfig, n_presentations: int):
        t_sample = config.t_sample_ms * ms
        self.n_presentations = n_presentations
        self.duration = n_presentations * t_sample + config.t_rest_ms * ms
        self.stimulus = TimedArray(np.zeros((n_presentations, config.n_features)), dt=t_sample,
                                   name="stimulus")
        self.label = TimedArray(np.full(n_presentations, -1.0), dt=t_sample, name="label")
        self.task = TimedArray(np.zeros(n_presentations), dt=t_sample, name="task")
        self.shuffled_task = TimedArray(np.zeros(n_presentations), dt=t_sample, name="shuffled_task")
        self.plastic = TimedArray(np.zeros(n_presentations), dt=t_sample, name="plastic")
        # A compiled binary only accepts values for TimedArrays it uses; the context
        # arrays are used only by variants that have a context.
        self.used = {self.stimulus, self.label, self.plastic}
        self.namespace = {
            "stimulus": self.stimulus, "label": self.label, "plastic": self.plastic,
            "t_sample": t_sample, "t_rest": config.t_rest_ms * ms,
            "input_rate": config.input_rate_hz * Hz, "context_rate": config.context_rate_hz * Hz,
            "context_per_task": config.context_per_task,
        }

    def values(self, images, labels, tasks, plastic, shuffled_tasks=None):
        """TimedArray contents for one chunk; short chunks are padded with blank,
        label -1, non-plastic presentations."""
        n = len(labels)
        if n > self.n_presentations:
            raise ValueError(f"chunk of {n} presentations exceeds the built {self.n_presentations}")
        pad = self.n_presentations - n

        def padded(a, fill):
            a = np.asarray(a, dtype=float)
            if pad:
                a = np.concatenate([a, np.full((pad,) + a.shape[1:], fill)])
            return np.ascontiguousarray(a)  # Brian2 hashes the raw buffer

        shuffled = tasks if shuffled_tasks is None else shuffled_tasks
        values = {self.stimulus: padded(images, 0.0), self.label: padded(labels, -1.0),
                  self.task: padded(tasks, 0.0), self.shuffled_task: padded(shuffled, 0.0),
                  self.plastic: padded(plastic, 0.0)}
        return {array: value for array, value in values.items() if array in self.used}


# Expressions shared by all groups (names resolved through the namespace above).
PRESENTING = "int(t - t_sample*floor(t/t_sample) >= t_rest)"
SHOWN = "t - 0.5*t_rest"  # at a reward tick: a time inside the presentation that just ended


class Classifier:
    """One variant of the circuit, its Brian2 objects named ``<variant>_<part>``."""

    def __init__(self, config: CircuitConfig, variant: str, schedule: StimulusSchedule):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
        self.config, self.variant = config, variant
        rng = np.random.default_rng(config.seed)  # same wiring for every variant and device
        ns = dict(schedule.namespace)
        ns["task_of"] = schedule.shuffled_task if variant == "shuffled" else schedule.task
        self.schedule_used = schedule.used
        name = lambda part: f"{variant}_{part}"  # noqa: E731
        dendritic = variant != "point"
        instar = config.readout_rule == "instar"
        n_seg = config.segments

        self.inputs = PoissonGroup(config.n_features, rates=f"stimulus(t, i)*input_rate*{PRESENTING}",
                                   namespace=ns, name=name("input"))
        # feed-forward: random receptive fields (each neuron samples a fraction p_ff of
        # the pixels), weights scaled so every neuron has the same total weight; feedback
        # inhibition: hidden -> pool -> hidden
        layer = build_hidden_layer(
            rng, self.inputs, name, n_hidden=config.n_hidden, n_inhibitory=config.n_inhibitory,
            n_segments=n_seg if dendritic else 0, g_ff_nS=config.g_ff_nS if dendritic else config.g_ff_point_nS,
            p_ff=config.p_ff, g_hidden_to_inh_nS=config.g_hidden_to_inh_nS,
            g_inh_to_hidden_nS=config.g_inh_to_hidden_nS, p_inhibition=config.p_inhibition,
            # the hidden side of the readout's balanced feed-forward inhibition
            extra_equations="mean_w_out : 1\n" if instar else "", method=config.integration)
        self.hidden, self.inhibitory, self.feedforward = layer.hidden, layer.inhibitory, layer.feedforward
        point_spec = PointNeuron().spec()
        readout_spec = (CountingReadout().spec() if instar
                        else dataclasses.replace(point_spec, method=config.integration))
        readout_spec = dataclasses.replace(readout_spec, equations=readout_spec.equations
                                           + neuromodulation.classifier_readout_variables(instar, config.normalize_readout))
        self.readout = make_neurons(readout_spec, config.n_classes, name("readout"), namespace=ns)
        trial = f"plastic({SHOWN})*int(t > 0*second)"
        self.readout.expected_reward = config.expected_reward_init
        self.readout.activity = config.homeostasis_target
        if config.homeostasis_pA > 0:
            # before the reward tick (order 0), which clears the spike counters
            self.readout.run_regularly(
                neuromodulation.intrinsic_homeostasis(trial, config.homeostasis_average, config.homeostasis_pA,
                                                      config.homeostasis_target),
                dt=schedule.namespace["t_sample"], when="end", order=-1, name=name("homeostasis"))
        self.readout.run_regularly(
            neuromodulation.reward_tick(config.modulator, trial, config.reward_average,
                                        # the instar's teacher: 1 for the label's neuron, 0 otherwise
                                        punishment=0.0 if instar else config.punishment,
                                        scope="neuron" if instar else config.reward_scope,
                                        label_now=f"label({SHOWN})"),
            dt=schedule.namespace["t_sample"], when="end", order=0, name=name("reward"))
        self.objects = [self.inputs, *layer.objects, self.readout]

        # readout: the learning rule, plus lateral inhibition and the reward margin
        if instar:
            learn_readout = normalised_instar("v", config.readout_gain, config.eta_instar, config.n_classes,
                                              modulator="M", learning=f"plastic({SHOWN})")
            w_init = config.w_instar_init
        else:
            g_readout = (config.g_readout_point_nS if variant == "point" and config.g_readout_point_nS > 0
                         else config.g_readout_nS) * nS
            learn_readout = reward_modulated_stdp(
                "g_exc", g_readout,
                RSTDPParams(tau_c=config.tau_c_ms * ms, eta=config.eta, A_minus=config.a_minus_readout),
                modulator="M", learning=f"plastic({SHOWN})")
            w_init = config.w_readout_init
        if config.normalize_readout:
            learn_readout = dataclasses.replace(learn_readout, model=learn_readout.model + SCALING_TOTAL)
        self.readout_synapses = make_synapses(learn_readout, self.hidden, self.readout, name("readout_syn"),
                                              namespace=ns)
        self.readout_synapses.connect()
        self.readout_synapses.w = (rng.random(config.n_hidden * config.n_classes) * w_init)
        schedule_consolidation(self.readout_synapses, learn_readout, ns["t_sample"], name=name("consolidate"))
        if instar:
            # the presynaptic counts are per presentation: clear them after the consolidation
            # ... and the dendritic gate, which stays open for a plateau still under way
            self.hidden.run_regularly(DENDRITIC_PRESENTATION_CLEAR if dendritic else PRESENTATION_CLEAR,
                                      dt=ns["t_sample"], when="end", order=4, name=name("hidden_count_clear"))
            self.readout.run_regularly(CountingReadout.CLEAR, dt=ns["t_sample"], when="end", order=4,
                                       name=name("readout_clear"))
        if config.normalize_readout:
            total = config.n_hidden * config.w_readout_init / 2
            self.readout_synapses.run_regularly(
                synaptic_scaling(total),
                dt=ns["t_sample"], when="end", order=-2, name=name("scaling"))
        margin = Synapses(self.readout, self.readout, model=neuromodulation.margin_synapse(SHOWN),
                          namespace=ns, name=name("margin"))
        margin.connect()
        self.objects += [self.readout_synapses, margin]
        if not instar:
            self._build_rstdp_readout_extras(ns, name)

        self.context = self.context_wiring = None
        if dendritic:
            self._build_context(ns, rng, name, n_seg)

        self.readout_spikes = SpikeMonitor(self.readout, name=name("readout_spikes"))
        self.hidden_spikes = SpikeMonitor(self.hidden, name=name("hidden_spikes"))
        self.objects += [self.readout_spikes, self.hidden_spikes]

    def _build_rstdp_readout_extras(self, ns, name):
        """Lateral inhibition between readout neurons (lifted in training) and the
        exploratory background input that R-STDP needs to find rewarded responses."""
        config = self.config
        lateral = make_synapses(static_synapse("g_inh", config.g_readout_inh_nS * nS),
                                self.readout, self.readout, name("lateral"), namespace=ns)
        lateral.connect(condition="i != j")
        lateral.w = 1.0
        if config.training_inhibition != 1.0:
            # set at the start of each presentation from its training flag, read at
            # mid-rest (an unambiguous TimedArray index)
            lateral.run_regularly(
                neuromodulation.lateral_inhibition_gate(config.training_inhibition),
                dt=ns["t_sample"], when="start", name=name("lateral_gate"))
        self.objects.append(lateral)
        if config.readout_noise_hz > 0:
            ns["readout_noise"] = config.readout_noise_hz * Hz
            gate = "" if config.readout_noise_in_test else "*plastic(t)"
            noise = PoissonGroup(config.n_classes, rates=f"readout_noise*{PRESENTING}{gate}",
                                 namespace=ns, name=name("readout_noise"))
            noise_syn = make_synapses(static_synapse("g_exc", config.g_readout_noise_nS * nS),
                                      noise, self.readout, name("readout_noise_syn"))
            noise_syn.connect(j="i")
            noise_syn.w = 1.0
            self.objects += [noise, noise_syn]

    def _build_context(self, ns, rng, name, n_seg):
        config = self.config
        self.schedule_used.add(ns["task_of"])
        n_context = config.n_tasks * config.context_per_task
        self.context = PoissonGroup(
            n_context, rates="context_rate*int(floor(i/context_per_task) == task_of(t))",
            namespace=ns, name=name("context"))
        learning = "plastic(t)" if config.context_learning else "0"
        spec = context_plasticity(n_seg, config.g_context_nS * nS, ContextParams(), learning=learning)
        self.context_synapses = make_synapses(spec, self.context, self.hidden, name("context_syn"), namespace=ns)
        # (neuron, segment, task) of each wired pair, for the record (mtspark_bio.spike_record)
        self.context_wiring = wire_context(rng, self.context_synapses, config.n_hidden, n_seg, config.n_tasks,
                                           config.context_per_task, config.gated_fraction, config.gating)
        self.objects += [self.context, self.context_synapses]

    def carried(self) -> dict:
        """State carried from one chunk to the next: learned weights and the reward
        expectation (everything else restarts from rest each chunk)."""
        state = {"readout_w": self.readout_synapses.w, "expected_reward": self.readout.expected_reward,
                 "readout_activity": self.readout.activity}
        if self.context is not None:
            state["context_w"] = self.context_synapses.w
        return state

    def read_back(self) -> list:
        """What the protocol reads after a run (:meth:`Simulation.build`'s ``read_back``):
        the spike monitors and the carried state."""
        return [self.readout_spikes, self.hidden_spikes, *self.carried().values()]

    def read_state(self) -> dict:
        return {key: np.array(view[:]) for key, view in self.carried().items()}

    def state_inputs(self, state: dict) -> dict:
        """Variables -> values for Simulation.run, from a saved state."""
        views = self.carried()
        return {views[key]: np.asarray(value) for key, value in state.items()}

    def spike_counts(self, n_presentations: int) -> np.ndarray:
        """Readout spike counts per presentation (presentations x classes)."""
        return _bin_spikes(self.readout_spikes, n_presentations, self.config.n_classes,
                           self.config.t_sample_ms * 1e-3)

    def hidden_counts(self, n_presentations: int) -> np.ndarray:
        return _bin_spikes(self.hidden_spikes, n_presentations, self.config.n_hidden,
                           self.config.t_sample_ms * 1e-3)


# The summed Poisson rate of an average image. Each hidden cell's feed-forward weights
# sum to n_inputs / 2 over the fraction p_ff of pixels it samples, so its expected drive
# is half the summed input rate whatever the image size: fixing the summed rate makes
# an 8x8 and a 28x28 image drive the hidden layer alike.
INPUT_TOTAL_RATE_HZ = 6000.0


def input_rate_for(images: np.ndarray, total_rate_hz: float = INPUT_TOTAL_RATE_HZ) -> float:
    """Per-pixel rate (Hz at intensity 1) that gives the average image of ``images``
    (n x pixels, intensities in [0, 1]) a summed rate of ``total_rate_hz``."""
    mean_total = float(np.asarray(images, dtype=float).sum(axis=1).mean())
    if mean_total <= 0:
        raise ValueError("the training images are blank (zero summed intensity): cannot set the input rate")
    return total_rate_hz / mean_total


def _bin_spikes(monitor, n_presentations, n_neurons, t_sample_s):
    t = np.asarray(monitor.t_[:])
    i = np.asarray(monitor.i[:])
    sample = np.floor(t / t_sample_s).astype(int)
    keep = sample < n_presentations
    counts = np.zeros((n_presentations, n_neurons), dtype=np.int32)
    np.add.at(counts, (sample[keep], i[keep]), 1)
    return counts


def predictions(counts: np.ndarray) -> np.ndarray:
    """Class with the most spikes; -1 where no neuron fired or the maximum is tied."""
    best = counts.argmax(axis=1)
    top = counts.max(axis=1)
    unique = (counts == top[:, None]).sum(axis=1) == 1
    return np.where((top > 0) & unique, best, -1)
