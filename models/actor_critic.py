"""A spiking dueling actor-critic: value and advantage populations, Q, and the TD error.

The agent's output layer has one **value** population V and one **advantage**
population A_a per action. Over each agent step (the simulated time one observation is
shown) their spike counts are read out as

    V(s)   = value_gain * (mean spikes per V neuron - value_baseline)
    A(s,a) = advantage_gain * mean spikes per neuron of A_a
    Q(s,a) = V(s) + A(s,a) - mean_a' A(s,a')              (dueling; Wang et al. 2016, ICML)

and actions are chosen from Q, epsilon-greedily during training. The critic's
temporal-difference error

    delta = r + gamma * V(s') - V(s)        (delta = r - V(s) when s was the last state)

is the neuromodulator of a three-factor rule (Fremaux, Sprekeler & Gerstner 2013, PLoS
Comput. Biol. 9:e1003024; Potjans, Morrison & Diesmann 2009, Neural Comput. 21:301):
it is delivered to the synapses onto V and onto the chosen action's population A_a and
nowhere else. Rewards are clipped to their sign for learning (Mnih et al. 2015); scores
are reported raw.

These functions are the readout's mathematics, shared by every device: the compiled
closed loop and the runtime loop both call them from Python once per agent step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DuelingParams:
    """Readout scales and the TD rule's constants (dimensionless, per agent step)."""

    n_value: int = 10           # neurons in V
    n_per_action: int = 5       # neurons in each A_a
    value_gain: float = 0.5     # V per (spike per V neuron)
    value_baseline: float = 1.0  # spikes per V neuron that mean V = 0
    advantage_gain: float = 0.5
    gamma: float = 0.99         # discount per agent step (Mnih et al. 2015)
    delta_clip: float = 1.0     # |delta| is bounded so a surprise cannot wipe out weights


def population_means(counts: np.ndarray, params: DuelingParams, n_actions: int):
    """Mean spikes per neuron of V and of each A_a from the output layer's counts
    (layout: V neurons first, then A_0's neurons, A_1's, ...)."""
    counts = np.asarray(counts, dtype=float)
    expected = params.n_value + n_actions * params.n_per_action
    if counts.shape != (expected,):
        raise ValueError(f"expected {expected} output counts, got shape {counts.shape}")
    value = counts[:params.n_value].mean()
    advantage = counts[params.n_value:].reshape(n_actions, params.n_per_action).mean(axis=1)
    return value, advantage


def q_values(counts: np.ndarray, params: DuelingParams, n_actions: int):
    """(V, A, Q) for one agent step: Q = V + A - mean(A)."""
    value, advantage = population_means(counts, params, n_actions)
    V = params.value_gain * (value - params.value_baseline)
    A = params.advantage_gain * advantage
    return V, A, V + A - A.mean()


def td_error(reward: float, value: float, next_value: float, terminal: bool, params: DuelingParams) -> float:
    """delta = sign(r) + gamma V(s') - V(s), or sign(r) - V(s) at the end of an
    episode; clipped to +-delta_clip."""
    target = np.sign(reward) + (0.0 if terminal else params.gamma * next_value)
    return float(np.clip(target - value, -params.delta_clip, params.delta_clip))


def greedy_action(q: np.ndarray, rng: np.random.Generator, epsilon: float) -> int:
    """Epsilon-greedy choice; ties between maximal Q values are broken at random."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q)))
    best = np.flatnonzero(q == q.max())
    return int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])


def modulator_vector(delta: float, action: int, params: DuelingParams, n_actions: int) -> np.ndarray:
    """The neuromodulator each output neuron receives: delta for V and for the chosen
    action's population, 0 for the other actions' populations."""
    m = np.zeros(params.n_value + n_actions * params.n_per_action)
    m[:params.n_value] = delta
    start = params.n_value + action * params.n_per_action
    m[start:start + params.n_per_action] = delta
    return m
