"""The multi-game agent's spiking network: dendritic hidden layer and dueling output.

    frame features (regular spike trains) ──ff──▶ hidden (dendritic or point) ──R-STDP──▶ V | A_0 ... A_17
    game context (regular spike trains) ──▶ distal segments of hidden
    hidden ⇄ inhibitory pool (k-WTA-like sparsity)

Time is cut into agent steps of ``step_ms``; one observation is shown per step. At the
end of each step (``when='end'``) the output layer's spike counts leave the network,
the environment process answers (``mtspark_bio.closed_loop``), and the reply sets the
next step's input rates, each output neuron's neuromodulator M (the TD error,
broadcast) and tag (which populations the chosen action marks, ``models.actor_critic``)
and an exploratory drive current. Then the hidden->output synapses consolidate
(``models.plasticity``, delayed-credit R-STDP: the TD error judges the previous step,
and through a decaying trace the steps before).

Encoding: a feature x in [0, 1] drives its input neuron to fire regularly at
``x * input_rate_hz`` (a phase oscillator with a fixed random phase per neuron; Gerstner
et al. 2014, ch. 7 on rate codes). Deterministic spike trains make the runtime and
compiled loops take the same actions for the same seed, which a Poisson encoder
(drawn from each device's own generator) would not. With ``input_total_hz`` > 0 the
rates are divisively normalised across the frame (``models.neurons.DivisiveNormalisation``),
so every game drives the hidden layer about equally.

Readouts (``AgentConfig.readout``, one class each in ``models.agent_readouts``):
``rstdp`` is the network above; ``surrogate`` replaces the R-STDP output layer by a
dueling head of LIF neurons trained by BPTT with a surrogate spike derivative on the
hidden layer's recorded spike trains (DQN on the block's transitions;
``mtspark_bio.surrogate``), the Brian2 copy of which (``mtspark_bio.surrogate_brian2``)
answers inside the network: its integrators' summed normalised membrane potentials are
what the loop reads, Q = V + A - mean(A) of their means over the step. A readout adds
its layer through :meth:`AgentNetwork.add_plastic_output` or
:meth:`AgentNetwork.add_trained_head`.

Several agents (e.g. dendritic and point) live side by side in one network, so one
compiled binary runs them all; each has its own environment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from brian2 import Hz, NeuronGroup, SpikeMonitor, linked_var, ms, nS

from mtspark_bio.models.agent_readouts import (AGENT_READOUTS, DEFAULT_AGENT_READOUT, AgentReadout,
                                              make_agent_readout)
from mtspark_bio.models.neurons import DivisiveNormalisation, regular_encoder
from mtspark_bio.models.plasticity import context_plasticity
from mtspark_bio.models.spec import NeuronSpec, SynapseSpec
from mtspark_bio.atari import N_ACTIONS
from mtspark_bio.hidden_layer import build_hidden_layer, wire_context
from mtspark_bio.network import make_neurons, make_synapses, schedule_consolidation
from mtspark_bio.sections import Sectioned

AGENT_VARIANTS = ("dendritic", "point")

@dataclass(frozen=True)
class AgentInputParams:
    """How a frame reaches the hidden layer: its features' rates and their normalisation."""

    input_rate_hz: float = 200.0
    motion: str = "change"  # the frames' motion code (mtspark_bio.atari.Preprocessor): change or on_off
    # divisive normalisation of the input rates across the frame (models.neurons.
    # DivisiveNormalisation): the population's summed rate tends to input_total_hz
    # (0: no normalisation, each active feature fires at input_rate_hz)
    input_total_hz: float = 0.0
    input_semi_saturation_hz: float = 1000.0  # about 5 active features' worth

    def problems(self) -> list[str]:
        from mtspark_bio.atari import MOTION_CODES

        problems = []
        if self.motion not in MOTION_CODES:
            problems.append(f"motion must be one of {', '.join(MOTION_CODES)} (got {self.motion!r})")
        if self.input_total_hz < 0 or self.input_semi_saturation_hz <= 0:
            problems.append("input_total_hz must be >= 0 and input_semi_saturation_hz > 0")
        return problems


@dataclass(frozen=True)
class AgentHiddenParams:
    """The hidden layer, its inhibitory pool and its gating by the game context."""

    n_hidden: int = 200
    n_inhibitory: int = 40
    p_ff: float = 0.25
    g_ff_nS: float = 0.6
    g_ff_point_nS: float = 0.6
    context_per_game: int = 10
    context_rate_hz: float = 60.0
    g_context_nS: float = 3.0
    gated_fraction: float = 0.3
    g_hidden_to_inh_nS: float = 0.5
    g_inh_to_hidden_nS: float = 0.3
    p_inhibition: float = 0.5

    def problems(self) -> list[str]:
        problems = [f"{name} must be >= 1 (got {getattr(self, name)})"
                    for name in ("n_hidden", "n_inhibitory", "context_per_game") if getattr(self, name) < 1]
        if not 0 < self.gated_fraction <= 1:
            problems.append(f"gated_fraction must be in (0, 1] (got {self.gated_fraction})")
        return problems


@dataclass(frozen=True)
class AgentRunParams:
    """How the network is simulated: the agent step, the time step and the seed of its wiring."""

    step_ms: float = 20.0  # simulated time one observation is shown
    dt_ms: float = 0.25
    seed: int = 0

    def problems(self) -> list[str]:
        if self.step_ms <= 0 or self.dt_ms <= 0 or self.step_ms / self.dt_ms != round(self.step_ms / self.dt_ms):
            return [f"step_ms ({self.step_ms}) must be a positive multiple of dt_ms ({self.dt_ms})"]
        return []


@dataclass(frozen=True)
class AgentConfig(Sectioned):
    """The agent: its sizes, then one section per concern (``input``, ``hidden``,
    ``readout`` the output layer with its learning rule and parameters, ``run``).

    Quantities are plain floats in the unit their name ends with, so the configuration
    serialises to JSON. Every field name is unique across the sections, and the
    readouts' parameters are unique to their readout, so overrides (``--agent``) may
    name any field flat, ``{"n_hidden": 300, "eta": 0.05}``; the readout itself is
    chosen by name (``--readout``) and named parameters of another readout are an error
    (:meth:`from_overrides`)."""

    n_features: int
    n_games: int
    input: AgentInputParams = dataclasses.field(default_factory=AgentInputParams)
    hidden: AgentHiddenParams = dataclasses.field(default_factory=AgentHiddenParams)
    # the output layer and how it learns (models.agent_readouts;
    # JSON: {"rule": "rstdp" | "surrogate", FIELD: VALUE, ...})
    readout: AgentReadout = dataclasses.field(default_factory=DEFAULT_AGENT_READOUT)
    run: AgentRunParams = dataclasses.field(default_factory=AgentRunParams)

    SECTIONS: ClassVar[dict[str, type]] = {"input": AgentInputParams, "hidden": AgentHiddenParams,
                                           "run": AgentRunParams}
    FLAT_RULE_CLASSES: ClassVar[tuple[type, ...]] = tuple(AGENT_READOUTS.values())
    WHAT: ClassVar[str] = "agent"

    def __post_init__(self):
        object.__setattr__(self, "readout", make_agent_readout(self.readout))  # its stored or JSON form
        self._resolve_sections()

    @classmethod
    def from_overrides(cls, readout: str | dict | None = None, **values) -> "AgentConfig":
        """A configuration from keyword values as ``--agent`` gives them: sections, or
        their fields named flat, and the parameters of the readout named by ``readout``
        (a name, or its stored form) named flat."""
        spec = {"rule": readout} if isinstance(readout, str) else dict(readout or {})
        name = spec.setdefault("rule", DEFAULT_AGENT_READOUT.rule)
        values = cls.gather_sections(values)
        own = {f.name for f in dataclasses.fields(cls)}
        for key in [k for k in values if k not in own]:
            owners = [rule.rule for rule in cls.rules_declaring(key)]
            if name in owners:
                spec[key] = values.pop(key)
            elif owners:
                raise ValueError(f"{key} is a parameter of the {' and '.join(owners)} readout, not of {name!r}: "
                                 f"choose that readout or leave {key} out")
        return cls(**values, readout=spec)

    @property
    def n_out(self) -> int:
        """Output values the loop reads per agent step: spike counts of V and the A
        populations (rstdp) or the head's integrators V, A_0 ... A_17 (surrogate)."""
        return self.readout.n_out(N_ACTIONS)

    @property
    def steps_per_agent_step(self) -> int:
        return int(round(self.run.step_ms / self.run.dt_ms))

    def surrogate_head(self):
        """The NumPy model of the surrogate dueling head (``mtspark_bio.surrogate``)."""
        from mtspark_bio.surrogate import dueling_readout

        return dueling_readout(self.hidden.n_hidden, N_ACTIONS, n_stream=self.readout.n_stream,
                               dt_ms=self.run.dt_ms)

    def validate(self):
        problems = [f"{name} must be >= 1 (got {getattr(self, name)})"
                    for name in ("n_features", "n_games") if getattr(self, name) < 1]
        problems += (self.input.problems() + self.hidden.problems() + self.readout.problems()
                     + self.run.problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self


class AgentNetwork:
    """One agent's Brian2 objects, named ``<variant>_<part>``; ``offset_out`` /
    ``offset_in`` place its output and input neurons in the bridge's message."""

    def __init__(self, config: AgentConfig, variant: str, offset_out: int = 0, offset_in: int = 0):
        if variant not in AGENT_VARIANTS:
            raise ValueError(f"unknown agent variant {variant!r}; choose from {', '.join(AGENT_VARIANTS)}")
        self.config, self.variant = config, variant
        self.offset_out, self.offset_in = offset_out, offset_in
        rng = np.random.default_rng(config.run.seed)  # same wiring for every variant and device
        self.name = lambda part: f"{variant}_{part}"  # noqa: E731
        dendritic = variant == "dendritic"
        self.step = config.run.step_ms * ms
        hidden = config.hidden

        self.inputs, normalising = self._build_inputs(self.name)
        self.inputs.phase = rng.random(config.n_features)
        layer = build_hidden_layer(
            rng, self.inputs, self.name, n_hidden=hidden.n_hidden, n_inhibitory=hidden.n_inhibitory,
            n_segments=config.n_games if dendritic else 0,
            g_ff_nS=hidden.g_ff_nS if dendritic else hidden.g_ff_point_nS, p_ff=hidden.p_ff,
            g_hidden_to_inh_nS=hidden.g_hidden_to_inh_nS, g_inh_to_hidden_nS=hidden.g_inh_to_hidden_nS,
            p_inhibition=hidden.p_inhibition)
        self.hidden, self.inhibitory, self.feedforward = layer.hidden, layer.inhibitory, layer.feedforward
        self.objects = [self.inputs, *normalising, *layer.objects]
        self.readout = config.readout
        self.readout.build(self, rng, hidden.n_hidden, N_ACTIONS)

        self.context = None
        if dendritic:
            n_context = config.n_games * hidden.context_per_game
            self.context = make_neurons(regular_encoder(), n_context, self.name("context"))
            self.context.phase = rng.random(n_context)
            spec = context_plasticity(config.n_games, hidden.g_context_nS * nS, learning="0")
            self.context_synapses = make_synapses(spec, self.context, self.hidden, self.name("context_syn"))
            wire_context(rng, self.context_synapses, hidden.n_hidden, config.n_games, config.n_games,
                         hidden.context_per_game, hidden.gated_fraction)
            self.objects += [self.context, self.context_synapses]

    # -- the builders a readout adds its output layer with (models.agent_readouts) ---------

    def add_plastic_output(self, neuron: NeuronSpec, synapses: SynapseSpec, weights: np.ndarray):
        """Output neurons, all-to-all plastic synapses from the hidden layer with the
        given initial weights, and their consolidation once per agent step."""
        self.output = make_neurons(neuron, self.config.n_out, self.name("output"))
        self.output_synapses = make_synapses(synapses, self.hidden, self.output, self.name("out_syn"))
        self.output_synapses.connect()
        self.output_synapses.w = weights
        # order 3: after the exchange (orders 0-2) has set M and tag
        schedule_consolidation(self.output_synapses, synapses, self.step, name=self.name("consolidate"), order=3)
        self.output_spikes = SpikeMonitor(self.output, name=self.name("output_spikes"))
        self.objects += [self.output, self.output_synapses, self.output_spikes]
        self._state_in = lambda state: ({} if state is None else
                                        {self.carried()[key]: np.asarray(value) for key, value in state.items()})

    def add_trained_head(self, head: AgentReadout):
        """The surrogate-trained dueling head's Brian2 copy (``mtspark_bio.surrogate_brian2``),
        its weights carried into every run, and the hidden spike trains it is trained on."""
        from mtspark_bio.surrogate_brian2 import Brian2Readout

        self.head_model = self.config.surrogate_head()
        self.head_init = self.head_model.init(self.config.run.seed, head.head_init_scale)
        self.head = Brian2Readout(self.head_model, self.hidden, self.step, name=self.name("head"), closed_loop=True)
        self.output = self.head.output
        self.hidden_spikes = SpikeMonitor(self.hidden, name=self.name("hidden_spikes"))
        self.objects += [*self.head.objects, self.hidden_spikes]
        # the head's weights always go in (the binary was built with zeros); the state is
        # the head's learner (closed_loop.SurrogateController)
        self._state_in = lambda state: self.head.inputs(self.head_init if state is None else state.params)

    def _build_inputs(self, name):
        """The frame's encoders (and their normalising pool, if any); ``observed`` is
        the variable each agent step's observation sets."""
        config = self.config
        if config.input.input_total_hz <= 0:
            self.observed = "rate"
            return make_neurons(regular_encoder(), config.n_features, name("input")), []
        norm = DivisiveNormalisation(config.input.input_total_hz * Hz, config.input.input_semi_saturation_hz * Hz)
        self.observed = "drive"
        inputs = make_neurons(norm.encoder(), config.n_features, name("input"))
        pool = make_neurons(norm.pool(), 1, name("input_pool"))
        pooling = make_synapses(norm.pooling(), inputs, pool, name("input_pooling"))
        pooling.connect()
        inputs.pooled_drive = linked_var(pool, "total", index=np.zeros(config.n_features, dtype=int))
        return inputs, [pool, pooling]

    @property
    def neuromodulated(self) -> bool:
        """True when the output layer learns from the loop's modulator (R-STDP)."""
        return self.readout.neuromodulated

    @property
    def reported(self) -> str:
        """The output layer's variable the loop reads (and clears) each agent step."""
        return self.readout.reported

    def hidden_trains(self, n_steps: int):
        """The last run's hidden spike trains, one presentation per agent step: sample k
        is the response to the observation delivered at the k-th exchange (time steps
        k N + 1 ... (k + 1) N, see ``Brian2Readout(closed_loop=True)``)."""
        from mtspark_bio.surrogate import record_spike_trains

        dt = self.config.run.dt_ms * ms
        return record_spike_trains(self.hidden_spikes, n_steps, self.config.hidden.n_hidden, dt, self.step,
                                   t_start=dt)

    @property
    def out_slice(self) -> slice:
        return slice(self.offset_out, self.offset_out + self.config.n_out)

    @property
    def in_slice(self) -> slice:
        return slice(self.offset_in, self.offset_in + self.config.n_features)

    def attach_bridge(self, functions: dict, first: bool):
        """Compiled loop: the run_regularly calls into the C++ bridge (see
        ``cpp/closed_loop_bridge.cpp``); ``first`` agent also owns the exchange call."""
        ns = dict(functions)
        self.output.namespace.update(ns)
        self.inputs.namespace.update(ns)
        self.output.run_regularly(f"{self.reported} = bridge_report(i + {self.offset_out}, {self.reported})",
                                  dt=self.step, when="end", order=0, name=f"{self.variant}_report")
        if first:
            bridge = NeuronGroup(1, "exchanges : 1", namespace=ns, name="bridge")
            bridge.run_regularly("exchanges += bridge_exchange(t/second)", dt=self.step, when="end", order=1,
                                 name="bridge_exchange")
            self.objects.append(bridge)
        if self.neuromodulated:
            self.output.run_regularly(f"M = bridge_modulator(i + {self.offset_out})\n"
                                      f"tag = bridge_tag(i + {self.offset_out})\n"
                                      f"I_ext = bridge_drive(i + {self.offset_out})*amp",
                                      dt=self.step, when="end", order=2, name=f"{self.variant}_reply")
        self.inputs.run_regularly(f"{self.observed} = bridge_observation(i + {self.offset_in})*Hz",
                                  dt=self.step, when="end", order=2, name=f"{self.variant}_observe")

    def context_rates(self, game: int) -> np.ndarray:
        """Rates of the context population while ``game`` is played (Hz)."""
        hidden = self.config.hidden
        rates = np.zeros(self.config.n_games * hidden.context_per_game)
        k = hidden.context_per_game
        rates[game * k:(game + 1) * k] = hidden.context_rate_hz
        return rates

    def carried(self) -> dict:
        """The plastic output layer's learned variables (``add_plastic_output``)."""
        return {"output_w": self.output_synapses.w}

    def read_state(self) -> dict:
        """The learned state after a run: R-STDP weights read from the network (the
        surrogate head's weights are learned outside it, ``SurrogateController``)."""
        return {key: np.array(view[:]) for key, view in self.carried().items()}

    def state_inputs(self, state: dict | None, game: int) -> dict:
        """Variables -> values for Simulation.run: carried weights and the game context."""
        inputs = self._state_in(state)
        if self.context is not None:
            inputs[self.context.rate] = self.context_rates(game) * Hz
        return inputs
