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


def dqn_step(model: LIFReadout, params: dict, target: dict, opt: Adam, states: SpikeTrains, actions, returns,
             next_states: SpikeTrains, discounts, huber_delta: float = 1.0, double: bool = True) -> float:
    """One DQN update of ``params`` in place: minimise Huber(Q(s, a) - y) with
    y = return + discount Q_target(s', a*), a* = argmax_a Q(s', a) (double DQN) or
    argmax_a Q_target(s', a). ``discount`` is gamma^n for an n-step return, 0 after a
    terminal. Returns the batch's mean loss."""
    q_next_target = dueling_q(model.forward(target, next_states)["y"])
    best = (dueling_q(model.forward(params, next_states)["y"]).argmax(axis=1) if double
            else q_next_target.argmax(axis=1))
    rows = np.arange(len(actions))
    y_target = returns + discounts * q_next_target[rows, best]
    cache = model.forward(params, states)
    q = dueling_q(cache["y"])
    loss, dloss = huber(q[rows, actions] - y_target, huber_delta)
    grad_q = np.zeros_like(q)
    grad_q[rows, actions] = dloss / len(rows)
    opt.step(params, model.backward(params, cache, _dueling_q_backward(grad_q)))
    return float(loss.mean())


def train_dqn(model: LIFReadout, transitions: Transitions, config: DQNConfig | None = None,
              params: dict | None = None) -> tuple[dict, list[float]]:
    """DQN on stored one-step transitions (:func:`dqn_step`, discount gamma (1 - done)),
    starting from ``params`` (or fresh weights) with a fresh target and Adam. Returns the
    parameters and the loss of every update."""
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
        history.append(dqn_step(model, params, target, opt, transitions.states.subset(idx), transitions.actions[idx],
                                transitions.rewards[idx], transitions.next_states.subset(idx),
                                config.gamma * (1 - transitions.dones[idx]), config.huber_delta, config.double))
    return params, history


class DQNLearner:
    """The dueling head's learner as a standard DQN keeps it (Mnih et al. 2015; Hessel
    et al. 2018): online weights, a target copy refreshed every ``target_update``
    updates, Adam's moments and one replay memory per game, all kept across runs and
    blocks. :meth:`update` draws a mini-batch of one game's n-step transitions."""

    def __init__(self, model: LIFReadout, params: dict, lr: float, target_update: int, huber_delta: float = 1.0,
                 double: bool = True):
        if model.output != "membrane":
            raise ValueError("the Q readout is read from non-spiking integrators (output='membrane')")
        self.model, self.params = model, {k: np.array(v, dtype=float) for k, v in params.items()}
        self.target = {k: v.copy() for k, v in self.params.items()}
        self.opt = Adam(lr)
        self.target_update, self.huber_delta, self.double = int(target_update), huber_delta, double
        self.updates = 0
        self.replays: dict = {}  # game -> SpikeReplay

    def update(self, game: str, rng: np.random.Generator, batch: int) -> float:
        loss = dqn_step(self.model, self.params, self.target, self.opt, *self.replays[game].sample(rng, batch),
                        huber_delta=self.huber_delta, double=self.double)
        self.updates += 1
        if self.updates % self.target_update == 0:
            self.target = {k: v.copy() for k, v in self.params.items()}
        return loss

    # -- the agent's saved state (``--resume``) ------------------------------------------

    def to_arrays(self) -> dict:
        return {"head": self.params, "target": self.target, "updates": np.int64(self.updates),
                "adam": {"m": self.opt.m, "v": self.opt.v, "t": np.int64(self.opt.t)},
                "replay": {game: replay.to_arrays() for game, replay in self.replays.items()}}

    @classmethod
    def from_arrays(cls, arrays: dict, model: LIFReadout, lr: float, target_update: int, **kwds) -> "DQNLearner":
        from mtspark_bio.surrogate.replay import SpikeReplay

        learner = cls(model, arrays["head"], lr, target_update, **kwds)
        learner.target = {k: np.array(v, dtype=float) for k, v in arrays["target"].items()}
        learner.updates = int(arrays["updates"])
        adam = arrays["adam"]
        learner.opt.m, learner.opt.v, learner.opt.t = dict(adam.get("m", {})), dict(adam.get("v", {})), int(adam["t"])
        learner.replays = {game: SpikeReplay.from_arrays(r) for game, r in arrays.get("replay", {}).items()}
        return learner
