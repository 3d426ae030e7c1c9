"""A replay memory whose states are recorded hidden-layer presentations (Mnih et al. 2015),
with n-step returns (Sutton 1988; Hessel et al. 2018 use n = 3).

The closed loop records the hidden layer's spike trains run by run; a transition refers
to two presentations (the one its action was chosen on and the one n steps later) by
their running number, so a presentation is stored once however many transitions use it.
The oldest presentations are dropped with the oldest transitions.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from mtspark_bio.surrogate.spikes import SpikeTrains


class PresentationStore:
    """Spike trains of consecutive presentations, numbered from 0 in the order they came."""

    def __init__(self, n_steps: int, n_neurons: int):
        self.n_steps, self.n_neurons = int(n_steps), int(n_neurons)
        self.first = 0  # number of the oldest presentation kept
        self.step = np.zeros(0, dtype=np.uint16)
        self.neuron = np.zeros(0, dtype=np.uint32)
        self.offsets = np.zeros(1, dtype=np.int64)  # events of presentation first + k: offsets[k]:offsets[k + 1]

    @property
    def next(self) -> int:
        """The number the next appended presentation gets."""
        return self.first + len(self.offsets) - 1

    def append(self, trains: SpikeTrains) -> int:
        """Store ``trains``' presentations; returns the number of the first."""
        if (trains.n_steps, trains.n_neurons) != (self.n_steps, self.n_neurons):
            raise ValueError(f"presentations of {trains.n_steps} steps x {trains.n_neurons} neurons do not fit a "
                             f"store of {self.n_steps} x {self.n_neurons}")
        base = self.next
        self.step = np.concatenate([self.step, trains.step.astype(np.uint16)])
        self.neuron = np.concatenate([self.neuron, trains.neuron.astype(np.uint32)])
        counts = np.bincount(trains.sample, minlength=len(trains))
        self.offsets = np.concatenate([self.offsets, self.offsets[-1] + np.cumsum(counts)])
        return base

    def drop_before(self, number: int) -> None:
        """Forget every presentation numbered below ``number``."""
        k = min(max(0, number - self.first), len(self.offsets) - 1)
        if k:
            cut = self.offsets[k]
            self.step, self.neuron = self.step[cut:], self.neuron[cut:]
            self.offsets = self.offsets[k:] - cut
            self.first += k

    def trains(self, numbers) -> SpikeTrains:
        """The presentations ``numbers`` (in that order) as one SpikeTrains."""
        local = np.asarray(numbers, dtype=np.int64) - self.first
        if len(local) and (local.min() < 0 or local.max() >= len(self.offsets) - 1):
            raise IndexError("a presentation asked for is not (or no longer) stored")
        starts, stops = self.offsets[local], self.offsets[local + 1]
        lengths = stops - starts
        where = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        return SpikeTrains(np.repeat(np.arange(len(local)), lengths), self.step[where], self.neuron[where],
                           len(local), self.n_steps, self.n_neurons)


class SpikeReplay:
    """One game's memory of n-step transitions: the presentation the action was chosen
    on, the action, the discounted sum of the next (up to) n clipped rewards, the
    presentation after them and the discount its value gets (gamma^k after k steps; 0
    when the episode ended within them). At most ``capacity`` transitions; the oldest go."""

    def __init__(self, capacity: int, n_steps: int, n_neurons: int):
        self.capacity = int(capacity)
        self.store = PresentationStore(n_steps, n_neurons)
        self.state = np.zeros(self.capacity, dtype=np.int64)
        self.action = np.zeros(self.capacity, dtype=np.int64)
        self.ret = np.zeros(self.capacity)
        self.next_state = np.zeros(self.capacity, dtype=np.int64)
        self.discount = np.zeros(self.capacity)
        self.size, self.cursor = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, state: int, action: int, ret: float, next_state: int, discount: float) -> None:
        i = self.cursor
        self.state[i], self.action[i], self.ret[i], self.next_state[i], self.discount[i] = (
            state, action, ret, next_state, discount)
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        if self.size == self.capacity:  # presentations older than the oldest transition are not needed
            self.store.drop_before(int(self.state[self.cursor]))

    def sample(self, rng: np.random.Generator, batch: int):
        """(states, actions, returns, next states, discounts) of ``batch`` transitions
        drawn uniformly with replacement; states as SpikeTrains."""
        idx = rng.integers(0, self.size, batch)
        return (self.store.trains(self.state[idx]), self.action[idx], self.ret[idx],
                self.store.trains(self.next_state[idx]), self.discount[idx])

    # -- saved and restored with the agent's state (``--resume``) ----------------------

    ARRAYS = ("state", "action", "ret", "next_state", "discount")

    def to_arrays(self) -> dict:
        store = self.store
        return {**{name: getattr(self, name)[:self.size] for name in self.ARRAYS},
                "cursor": np.int64(self.cursor), "capacity": np.int64(self.capacity),
                "store": {"first": np.int64(store.first), "step": store.step, "neuron": store.neuron,
                          "offsets": store.offsets, "shape": np.array([store.n_steps, store.n_neurons])}}

    @classmethod
    def from_arrays(cls, arrays: dict) -> "SpikeReplay":
        stored = arrays["store"]
        replay = cls(int(arrays["capacity"]), *(int(n) for n in stored["shape"]))
        replay.size, replay.cursor = len(arrays["action"]), int(arrays["cursor"])
        for name in cls.ARRAYS:
            getattr(replay, name)[:replay.size] = arrays[name]
        store = replay.store
        store.first, store.step, store.neuron, store.offsets = (int(stored["first"]), stored["step"].astype(np.uint16),
                                                                stored["neuron"].astype(np.uint32),
                                                                stored["offsets"].astype(np.int64))
        return replay


class NStepReturns:
    """Turns one-step transitions, in the order they happened, into n-step ones.

    ``add(state, action, clipped reward, next state, terminal)``; returns the n-step
    transitions it completes: the oldest pending one once n are pending, or every
    pending one when the episode terminated (discount 0). :meth:`cut` ends the sequence
    without a terminal (the block ends, or an episode hit the frame cap): each pending
    transition is bootstrapped from the last next state it reached, with gamma^k after
    its k steps.
    """

    def __init__(self, n: int, gamma: float):
        if n < 1:
            raise ValueError(f"n-step returns need n >= 1 (got {n})")
        self.n, self.gamma = int(n), float(gamma)
        self.pending: deque = deque()  # (state, action, reward)
        self.last_next = None

    def _emit(self, terminal: bool) -> tuple:
        state, action, _ = self.pending[0]
        ret = sum(self.gamma ** k * r for k, (_, _, r) in enumerate(self.pending))
        discount = 0.0 if terminal else self.gamma ** len(self.pending)
        self.pending.popleft()
        return state, action, ret, self.last_next, discount

    def add(self, state: int, action: int, reward: float, next_state: int, terminal: bool) -> list[tuple]:
        self.pending.append((state, action, float(reward)))
        self.last_next = next_state
        if terminal:
            return [self._emit(True) for _ in range(len(self.pending))]
        return [self._emit(False)] if len(self.pending) == self.n else []

    def cut(self) -> list[tuple]:
        return [self._emit(False) for _ in range(len(self.pending))]
