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

Readouts (``AgentConfig.readout``): ``rstdp`` is the network above; ``surrogate``
replaces the R-STDP output layer by a dueling head of LIF neurons trained by BPTT with a
surrogate spike derivative on the hidden layer's recorded spike trains (DQN on the
block's transitions; ``mtspark_bio.surrogate``), the Brian2 copy of which
(``mtspark_bio.surrogate_brian2``) answers inside the network: its integrators' summed
normalised membrane potentials are what the loop reads, Q = V + A - mean(A) of their
means over the step.

Several agents (e.g. dendritic and point) live side by side in one network, so one
compiled binary runs them all; each has its own environment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from brian2 import Hz, NeuronGroup, SpikeMonitor, linked_var, ms, nS

from mtspark_bio.models.actor_critic import DuelingParams
from mtspark_bio.models.neuromodulation import MODULATOR_EQUATION
from mtspark_bio.models.neurons import DivisiveNormalisation, PointNeuron, regular_encoder
from mtspark_bio.models.plasticity import (SCALING_TOTAL, RSTDPParams, context_plasticity, delayed_credit_rstdp,
                                          synaptic_scaling)
from mtspark_bio.atari import N_ACTIONS
from mtspark_bio.hidden_layer import build_hidden_layer, wire_context
from mtspark_bio.network import make_neurons, make_synapses, schedule_consolidation

AGENT_VARIANTS = ("dendritic", "point")

@dataclass(frozen=True)
class AgentConfig:
    """Sizes, rates, strengths and learning constants (plain floats in the stated unit,
    so the configuration serialises to JSON)."""

    n_features: int
    n_games: int
    n_hidden: int = 200
    n_inhibitory: int = 40
    step_ms: float = 20.0
    dt_ms: float = 0.25
    input_rate_hz: float = 200.0
    motion: str = "change"  # the frames' motion code (mtspark_bio.atari.Preprocessor): change or on_off
    # divisive normalisation of the input rates across the frame (models.neurons.
    # DivisiveNormalisation): the population's summed rate tends to input_total_hz
    # (0: no normalisation, each active feature fires at input_rate_hz)
    input_total_hz: float = 0.0
    input_semi_saturation_hz: float = 1000.0  # about 5 active features' worth
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
    g_out_nS: float = 1.5
    w_out_init: float = 0.3
    eta: float = 0.1  # the smaller step tried did not learn Breakout in 60k frames (docs/results.md)
    tau_c_ms: float = 20.0
    a_minus: float = 0.5  # net-Hebbian window, as for the classifier's readout
    drive_pA: float = 100.0  # s.d. of the exploratory current per output neuron and step
    n_value: int = 10
    n_value_opponent: int = 0  # V- neurons (models.actor_critic); 0: V read against value_baseline
    n_per_action: int = 5
    value_gain: float = 0.5
    value_baseline: float = 1.0
    advantage_gain: float = 0.5
    gamma: float = 0.99
    delta_clip: float = 1.0
    average_reward_rate: float = 0.0  # differential TD error (models.actor_critic.AverageReward); 0: off
    # credit across agent steps: the tagged trace decays by gamma*trace_lambda per step
    # (0: one-step credit); pre_credit adds the presynaptic trace to a tagged action's
    # eligibility (models.plasticity.delayed_credit_rstdp)
    trace_lambda: float = 0.0
    pre_credit: float = 0.0
    # synaptic scaling of the output layer: each output neuron's summed incoming weight
    # is set back to this after every consolidation, so learning redistributes weight
    # between hidden cells instead of making one action's population win every state
    # (Turrigiano 2008, Cell 135:422); 0: off
    output_weight_total: float = 0.0
    # surrogate readout (readout = "surrogate"): dueling LIF head and its DQN training
    readout: str = "rstdp"
    n_stream: int = 32  # LIF neurons in each of the value and advantage streams
    # the hidden layer's sparse spikes leave every stream neuron silent (Q = 0) under
    # the usual N(0, 1/sqrt(n_in)) weights; scaled up, about half of them fire
    # (docs/results.md, "Measurements behind the defaults")
    head_init_scale: float = 10.0
    dqn_updates_per_run: int = 100  # DQN updates on the block's transitions after each run
    dqn_lr: float = 1e-3
    dqn_batch: int = 32
    dqn_target_update: int = 100
    seed: int = 0

    @property
    def dueling(self) -> DuelingParams:
        names = {f.name for f in dataclasses.fields(DuelingParams)}
        return DuelingParams(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})

    @property
    def n_rstdp_out(self) -> int:
        """Neurons of the R-STDP output layer: V (and V-) and one A population per action."""
        from mtspark_bio.models.actor_critic import n_outputs

        return n_outputs(self.dueling, N_ACTIONS)

    @property
    def n_out(self) -> int:
        """Output values the loop reads per agent step: spike counts of V and the A
        populations (rstdp) or the head's integrators V, A_0 ... A_17 (surrogate)."""
        return self.output_readout.n_out(self)

    @property
    def output_readout(self) -> "AgentReadout":
        """The readout named by ``readout`` (:data:`AGENT_READOUTS`)."""
        return AGENT_READOUTS[self.readout]()

    @property
    def steps_per_agent_step(self) -> int:
        return int(round(self.step_ms / self.dt_ms))

    def surrogate_head(self):
        """The NumPy model of the surrogate dueling head (``mtspark_bio.surrogate``)."""
        from mtspark_bio.surrogate import dueling_readout

        return dueling_readout(self.n_hidden, N_ACTIONS, n_stream=self.n_stream, dt_ms=self.dt_ms)

    def validate(self):
        problems = [f"{name} must be >= 1 (got {getattr(self, name)})"
                    for name in ("n_features", "n_games", "n_hidden", "n_inhibitory", "n_value",
                                 "n_per_action", "context_per_game")
                    if getattr(self, name) < 1]
        if self.step_ms <= 0 or self.dt_ms <= 0 or self.step_ms / self.dt_ms != round(self.step_ms / self.dt_ms):
            problems.append(f"step_ms ({self.step_ms}) must be a positive multiple of dt_ms ({self.dt_ms})")
        if not 0 < self.gated_fraction <= 1:
            problems.append(f"gated_fraction must be in (0, 1] (got {self.gated_fraction})")
        if not 0 <= self.gamma <= 1:
            problems.append(f"gamma must be in [0, 1] (got {self.gamma})")
        from mtspark_bio.atari import MOTION_CODES

        if self.motion not in MOTION_CODES:
            problems.append(f"motion must be one of {', '.join(MOTION_CODES)} (got {self.motion!r})")
        if self.input_total_hz < 0 or self.input_semi_saturation_hz <= 0:
            problems.append("input_total_hz must be >= 0 and input_semi_saturation_hz > 0")
        if not 0 <= self.trace_lambda <= 1:
            problems.append(f"trace_lambda must be in [0, 1] (got {self.trace_lambda})")
        if self.n_value_opponent < 0 or self.pre_credit < 0 or self.output_weight_total < 0:
            problems.append("n_value_opponent, pre_credit and output_weight_total must be >= 0")
        if self.readout not in AGENT_READOUTS:
            problems.append(f"readout must be one of {', '.join(AGENT_READOUTS)} (got {self.readout!r})")
        if self.n_stream < 0 or self.dqn_updates_per_run < 0 or self.dqn_batch < 1 or self.dqn_target_update < 1:
            problems.append("n_stream and dqn_updates_per_run must be >= 0, dqn_batch and dqn_target_update >= 1")
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
        rng = np.random.default_rng(config.seed)  # same wiring for every variant and device
        name = lambda part: f"{variant}_{part}"  # noqa: E731
        dendritic = variant == "dendritic"
        self.step = config.step_ms * ms

        self.inputs, normalising = self._build_inputs(name)
        self.inputs.phase = rng.random(config.n_features)
        layer = build_hidden_layer(
            rng, self.inputs, name, n_hidden=config.n_hidden, n_inhibitory=config.n_inhibitory,
            n_segments=config.n_games if dendritic else 0,
            g_ff_nS=config.g_ff_nS if dendritic else config.g_ff_point_nS, p_ff=config.p_ff,
            g_hidden_to_inh_nS=config.g_hidden_to_inh_nS, g_inh_to_hidden_nS=config.g_inh_to_hidden_nS,
            p_inhibition=config.p_inhibition)
        self.hidden, self.inhibitory, self.feedforward = layer.hidden, layer.inhibitory, layer.feedforward
        self.objects = [self.inputs, *normalising, *layer.objects]
        self.readout = config.output_readout
        self.readout.build(self, rng, name)

        self.context = None
        if dendritic:
            n_context = config.n_games * config.context_per_game
            self.context = make_neurons(regular_encoder(), n_context, name("context"))
            self.context.phase = rng.random(n_context)
            spec = context_plasticity(config.n_games, config.g_context_nS * nS, learning="0")
            self.context_synapses = make_synapses(spec, self.context, self.hidden, name("context_syn"))
            wire_context(rng, self.context_synapses, config.n_hidden, config.n_games, config.n_games,
                         config.context_per_game, config.gated_fraction)
            self.objects += [self.context, self.context_synapses]

    def _build_inputs(self, name):
        """The frame's encoders (and their normalising pool, if any); ``observed`` is
        the variable each agent step's observation sets."""
        config = self.config
        if config.input_total_hz <= 0:
            self.observed = "rate"
            return make_neurons(regular_encoder(), config.n_features, name("input")), []
        norm = DivisiveNormalisation(config.input_total_hz * Hz, config.input_semi_saturation_hz * Hz)
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

        dt = self.config.dt_ms * ms
        return record_spike_trains(self.hidden_spikes, n_steps, self.config.n_hidden, dt, self.step, t_start=dt)

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
        rates = np.zeros(self.config.n_games * self.config.context_per_game)
        k = self.config.context_per_game
        rates[game * k:(game + 1) * k] = self.config.context_rate_hz
        return rates

    def carried(self) -> dict:
        return {"output_w": self.output_synapses.w}

    def read_state(self) -> dict:
        """The learned state after a run: R-STDP weights read from the network (the
        surrogate head's weights are learned outside it, ``SurrogateController``)."""
        return {key: np.array(view[:]) for key, view in self.carried().items()}

    def state_inputs(self, state: dict | None, game: int) -> dict:
        """Variables -> values for Simulation.run: carried weights and the game context."""
        inputs = self.readout.state_inputs(self, state)
        if self.context is not None:
            inputs[self.context.rate] = self.context_rates(game) * Hz
        return inputs



class AgentReadout:
    """An agent's output layer and how it learns; the agent, the loop and the
    controllers ask it instead of comparing readout names."""

    name: str
    #: the output neurons take the loop's modulator, tag and exploratory drive
    neuromodulated: bool
    #: the output variable the loop reads (and clears) each agent step
    reported: str

    def n_out(self, config: AgentConfig) -> int:
        raise NotImplementedError

    def build(self, agent: "AgentNetwork", rng, name) -> None:
        """Add the output layer's Brian2 objects to ``agent`` (``agent.output`` at least)."""
        raise NotImplementedError

    def state_inputs(self, agent: "AgentNetwork", state: dict | None) -> dict:
        """Variables -> values that carry the learned state into a run."""
        raise NotImplementedError

    def controller(self) -> type:
        """The closed loop's controller class (``mtspark_bio.closed_loop.controllers``)."""
        raise NotImplementedError


def _output_weights(config: AgentConfig, rng) -> np.ndarray:
    return rng.random(config.n_hidden * config.n_rstdp_out) * config.w_out_init


class RSTDPOutput(AgentReadout):
    """V and A populations of point neurons learning by delayed-credit R-STDP from the
    TD error (``models.actor_critic``, ``models.plasticity.delayed_credit_rstdp``)."""

    name, neuromodulated, reported = "rstdp", True, "count"

    def n_out(self, config):
        return config.n_rstdp_out

    def build(self, agent, rng, name):
        config = agent.config
        out_spec = PointNeuron().spec()
        scaled = config.output_weight_total > 0
        out_spec = dataclasses.replace(out_spec, equations=out_spec.equations + MODULATOR_EQUATION
                                       + ("w_total : 1\n" if scaled else ""))
        agent.output = make_neurons(out_spec, config.n_out, name("output"))
        rule = delayed_credit_rstdp("g_exc", config.g_out_nS * nS,
                                    RSTDPParams(tau_c=config.tau_c_ms * ms, eta=config.eta, A_minus=config.a_minus),
                                    trace_decay=config.gamma * config.trace_lambda, pre_credit=config.pre_credit)
        if scaled:  # after each consolidation, each output neuron's incoming weights are rescaled
            rule = dataclasses.replace(rule, model=rule.model + SCALING_TOTAL,
                                       after_consolidation=synaptic_scaling(config.output_weight_total),
                                       summed_after_consolidation=("w_total_post",))
        agent.output_synapses = make_synapses(rule, agent.hidden, agent.output, name("out_syn"))
        agent.output_synapses.connect()
        agent.output_synapses.w = _output_weights(config, rng)
        # order 3: after the exchange (orders 0-2) has set M and tag
        schedule_consolidation(agent.output_synapses, rule, agent.step, name=name("consolidate"), order=3)
        agent.output_spikes = SpikeMonitor(agent.output, name=name("output_spikes"))
        agent.objects += [agent.output, agent.output_synapses, agent.output_spikes]

    def state_inputs(self, agent, state):
        if state is None:
            return {}
        views = agent.carried()
        return {views[key]: np.asarray(value) for key, value in state.items()}

    def controller(self):
        from mtspark_bio.closed_loop.controllers import AgentController

        return AgentController


class SurrogateHead(AgentReadout):
    """A dueling head of LIF neurons trained outside the network by DQN with surrogate
    gradients (``mtspark_bio.surrogate``); its Brian2 copy answers inside the network:
    the integrators' summed normalised membrane potentials V, A_0 ... A_17."""

    name, neuromodulated, reported = "surrogate", False, "summed_membrane"

    def n_out(self, config):
        return 1 + N_ACTIONS

    def build(self, agent, rng, name):
        from mtspark_bio.surrogate_brian2 import Brian2Readout

        config = agent.config
        # drawn and dropped: the context wiring then uses the same random numbers as the
        # R-STDP agent's, so both readouts sit on the same hidden network
        _output_weights(config, rng)
        agent.head_model = config.surrogate_head()
        agent.head_init = agent.head_model.init(config.seed, config.head_init_scale)
        agent.head = Brian2Readout(agent.head_model, agent.hidden, agent.step, name=name("head"), closed_loop=True)
        agent.output = agent.head.output
        # the states the head is trained on: hidden spike trains per agent step
        agent.hidden_spikes = SpikeMonitor(agent.hidden, name=name("hidden_spikes"))
        agent.objects += [*agent.head.objects, agent.hidden_spikes]

    def state_inputs(self, agent, state):
        # the head's weights always go in: the binary was built with zeros
        return agent.head.inputs(agent.head_init if state is None else state)

    def controller(self):
        from mtspark_bio.closed_loop.controllers import SurrogateController

        return SurrogateController


#: every agent readout by name (``AgentConfig.readout``, ``--readout``)
AGENT_READOUTS: dict[str, type[AgentReadout]] = {cls.name: cls for cls in (RSTDPOutput, SurrogateHead)}
#: the readout names, in the order the command line lists them
READOUTS = tuple(AGENT_READOUTS)
