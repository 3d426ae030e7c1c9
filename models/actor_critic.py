"""A spiking dueling actor-critic: value and advantage populations, Q, and the TD error.

The agent's output layer has one **value** population V and one **advantage**
population A_a per action. Over each agent step (the simulated time one observation is
shown) their spike counts are read out as::

    V(s)   = value_gain * (mean spikes per V neuron - value_baseline)
           = value_gain * (mean spikes per V+ neuron - mean spikes per V- neuron)
                                            (opponent code, ``n_value_opponent`` > 0)
    A(s,a) = advantage_gain * mean spikes per neuron of A_a
    Q(s,a) = V(s) + A(s,a) - mean_a' A(s,a')              (dueling; Wang et al. 2016, ICML)

and actions are chosen from Q, epsilon-greedily during training. The critic's
temporal-difference error::

    delta = r + gamma * V(s') - V(s)        (delta = r - V(s) when s was the last state)

is the neuromodulator of a three-factor rule (Fremaux, Sprekeler & Gerstner 2013, PLoS
Comput. Biol. 9:e1003024; Potjans, Morrison & Diesmann 2009, Neural Comput. 21:301).
It is broadcast, like dopamine, to every output neuron; what it changes is decided by
a **tag** each output neuron receives with the step's action (``action_tag``): +1
for V, +1 for the chosen action's population A_a, 0 for the other actions' populations
(their eligibility is not marked), and -1 for the opponent value population V-, which
therefore learns with -delta and grows when V must fall. Marked eligibility is kept in
a trace that decays by gamma*lambda per step (``models.plasticity.delayed_credit_rstdp``),
so a TD error reaches the steps and the actions that led to it (TD(lambda) actor-critic,
Sutton & Barto 2018, ch. 13.5). Rewards are clipped to their sign for learning (Mnih et
al. 2015); scores are reported raw.

Why an opponent value population: a V read against a baseline cannot fall below
-value_gain * value_baseline (a silent population), so once a lost point has pushed V
to that floor every later loss is a fixed surprise and the critic stops tracking the
state (issue 17). V+ and V- read as a difference are signed without a floor (opponent
channels: Daw, Kakade & Dayan 2002, Neural Netw. 15:603; the direct and indirect
pathways of Collins & Frank 2014, Psychol. Rev. 121:337).

These functions are the readout's mathematics, shared by every device: the compiled
closed loop and the runtime loop both call them from Python once per agent step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DuelingParams:
    """Readout scales and the TD rule's constants (dimensionless, per agent step)."""

    n_value: int = 10           # neurons in V (V+ with an opponent population)
    n_value_opponent: int = 0   # neurons in V- (0: no opponent; V is read against value_baseline)
    n_per_action: int = 5       # neurons in each A_a
    value_gain: float = 0.5     # V per (spike per V neuron)
    value_baseline: float = 1.0  # spikes per V neuron that mean V = 0 (unused with V-)
    advantage_gain: float = 0.5
    gamma: float = 0.99         # discount per agent step (Mnih et al. 2015)
    delta_clip: float = 1.0     # |delta| is bounded so a surprise cannot wipe out weights
    average_reward_rate: float = 0.0  # learning rate of the reward rate (AverageReward); 0: off


def n_outputs(params: DuelingParams, n_actions: int) -> int:
    """Output neurons: V (then V-), then A_0's neurons, A_1's, ..."""
    return params.n_value + params.n_value_opponent + n_actions * params.n_per_action


def population_means(counts: np.ndarray, params: DuelingParams, n_actions: int):
    """Mean spikes per neuron of V (minus that of V- when there is an opponent
    population) and of each A_a, from the output layer's counts (layout: V neurons
    first, then V-, then A_0's neurons, A_1's, ...)."""
    counts = np.asarray(counts, dtype=float)
    expected = n_outputs(params, n_actions)
    if counts.shape != (expected,):
        raise ValueError(f"expected {expected} output counts, got shape {counts.shape}")
    n_v, n_opp = params.n_value, params.n_value_opponent
    value = counts[:n_v].mean() - (counts[n_v:n_v + n_opp].mean() if n_opp else 0.0)
    advantage = counts[n_v + n_opp:].reshape(n_actions, params.n_per_action).mean(axis=1)
    return value, advantage


def q_values(counts: np.ndarray, params: DuelingParams, n_actions: int):
    """(V, A, Q) for one agent step: Q = V + A - mean(A)."""
    value, advantage = population_means(counts, params, n_actions)
    # the opponent population is V's baseline: a difference needs no other
    V = params.value_gain * (value - (0.0 if params.n_value_opponent else params.value_baseline))
    A = params.advantage_gain * advantage
    return V, A, V + A - A.mean()


def td_error(reward: float, value: float, next_value: float, terminal: bool, params: DuelingParams,
             average_reward: float = 0.0) -> float:
    """delta = sign(r) - average_reward + gamma V(s') - V(s), or without the gamma V(s')
    term at the end of an episode; clipped to +-delta_clip."""
    target = np.sign(reward) - average_reward + (0.0 if terminal else params.gamma * next_value)
    return float(np.clip(target - value, -params.delta_clip, params.delta_clip))


class AverageReward:
    """The reward rate R, learned from the TD error (R += rate * delta), that the
    differential TD error subtracts from every reward (Sutton & Barto 2018, ch. 10.3 and
    13.6, actor-critic for continuing tasks). In Pong nearly every point is lost at
    first: the reward rate is negative, a discounted critic with V >= its clipped range
    under-predicts the losses, and the TD error is negative on average, so every action
    the actor takes is depressed until the output layer falls silent (measured, issue
    17). Subtracting the rate makes the TD error zero on average and leaves only how
    much better or worse a step went than usual. Tonic dopamine is proposed to carry
    this average (Niv, Daw, Joel & Dayan 2007, Psychopharmacology 191:507). ``rate`` 0
    keeps R = 0 (plain discounted TD)."""

    def __init__(self, rate: float, value: float = 0.0):
        self.rate, self.value = float(rate), float(value)

    def update(self, delta: float) -> float:
        self.value += self.rate * delta
        return self.value


def greedy_action(q: np.ndarray, rng: np.random.Generator, epsilon: float) -> int:
    """Epsilon-greedy choice; ties between maximal Q values are broken at random."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q)))
    best = np.flatnonzero(q == q.max())
    return int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])


def action_tag(action: int | None, params: DuelingParams, n_actions: int) -> np.ndarray:
    """The tag each output neuron receives with the step's action: +1 for V, -1 for V-,
    +1 for the chosen action's population, 0 elsewhere (all 0 but V's when no action
    was taken)."""
    tag = np.zeros(n_outputs(params, n_actions))
    tag[:params.n_value] = 1.0
    tag[params.n_value:params.n_value + params.n_value_opponent] = -1.0
    if action is not None:
        start = params.n_value + params.n_value_opponent + action * params.n_per_action
        tag[start:start + params.n_per_action] = 1.0
    return tag


def broadcast(delta: float, params: DuelingParams, n_actions: int) -> np.ndarray:
    """The neuromodulator: the same TD error for every output neuron."""
    return np.full(n_outputs(params, n_actions), float(delta))
