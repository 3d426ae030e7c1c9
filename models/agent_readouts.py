"""Output layers of the Atari agent and how they learn: the hidden -> output pathway, one class each.

A readout is its parameters (a frozen dataclass, stored in every result file as
``{"rule": NAME, FIELD: VALUE, ...}``) plus what the agent (``mtspark_bio.agent``) and
the closed loop ask of it: how many values the loop reads per agent step, which output
variable it reads, whether the output neurons take the loop's modulator, and the
Brian2 objects it adds. It adds them through the agent's two builders, so this file
needs nothing from the engine:

* ``agent.add_plastic_output(neuron, synapses, weights)``: output neurons (a
  :class:`NeuronSpec`), all-to-all synapses from the hidden layer (a
  :class:`SynapseSpec` whose consolidation runs once per agent step, after the loop's
  reply) and their initial weights;
* ``agent.add_trained_head(head)``: a dueling head of LIF neurons whose weights are
  trained outside the network (``mtspark_bio.surrogate``) and carried into every run.

Adding a readout: write a class here with a unique ``rule`` name and register it in
:data:`AGENT_READOUTS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from brian2 import ms, nS

from mtspark_bio.models.actor_critic import DuelingParams, n_outputs
from mtspark_bio.models.neuromodulation import MODULATOR_EQUATION
from mtspark_bio.models.neurons import PointNeuron
from mtspark_bio.models.plasticity import SCALING_TOTAL, RSTDPParams, delayed_credit_rstdp, synaptic_scaling
from mtspark_bio.models.spec import NeuronSpec, SynapseSpec, rule_from


@dataclass(frozen=True)
class AgentReadout:
    """What every agent readout provides. Every readout also has the field ``rule``
    (its name) and ``gamma``, the discount per agent step of its TD target."""

    rule: ClassVar[str]
    #: the output neurons take the loop's modulator, tag and exploratory drive each step
    neuromodulated: ClassVar[bool]
    #: the output variable the loop reads (and clears) each agent step
    reported: ClassVar[str]

    def n_out(self, n_actions: int) -> int:
        """Values the loop reads per agent step."""
        raise NotImplementedError

    def build(self, agent, rng: np.random.Generator, n_hidden: int, n_actions: int) -> None:
        """Add the output layer to ``agent`` through its builders (module docstring)."""
        raise NotImplementedError

    def problems(self) -> list[str]:
        """What is wrong with the parameters (empty if nothing)."""
        return []


@dataclass(frozen=True)
class RSTDPActorCritic(DuelingParams, AgentReadout):
    """A spiking dueling actor-critic (``models.actor_critic``: V and one A population
    per action, read as Q = V + A - mean(A)) whose hidden -> output synapses learn by
    delayed-credit R-STDP (``models.plasticity.delayed_credit_rstdp``) from the TD
    error, broadcast as the neuromodulator M and marked per population by the step's tag.

    Output neurons are conductance-based point neurons (``models.neurons.PointNeuron``);
    each also takes an exploratory current of s.d. ``drive_pA``, drawn anew every step.
    The fields of :class:`~mtspark_bio.models.actor_critic.DuelingParams` (population
    sizes, readout gains, ``gamma``, ``delta_clip``, ``average_reward_rate``) come first."""

    rule: str = field(default="rstdp", init=False)
    neuromodulated: ClassVar[bool] = True
    reported: ClassVar[str] = "count"

    g_out_nS: float = 1.5  # peak conductance of a weight-1 hidden -> output synapse
    w_out_init: float = 0.3  # initial weights uniform in [0, w_out_init]
    eta: float = 0.1  # the R-STDP step (docs/results.md, "Measurements behind the defaults")
    tau_c_ms: float = 20.0  # eligibility trace
    a_minus: float = 0.5  # net-Hebbian window, as for the classifier's R-STDP readout
    drive_pA: float = 100.0  # s.d. of the exploratory current per output neuron and step
    # credit across agent steps: the tagged trace decays by gamma*trace_lambda per step
    # (0: one-step credit); pre_credit adds the presynaptic trace to a tagged action's
    # eligibility (models.plasticity.delayed_credit_rstdp)
    trace_lambda: float = 0.0
    pre_credit: float = 0.0
    # synaptic scaling: each output neuron's summed incoming weight is set back to this
    # after every consolidation, so learning redistributes weight between hidden cells
    # instead of making one action's population win every state (Turrigiano 2008,
    # Cell 135:422); 0: off
    output_weight_total: float = 0.0

    @property
    def dueling(self) -> DuelingParams:
        """The readout's mathematics' parameters alone (``models.actor_critic``)."""
        names = {f.name for f in dataclasses.fields(DuelingParams)}
        return DuelingParams(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in names})

    def n_out(self, n_actions):
        return n_outputs(self, n_actions)

    def output_neuron(self) -> NeuronSpec:
        spec = PointNeuron().spec()
        scaled = "w_total : 1\n" if self.output_weight_total > 0 else ""
        return dataclasses.replace(spec, equations=spec.equations + MODULATOR_EQUATION + scaled)

    def synapses(self) -> SynapseSpec:
        rule = delayed_credit_rstdp("g_exc", self.g_out_nS * nS,
                                    RSTDPParams(tau_c=self.tau_c_ms * ms, eta=self.eta, A_minus=self.a_minus),
                                    trace_decay=self.gamma * self.trace_lambda, pre_credit=self.pre_credit)
        if self.output_weight_total <= 0:
            return rule
        # after each consolidation, each output neuron's incoming weights are rescaled
        return dataclasses.replace(rule, model=rule.model + SCALING_TOTAL,
                                   after_consolidation=synaptic_scaling(self.output_weight_total),
                                   summed_after_consolidation=("w_total_post",))

    def initial_weights(self, rng: np.random.Generator, n_hidden: int, n_actions: int) -> np.ndarray:
        return rng.random(n_hidden * self.n_out(n_actions)) * self.w_out_init

    def build(self, agent, rng, n_hidden, n_actions):
        agent.add_plastic_output(self.output_neuron(), self.synapses(), self.initial_weights(rng, n_hidden, n_actions))

    def problems(self):
        problems = [f"{name} must be >= 1 (got {getattr(self, name)})"
                    for name in ("n_value", "n_per_action") if getattr(self, name) < 1]
        if not 0 <= self.gamma <= 1:
            problems.append(f"gamma must be in [0, 1] (got {self.gamma})")
        if not 0 <= self.trace_lambda <= 1:
            problems.append(f"trace_lambda must be in [0, 1] (got {self.trace_lambda})")
        if self.n_value_opponent < 0 or self.pre_credit < 0 or self.output_weight_total < 0:
            problems.append("n_value_opponent, pre_credit and output_weight_total must be >= 0")
        return problems


@dataclass(frozen=True)
class SurrogateDuelingHead(AgentReadout):
    """MTSpark's readout: a dueling head of LIF neurons (``n_stream`` per value and
    advantage stream, then non-spiking integrators V, A_0 ... A_17; ``models.readout``)
    trained outside the network by DQN with a surrogate spike derivative on the hidden
    layer's recorded spike trains (``mtspark_bio.surrogate``). Inside the network it
    only answers: the loop reads the integrators' normalised membrane potentials summed
    over the step. It takes no modulator and no exploratory drive."""

    rule: str = field(default="surrogate", init=False)
    neuromodulated: ClassVar[bool] = False
    reported: ClassVar[str] = "summed_membrane"

    n_stream: int = 32  # LIF neurons in each of the value and advantage streams
    # the hidden layer's sparse spikes leave every stream neuron silent (Q = 0) under
    # the usual N(0, 1/sqrt(n_in)) initial weights; scaled up, part of them fire
    # (docs/results.md, "Measurements behind the defaults")
    head_init_scale: float = 10.0
    gamma: float = 0.99  # discount per agent step of the DQN target
    # DQN as Mnih et al. 2015 / Hessel et al. 2018 set it up (the values of the
    # feature DQN peer, benchmarks/dqn_features.py): one update of dqn_batch transitions
    # every dqn_update_every agent steps once the game's memory holds learn_start, Adam
    # (its moments kept), a target copy every dqn_target_update updates, n-step returns
    dqn_update_every: int = 4  # agent steps per DQN update (0: the head does not learn)
    dqn_lr: float = 1e-4
    dqn_batch: int = 32
    dqn_target_update: int = 2000  # updates between copies of the online head into the target
    n_step: int = 3  # steps summed in each return before bootstrapping
    replay_capacity: int = 100_000  # transitions per game
    learn_start: int = 5000  # transitions in the game's memory before the first update
    # "game": one memory per game, kept across blocks; "block": emptied at each block's
    # start, so the head learns from its current block only (the readout before issue 29)
    replay: str = "game"

    def n_out(self, n_actions):
        return 1 + n_actions

    def build(self, agent, rng, n_hidden, n_actions):
        # drawn and dropped: the context wiring then uses the same random numbers as the
        # R-STDP agent's (default sizes), so both readouts sit on the same hidden network
        RSTDPActorCritic().initial_weights(rng, n_hidden, n_actions)
        agent.add_trained_head(self)

    def problems(self):
        problems = []
        if self.n_stream < 0 or self.dqn_update_every < 0 or self.learn_start < 0:
            problems.append("n_stream, dqn_update_every and learn_start must be >= 0")
        if min(self.dqn_batch, self.dqn_target_update, self.n_step, self.replay_capacity) < 1:
            problems.append("dqn_batch, dqn_target_update, n_step and replay_capacity must be >= 1")
        if self.replay not in ("game", "block"):
            problems.append(f"replay must be 'game' or 'block' (got {self.replay!r})")
        if not 0 <= self.gamma <= 1:
            problems.append(f"gamma must be in [0, 1] (got {self.gamma})")
        return problems


#: every agent readout by name (``AgentConfig.readout``, ``--readout``)
AGENT_READOUTS: dict[str, type[AgentReadout]] = {cls.rule: cls for cls in (RSTDPActorCritic, SurrogateDuelingHead)}
#: the readout an agent has unless told otherwise
DEFAULT_AGENT_READOUT = RSTDPActorCritic


def make_agent_readout(spec: AgentReadout | dict | str | None) -> AgentReadout:
    """A readout from its stored or JSON form, a name, or a readout (as it is)."""
    return rule_from(spec, AGENT_READOUTS, DEFAULT_AGENT_READOUT.rule, "agent readout")
