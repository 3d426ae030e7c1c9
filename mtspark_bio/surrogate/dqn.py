"""The dueling Q readout (Wang et al. 2016) and DQN on stored transitions (Mnih et al. 2015)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtspark_bio.surrogate.lif import LIFReadout
from mtspark_bio.surrogate.optimise import Adam, Optimisation
from mtspark_bio.surrogate.spikes import SpikeTrains


def dueling_readout(n_in: int, n_actions: int, n_stream: int = 32, **kwds) -> LIFReadout:
    """Dueling head: hidden spikes -> LIF value stream and LIF advantage stream
    (``n_stream`` neurons each) -> non-spiking integrators [V, A_1..A_n] (the value
    integrator listens only to the value stream, the advantage integrators only to the
    advantage stream). ``n_stream = 0``: the integrators read the hidden layer directly."""
    if n_stream == 0:
        return LIFReadout(n_in, (1 + n_actions,), output="membrane", **kwds)
    mask = np.zeros((2 * n_stream, 1 + n_actions))
    mask[:n_stream, 0] = 1.0
    mask[n_stream:, 1:] = 1.0
    return LIFReadout(n_in, (2 * n_stream, 1 + n_actions), output="membrane", masks=(None, mask), **kwds)


def dueling_q(y) -> np.ndarray:
    """Q = V + A - mean(A) from the integrators' readout y = [V, A_1..A_n]."""
    return y[:, :1] + y[:, 1:] - y[:, 1:].mean(axis=1, keepdims=True)


def _dueling_q_backward(grad_q):
    """dL/dy from dL/dQ (the transpose of :func:`dueling_q`)."""
    g_a = grad_q - grad_q.mean(axis=1, keepdims=True)
    return np.concatenate([grad_q.sum(axis=1, keepdims=True), g_a], axis=1)


def huber(x, delta: float = 1.0):
    """Huber loss of x and its derivative."""
    small = np.abs(x) <= delta
    return (np.where(small, 0.5 * x * x, delta * (np.abs(x) - 0.5 * delta)),
            np.where(small, x, delta * np.sign(x)))


@dataclass
class Transitions:
    """Stored transitions (s, a, r, s', done); states are spike trains of the hidden
    layer recorded while the network saw s and s'."""

    states: SpikeTrains
    actions: np.ndarray
    rewards: np.ndarray
    next_states: SpikeTrains
    dones: np.ndarray

    def __post_init__(self):
        self.actions = np.asarray(self.actions, dtype=np.int64)
        self.rewards = np.asarray(self.rewards, dtype=float)
        self.dones = np.asarray(self.dones, dtype=float)
        n = len(self.states)
        if not (len(self.actions) == len(self.rewards) == len(self.dones) == len(self.next_states) == n):
            raise ValueError("every part of Transitions needs one entry per transition")

    def __len__(self):
        return len(self.actions)


@dataclass
class DQNConfig(Optimisation):
    updates: int = 1000
    gamma: float = 0.99
    target_update: int = 100  # updates between copies of the online net into the target
    huber_delta: float = 1.0
    double: bool = True  # double-DQN target (van Hasselt et al. 2016), as SwitchMT


def train_dqn(model: LIFReadout, transitions: Transitions, config: DQNConfig | None = None,
              params: dict | None = None) -> tuple[dict, list[float]]:
    """DQN on stored transitions: minimise Huber(Q(s, a) - target) with
    target = r + gamma (1 - done) Q_target(s', a*), a* = argmax_a Q(s', a) (double DQN)
    or argmax_a Q_target(s', a). Returns the parameters and the loss of every update."""
    config = config or DQNConfig()
    if model.output != "membrane":
        raise ValueError("the Q readout is read from non-spiking integrators (output='membrane')")
    rng = np.random.default_rng(config.seed)
    params = model.init(config.seed, config.init_scale) if params is None else dict(params)
    target = dict(params)
    opt = Adam(config.lr)
    history = []
    for update in range(config.updates):
        if update % config.target_update == 0:
            target = {key: value.copy() for key, value in params.items()}
        idx = rng.integers(0, len(transitions), size=config.batch)
        q_next_target = dueling_q(model.forward(target, transitions.next_states.subset(idx))["y"])
        if config.double:
            best = dueling_q(model.forward(params, transitions.next_states.subset(idx))["y"]).argmax(axis=1)
        else:
            best = q_next_target.argmax(axis=1)
        rows = np.arange(len(idx))
        y_target = transitions.rewards[idx] + config.gamma * (1 - transitions.dones[idx]) * q_next_target[rows, best]
        cache = model.forward(params, transitions.states.subset(idx))
        q = dueling_q(cache["y"])
        loss, dloss = huber(q[rows, transitions.actions[idx]] - y_target, config.huber_delta)
        grad_q = np.zeros_like(q)
        grad_q[rows, transitions.actions[idx]] = dloss / len(idx)
        opt.step(params, model.backward(params, cache, _dueling_q_backward(grad_q)))
        history.append(float(loss.mean()))
    return params, history
