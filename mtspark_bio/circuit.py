"""The context-gated classifier circuit used by the forgetting protocol.

    pixels (Poisson) ──ff──▶ hidden (dendritic or point) ──readout rule──▶ readout (one neuron per class)
    task context (Poisson) ──plateau-gated plasticity──▶ distal segments of hidden
    hidden ⇄ inhibitory pool (k-WTA-like sparsity);  readout ⇄ readout (the rule's summed signals)

The readout's learning rule is an object of ``models.readout_rules`` (``CircuitConfig.
readout``): the normalised instar by default (a teacher-gated Hebbian rule), or
reward-modulated STDP with the lateral inhibition and exploratory input it needs. The
circuit asks the rule for its neurons, synapses and per-presentation code.

Time is cut into presentations of ``t_rest + t_present``: rest first, then the image as
Poisson rates. Per-presentation inputs are TimedArrays with one row per presentation —
the image, its label, the task (context), and whether it is a training presentation —
so a whole chunk of presentations runs inside compiled code. At the end of each
presentation the readout computes the rule's signal (a teacher, an error or a reward;
``models.neuromodulation``) and the hidden→readout synapses consolidate by the rule
(``models.plasticity``).

One :class:`Classifier` per variant; several variants can share one Simulation (and so
one compiled binary), fed the same TimedArrays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from brian2 import Hz, PoissonGroup, SpikeMonitor, Synapses, TimedArray, ms, nS

from mtspark_bio.models import neuromodulation
from mtspark_bio.models.neurons import INTEGRATION_METHODS, SOMA_METHOD, regular_encoder
from mtspark_bio.models.plasticity import ContextParams, context_plasticity
from mtspark_bio.models.readout_rules import DEFAULT_RULE, ReadoutRule, from_legacy_fields, make_rule
from mtspark_bio.hidden_layer import build_hidden_layer, wire_context
from mtspark_bio.network import make_neurons, make_synapses, schedule_consolidation
from mtspark_bio.sections import Sectioned

VARIANTS = ("dendritic", "point", "shuffled")
GATINGS = ("partition", "random")
ENCODINGS = ("poisson", "regular")


@dataclass(frozen=True)
class InputParams:
    """How an image reaches the hidden layer: the presentation's timing, the pixels'
    Poisson rates and the feed-forward synapses."""

    t_rest_ms: float = 25.0
    t_present_ms: float = 100.0
    input_rate_hz: float = 300.0  # rate of a pixel at intensity 1 (see input_rate_for)
    # "poisson": each pixel a Poisson train; "regular": a regular train at the same rate
    # (models.neurons.regular_encoder), which takes the input's sampling noise out of the code
    encoding: str = "poisson"
    p_ff: float = 0.25  # fraction of pixels each hidden neuron samples
    g_ff_nS: float = 0.45
    g_ff_point_nS: float = 0.45

    @property
    def t_sample_ms(self) -> float:
        return self.t_rest_ms + self.t_present_ms

    def problems(self) -> list[str]:
        problems = [] if self.t_rest_ms > 0 and self.t_present_ms > 0 else ["t_rest_ms and t_present_ms must be > 0"]
        if self.encoding not in ENCODINGS:
            problems.append(f"encoding must be one of {ENCODINGS} (got {self.encoding!r})")
        return problems


@dataclass(frozen=True)
class HiddenParams:
    """The hidden layer, its inhibitory pool and its gating by the task context."""

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
    g_hidden_to_inh_nS: float = 0.5
    g_inh_to_hidden_nS: float = 0.3
    p_inhibition: float = 0.5
    # feed-forward inhibition: the pixels also drive the pool (0 nS: none, as before;
    # hidden_layer.feedforward_inhibition says why it sharpens the code)
    g_input_to_inh_nS: float = 0.0
    p_input_to_inh: float = 1.0
    context_per_task: int = 10
    context_rate_hz: float = 60.0
    g_context_nS: float = 3.0
    gated_fraction: float = 0.2  # expected fraction of hidden neurons a context gates
    context_learning: bool = True

    def problems(self) -> list[str]:
        problems = [f"{name} must be >= 1 (got {getattr(self, name)})"
                    for name in ("n_hidden", "n_inhibitory", "context_per_task") if getattr(self, name) < 1]
        if self.gating not in GATINGS:
            problems.append(f"gating must be one of {GATINGS} (got {self.gating!r})")
        if not 0 < self.gated_fraction <= 1:
            problems.append(f"gated_fraction must be in (0, 1] (got {self.gated_fraction})")
        return problems


@dataclass(frozen=True)
class RunParams:
    """How the network is simulated: the integration method and the seed of its wiring."""

    # Integration method of the conductance-based neurons (hidden, inhibitory and the
    # R-STDP readout): "" = the models' own (models.neurons.SOMA_METHOD), resolved on
    # construction so a result file records the method it ran with; naming one, e.g.
    # "exponential_euler", reproduces runs made before a default changed.
    integration: str = ""
    seed: int = 0

    def problems(self) -> list[str]:
        if self.integration in INTEGRATION_METHODS:  # '' was resolved on construction
            return []
        return [f"integration must be '' (the models' own) or one of {INTEGRATION_METHODS} (got {self.integration!r})"]


@dataclass(frozen=True)
class CircuitConfig(Sectioned):
    """The classifier circuit: its sizes, then one section per concern (``input``,
    ``hidden``, ``readout`` the learning rule with its parameters, ``run``).

    Quantities with units are plain floats in the unit their name ends with (``_ms``,
    ``_hz``, ``_nS``, ``_pA``), so the configuration serialises to JSON and is stored in
    every result file. Every field name is unique across the sections, so overrides
    (``--circuit``) may name a field flat, ``{"n_hidden": 400}``, or by its section,
    ``{"hidden": {"n_hidden": 400}}`` (:meth:`from_overrides`)."""

    n_features: int
    n_classes: int
    n_tasks: int
    input: InputParams = dataclasses.field(default_factory=InputParams)
    hidden: HiddenParams = dataclasses.field(default_factory=HiddenParams)
    # Learning rule of the hidden->readout synapses, with its parameters
    # (models.readout_rules; JSON: {"rule": "instar" | "rstdp" | "error_driven", FIELD: VALUE, ...}).
    readout: ReadoutRule = dataclasses.field(default_factory=DEFAULT_RULE)
    run: RunParams = dataclasses.field(default_factory=RunParams)

    SECTIONS: ClassVar[dict[str, type]] = {"input": InputParams, "hidden": HiddenParams, "run": RunParams}
    WHAT: ClassVar[str] = "circuit"

    def __post_init__(self):
        try:
            object.__setattr__(self, "readout", make_rule(self.readout))  # its stored or JSON form
        except ValueError as error:
            raise ValueError(str(error)) from None
        self._resolve_sections()
        if self.hidden.n_hidden == 0:  # frozen: resolve the scaling rule once, so asdict() shows it
            object.__setattr__(self, "hidden", dataclasses.replace(
                self.hidden, n_hidden=self.hidden.hidden_per_task * self.n_tasks))
        if not self.run.integration:
            object.__setattr__(self, "run", dataclasses.replace(self.run, integration=SOMA_METHOD))

    @classmethod
    def from_overrides(cls, **values) -> "CircuitConfig":
        """A configuration from keyword values as JSON or a result file gives them:
        sections, or their fields named flat, and the flat readout fields of earlier
        versions (deprecated)."""
        return cls(**cls.gather_sections(from_legacy_fields(values)))

    @property
    def segments(self) -> int:
        return self.hidden.n_segments or self.n_tasks

    def validate(self):
        problems = [f"{name} must be >= 1 (got {getattr(self, name)})"
                    for name in ("n_features", "n_classes", "n_tasks") if getattr(self, name) < 1]
        problems += self.input.problems() + self.hidden.problems() + self.readout.validate() + self.run.problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self


class StimulusSchedule:
    """The TimedArrays that drive every variant: one row per presentation."""

    def __init__(self, config: CircuitConfig, n_presentations: int):
        t_sample = config.input.t_sample_ms * ms
        self.n_presentations = n_presentations
        self.duration = n_presentations * t_sample + config.input.t_rest_ms * ms
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
            "t_sample": t_sample, "t_rest": config.input.t_rest_ms * ms,
            "input_rate": config.input.input_rate_hz * Hz, "context_rate": config.hidden.context_rate_hz * Hz,
            "context_per_task": config.hidden.context_per_task,
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
        rng = np.random.default_rng(config.run.seed)  # same wiring for every variant and device
        ns = dict(schedule.namespace)
        ns["task_of"] = schedule.shuffled_task if variant == "shuffled" else schedule.task
        self.schedule_used = schedule.used
        name = lambda part: f"{variant}_{part}"  # noqa: E731
        dendritic = variant != "point"
        rule = config.readout
        n_seg = config.segments

        rate = f"stimulus(t, i)*input_rate*{PRESENTING}"
        if config.input.encoding == "regular":
            self.inputs = make_neurons(regular_encoder(rate), config.n_features, name("input"), namespace=ns)
            # its own generator: the wiring below draws the same numbers for either encoding
            self.inputs.phase = np.random.default_rng([config.run.seed, 1]).random(config.n_features)
        else:
            self.inputs = PoissonGroup(config.n_features, rates=rate, namespace=ns, name=name("input"))
        # feed-forward: random receptive fields (each neuron samples a fraction p_ff of
        # the pixels), weights scaled so every neuron has the same total weight; feedback
        # inhibition: hidden -> pool -> hidden
        layer = build_hidden_layer(
            rng, self.inputs, name, n_hidden=config.hidden.n_hidden, n_inhibitory=config.hidden.n_inhibitory,
            n_segments=n_seg if dendritic else 0, g_ff_nS=config.input.g_ff_nS if dendritic else config.input.g_ff_point_nS,
            p_ff=config.input.p_ff, g_hidden_to_inh_nS=config.hidden.g_hidden_to_inh_nS,
            g_inh_to_hidden_nS=config.hidden.g_inh_to_hidden_nS, p_inhibition=config.hidden.p_inhibition,
            g_input_to_inh_nS=config.hidden.g_input_to_inh_nS, p_input_to_inh=config.hidden.p_input_to_inh,
            # the hidden side of the readout's balanced feed-forward inhibition
            extra_equations=rule.hidden_variables, method=config.run.integration)
        self.hidden, self.inhibitory, self.feedforward = layer.hidden, layer.inhibitory, layer.feedforward
        # the populations spikes leave and the synapses each neuron's spike reaches
        # (metrics.synaptic_operations); the readout's margin synapses are left out: they
        # compute the rule's summed variables, they carry no spikes
        self.sources = {"input": self.inputs, "hidden": self.hidden, "inhibitory": self.inhibitory}
        self.out_degree = {population: degree.astype(float) for population, degree in layer.out_degrees.items()}
        self.readout = make_neurons(rule.readout_neuron(config.run.integration), config.n_classes, name("readout"),
                                    namespace=ns)
        for variable, value in rule.initial_readout_state().items():
            setattr(self.readout, variable, value)
        self.objects = [self.inputs, *layer.objects, self.readout]

        # readout: the rule's signal (teacher or reward), its synapses and their
        # consolidation, its housekeeping; the margin the reward is computed from
        trial = f"plastic({SHOWN})*int(t > 0*second)"
        every = schedule.namespace["t_sample"]
        self.readout.run_regularly(rule.signal(trial, label_now=f"label({SHOWN})"), dt=every, when="end", order=0,
                                   name=name("reward"))
        learn_readout = rule.synapses(point=variant == "point", learning=f"plastic({SHOWN})",
                                      n_classes=config.n_classes)
        self.readout_synapses = make_synapses(learn_readout, self.hidden, self.readout, name("readout_syn"),
                                              namespace=ns)
        self.readout_synapses.connect()
        self.out_degree["hidden"] += config.n_classes
        self.sources["readout"], self.out_degree["readout"] = self.readout, np.zeros(config.n_classes)
        self.readout_synapses.w = (rng.random(config.hidden.n_hidden * config.n_classes) * rule.w_max_init)
        schedule_consolidation(self.readout_synapses, learn_readout, every, name=name("consolidate"))
        groups = {"hidden": self.hidden, "readout": self.readout, "synapses": self.readout_synapses}
        for step in rule.steps(trial, dendritic, config.hidden.n_hidden):
            groups[step.group].run_regularly(step.code, dt=every, when="end", order=step.order, name=name(step.part))
        sums = rule.readout_sums()
        margin = Synapses(self.readout, self.readout, model="\n".join(
            [neuromodulation.margin_synapse(SHOWN), *(f"{v}_post = {e} : 1 (summed)" for v, e in sums.items())]),
            namespace=ns, name=name("margin"))
        margin.connect()
        for variable in sums:  # summed after the step's spikes, as the counts the signal reads
            margin.summed_updaters[f"{variable}_post"].when, margin.summed_updaters[f"{variable}_post"].order = "end", -1
        self.objects += [self.readout_synapses, margin]
        self._build_readout_pathways(ns, name)

        self.context = self.context_wiring = None
        if dendritic:
            self._build_context(ns, rng, name, n_seg)

        self.readout_spikes = SpikeMonitor(self.readout, name=name("readout_spikes"))
        self.hidden_spikes = SpikeMonitor(self.hidden, name=name("hidden_spikes"))
        self.objects += [self.readout_spikes, self.hidden_spikes]
        # the other sources' spikes, which the synaptic operations per image count
        self.population_spikes = {"hidden": self.hidden_spikes, "readout": self.readout_spikes}
        for population, group in self.sources.items():
            if population not in self.population_spikes:
                self.population_spikes[population] = SpikeMonitor(group, name=name(f"{population}_spikes"))
                self.objects.append(self.population_spikes[population])

    def _build_readout_pathways(self, ns, name):
        """The pathways the readout rule asks for besides its synapses: lateral
        inhibition between readout neurons, and exploratory background input."""
        config, rule = self.config, self.config.readout
        if rule.lateral_inhibition is not None:
            spec, gate = rule.lateral_inhibition
            lateral = make_synapses(spec, self.readout, self.readout, name("lateral"), namespace=ns)
            lateral.connect(condition="i != j")
            lateral.w = 1.0
            self.out_degree["readout"] += config.n_classes - 1
            if gate is not None:
                # set at the start of each presentation from its training flag, read at
                # mid-rest (an unambiguous TimedArray index)
                lateral.run_regularly(gate, dt=ns["t_sample"], when="start", name=name("lateral_gate"))
            self.objects.append(lateral)
        if rule.exploration is not None:
            rate_hz, in_test, spec = rule.exploration
            ns["readout_noise"] = rate_hz * Hz
            noise = PoissonGroup(config.n_classes, rates=f"readout_noise*{PRESENTING}{'' if in_test else '*plastic(t)'}",
                                 namespace=ns, name=name("readout_noise"))
            noise_syn = make_synapses(spec, noise, self.readout, name("readout_noise_syn"))
            noise_syn.connect(j="i")
            noise_syn.w = 1.0
            self.sources["readout_noise"], self.out_degree["readout_noise"] = noise, np.ones(config.n_classes)
            self.objects += [noise, noise_syn]

    def _build_context(self, ns, rng, name, n_seg):
        config = self.config
        self.schedule_used.add(ns["task_of"])
        n_context = config.n_tasks * config.hidden.context_per_task
        self.context = PoissonGroup(
            n_context, rates="context_rate*int(floor(i/context_per_task) == task_of(t))",
            namespace=ns, name=name("context"))
        learning = "plastic(t)" if config.hidden.context_learning else "0"
        spec = context_plasticity(n_seg, config.hidden.g_context_nS * nS, ContextParams(), learning=learning)
        self.context_synapses = make_synapses(spec, self.context, self.hidden, name("context_syn"), namespace=ns)
        # (neuron, segment, task) of each wired pair, for the record (mtspark_bio.spike_record)
        self.context_wiring = wire_context(rng, self.context_synapses, config.hidden.n_hidden, n_seg, config.n_tasks,
                                           config.hidden.context_per_task, config.hidden.gated_fraction, config.hidden.gating)
        # a wired (neuron, segment, task) triple takes all of the task's context neurons
        per_task = np.bincount(self.context_wiring["task"], minlength=config.n_tasks)
        self.sources["context"] = self.context
        self.out_degree["context"] = np.repeat(per_task, config.hidden.context_per_task).astype(float)
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
        return [*self.population_spikes.values(), *self.carried().values()]

    def read_state(self) -> dict:
        return {key: np.array(view[:]) for key, view in self.carried().items()}

    def state_inputs(self, state: dict) -> dict:
        """Variables -> values for Simulation.run, from a saved state."""
        views = self.carried()
        return {views[key]: np.asarray(value) for key, value in state.items()}

    def gated_sets(self) -> np.ndarray | None:
        """(tasks x hidden) True where a task's context reaches the neuron's segments;
        None for the point network, which has no context."""
        if self.context_wiring is None:
            return None
        gated = np.zeros((self.config.n_tasks, self.config.hidden.n_hidden), dtype=bool)
        gated[self.context_wiring["task"], self.context_wiring["neuron"]] = True
        return gated

    def spike_counts(self, n_presentations: int) -> np.ndarray:
        """Readout spike counts per presentation (presentations x classes)."""
        return _bin_spikes(self.readout_spikes, n_presentations, self.config.n_classes,
                           self.config.input.t_sample_ms * 1e-3)

    def hidden_counts(self, n_presentations: int) -> np.ndarray:
        return _bin_spikes(self.hidden_spikes, n_presentations, self.config.hidden.n_hidden,
                           self.config.input.t_sample_ms * 1e-3)

    def population_counts(self, n_presentations: int) -> dict[str, np.ndarray]:
        """Spike counts per presentation (presentations x neurons) of every population a
        pathway leaves, in the last run."""
        return {population: _bin_spikes(monitor, n_presentations, len(monitor.source),
                                        self.config.input.t_sample_ms * 1e-3)
                for population, monitor in self.population_spikes.items()}



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
