"""Surrogate-gradient training of an LIF readout on recorded hidden-layer spike trains.

The biologically plausible default of mtspark-bio trains its readout by reward-modulated
STDP inside the simulator. This module is the optional alternative of MTSpark (Devkota,
Putra & Shafique 2024): a readout of leaky integrate-and-fire neurons trained with
backpropagation through time (BPTT) and a surrogate derivative of the spike function
(Neftci, Mostafa & Zenke 2019, IEEE Signal Process. Mag. 36(6):51; Zenke & Vogels 2021,
Neural Comput. 33:899), in NumPy.

The NumPy model is the discrete map of the Brian2 readout (``models.readout``), with
Brian2's order of operations inside a time step, so weights trained here and loaded
into the Brian2 synapses (``mtspark_bio.surrogate_brian2``) give the same spikes there.

Pieces
------
* :class:`SpikeTrains` — recorded spike trains, sparse, (samples, steps, neurons); built
  from a Brian2 SpikeMonitor and the presentation timing (:func:`record_spike_trains`).
* :class:`LIFReadout` — layers of LIF neurons (optional spiking hidden layers, then the
  output layer: spiking, read as spike counts, or non-spiking leaky integrators, read as
  mean membrane potential), forward pass and BPTT.
* Surrogates: ``fast_sigmoid`` (SuperSpike, Zenke & Ganguli 2018, Neural Comput.
  30:1514) and ``arctan`` (Fang et al. 2021, ICCV), slope a parameter. Both are the
  derivatives of sigmoids rising from 0 to 1, so the smooth model that uses the sigmoid
  in place of the step has exactly the gradient BPTT computes (the gradient check).
* Reset: the gradient through the reset is cut by default (``detach_reset``), as Zenke &
  Vogels 2021 recommend; it can be kept.
* Classification (:func:`train_classifier`): softmax cross-entropy on the output spike
  counts. Counts, not membrane potentials, because the decision in the simulator is then
  the circuit's own rule — the class whose readout neuron fires most
  (``mtspark_bio.circuit.predictions``) — the rule the R-STDP readout is scored by, so
  the two readouts are compared on the same decision, and the Brian2 evaluation reads a
  quantity the spiking network produces (spikes) rather than a membrane trace.
* Dueling Q readout (:func:`dueling_readout`, :func:`train_dqn`): two streams of LIF
  neurons (value, advantage) feed non-spiking integrators, one for V and one per action
  for A; Q = V + A - mean(A) (Wang et al. 2016, ICML) from the integrators' mean membrane
  potential over the presentation; DQN on stored transitions (Mnih et al. 2015, Nature
  518:529): Huber loss, target network, discount gamma, double-DQN target optional (van
  Hasselt et al. 2016), Adam (Kingma & Ba 2015).
* :func:`gradient_check` — BPTT against central finite differences of the smooth model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from mtspark_bio.models.readout import Coefficients, ReadoutParams

# ---------------------------------------------------------------------------------------
# recorded spike trains


class SpikeTrains:
    """Spike trains of ``n_neurons`` over ``n_samples`` presentations of ``n_steps`` time
    steps each, stored as events (sample, step, neuron) sorted by sample."""

    def __init__(self, sample, step, neuron, n_samples: int, n_steps: int, n_neurons: int):
        sample, step, neuron = (np.asarray(a, dtype=np.int64).ravel() for a in (sample, step, neuron))
        if not (len(sample) == len(step) == len(neuron)):
            raise ValueError("sample, step and neuron must have the same length")
        for name, a, n in (("sample", sample, n_samples), ("step", step, n_steps), ("neuron", neuron, n_neurons)):
            if len(a) and (a.min() < 0 or a.max() >= n):
                raise ValueError(f"{name} index out of range [0, {n})")
        order = np.lexsort((neuron, step, sample))
        self.sample, self.step, self.neuron = sample[order], step[order], neuron[order]
        self.n_samples, self.n_steps, self.n_neurons = int(n_samples), int(n_steps), int(n_neurons)
        self._offsets = np.searchsorted(self.sample, np.arange(self.n_samples + 1))

    def __len__(self) -> int:
        return self.n_samples

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.n_samples, self.n_steps, self.n_neurons

    @classmethod
    def from_dense(cls, spikes) -> "SpikeTrains":
        """From a (samples, steps, neurons) array of spike counts (0/1)."""
        spikes = np.asarray(spikes)
        s, n, j = np.nonzero(spikes)
        counts = spikes[s, n, j].astype(np.int64)
        return cls(np.repeat(s, counts), np.repeat(n, counts), np.repeat(j, counts), *spikes.shape)

    @classmethod
    def concatenate(cls, parts) -> "SpikeTrains":
        """Presentations of several SpikeTrains (same steps and neurons), in order."""
        parts = list(parts)
        if not parts or len({(p.n_steps, p.n_neurons) for p in parts}) != 1:
            raise ValueError("need one or more SpikeTrains with the same steps and neurons")
        first = np.cumsum([0] + [len(p) for p in parts])
        return cls(np.concatenate([p.sample + f for p, f in zip(parts, first)]),
                   np.concatenate([p.step for p in parts]), np.concatenate([p.neuron for p in parts]),
                   first[-1], parts[0].n_steps, parts[0].n_neurons)

    def _events(self, samples):
        samples = np.asarray(samples, dtype=np.int64)
        starts, stops = self._offsets[samples], self._offsets[samples + 1]
        lengths = stops - starts
        where = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        return np.repeat(np.arange(len(samples)), lengths), where

    def subset(self, samples) -> "SpikeTrains":
        """The presentations ``samples`` (in that order) as a new SpikeTrains."""
        row, where = self._events(samples)
        return SpikeTrains(row, self.step[where], self.neuron[where], len(samples), self.n_steps, self.n_neurons)

    def matrix(self, samples=None) -> sp.csr_matrix:
        """The presentations ``samples`` as a sparse (len(samples) * n_steps, n_neurons)
        matrix, row = sample * n_steps + step: the input of one mini-batch."""
        samples = np.arange(self.n_samples) if samples is None else samples
        row, where = self._events(samples)
        rows = row * self.n_steps + self.step[where]
        return sp.csr_matrix((np.ones(len(rows)), (rows, self.neuron[where])),
                             shape=(len(samples) * self.n_steps, self.n_neurons))

    def dense(self, samples=None) -> np.ndarray:
        samples = np.arange(self.n_samples) if samples is None else samples
        return self.matrix(samples).toarray().reshape(len(samples), self.n_steps, self.n_neurons)

    def counts(self) -> np.ndarray:
        """Spikes per presentation and neuron (samples x neurons)."""
        out = np.zeros((self.n_samples, self.n_neurons), dtype=np.int64)
        np.add.at(out, (self.sample, self.neuron), 1)
        return out

    def generator_spikes(self, dt_s: float):
        """(indices, times in s) for a Brian2 SpikeGeneratorGroup replaying the trains
        back to back, presentation k starting at k * n_steps * dt."""
        steps = self.sample * self.n_steps + self.step
        return self.neuron.copy(), steps * dt_s


def record_spike_trains(monitor, n_samples: int, n_neurons: int, dt, t_sample, t_start=0.0) -> SpikeTrains:
    """Bin a Brian2 SpikeMonitor (or a ``(t in s, i)`` pair) into presentations.

    Presentation k covers time steps [k * n_steps, (k + 1) * n_steps) counted from
    ``t_start``, with ``n_steps = t_sample / dt`` (must be a whole number). Spikes are
    binned by their integer time step (``round(t / dt)``), not by ``floor(t / t_sample)``,
    so a spike on the first step of a presentation is never counted in the previous one
    through rounding. Spikes outside the ``n_samples`` presentations are dropped.

    ``dt``, ``t_sample`` and ``t_start`` are Brian2 quantities or floats in seconds.
    """
    dt_s, t_sample_s, t_start_s = (float(x) for x in (dt, t_sample, t_start))
    n_steps = int(round(t_sample_s / dt_s))
    if not np.isclose(n_steps * dt_s, t_sample_s, rtol=0, atol=1e-6 * dt_s):
        raise ValueError(f"t_sample ({t_sample_s} s) is not a whole number of time steps ({dt_s} s)")
    if isinstance(monitor, tuple):
        t, i = (np.asarray(a) for a in monitor)
    else:
        t, i = np.asarray(monitor.t_[:]), np.asarray(monitor.i[:])
    steps = np.round((t - t_start_s) / dt_s).astype(np.int64)
    keep = (steps >= 0) & (steps < n_samples * n_steps)
    steps, i = steps[keep], i[keep]
    return SpikeTrains(steps // n_steps, steps % n_steps, i, n_samples, n_steps, n_neurons)


# ---------------------------------------------------------------------------------------
# surrogate derivatives


def surrogate_functions(kind: str, slope: float):
    """(derivative, sigmoid) of the surrogate ``kind`` with steepness ``slope``.

    fast_sigmoid: s(x) = (1 + k x / (1 + k|x|)) / 2,     s'(x) = k / (2 (1 + k|x|)^2)
    arctan:       s(x) = 1/2 + arctan(pi k x / 2) / pi,   s'(x) = (k/2) / (1 + (pi k x / 2)^2)
    """
    k = float(slope)
    if k <= 0:
        raise ValueError("slope must be > 0")
    if kind == "fast_sigmoid":
        return (lambda x: 0.5 * k / (1.0 + k * np.abs(x)) ** 2,
                lambda x: 0.5 * (1.0 + k * x / (1.0 + k * np.abs(x))))
    if kind == "arctan":
        return (lambda x: 0.5 * k / (1.0 + (0.5 * np.pi * k * x) ** 2),
                lambda x: 0.5 + np.arctan(0.5 * np.pi * k * x) / np.pi)
    raise ValueError(f"unknown surrogate {kind!r}; choose fast_sigmoid or arctan")


# ---------------------------------------------------------------------------------------
# the LIF readout: forward pass and BPTT


@dataclass
class LIFReadout:
    """Feed-forward layers of LIF neurons on top of a recorded layer of ``n_in`` neurons.

    ``sizes`` lists every layer after the input, the last one being the output; all
    layers but the output spike; the output spikes if ``output == 'spikes'`` and is a
    leaky integrator (read as mean membrane) if ``output == 'membrane'``. ``masks``
    (optional, one per layer, shape of W) fix absent connections to zero. ``window``
    = (first, stop) time steps over which the output is read (None: all steps).
    """

    n_in: int
    sizes: tuple
    output: str = "spikes"
    params: ReadoutParams = field(default_factory=ReadoutParams)
    dt_ms: float = 0.25
    surrogate: str = "fast_sigmoid"
    slope: float = 10.0
    detach_reset: bool = True
    window: tuple | None = None
    masks: tuple | None = None

    def __post_init__(self):
        from brian2 import ms

        self.sizes = tuple(int(s) for s in self.sizes)
        if not self.sizes or min(self.sizes) < 1 or self.n_in < 1:
            raise ValueError("n_in and every layer size must be >= 1")
        if self.output not in ("spikes", "membrane"):
            raise ValueError("output must be 'spikes' or 'membrane'")
        self.coefficients: Coefficients = self.params.coefficients(self.dt_ms * ms)
        self._surrogate, self._sigmoid = surrogate_functions(self.surrogate, self.slope)
        if self.masks is not None and len(self.masks) != len(self.sizes):
            raise ValueError("one mask per layer")

    @property
    def spiking(self) -> list[bool]:
        return [True] * (len(self.sizes) - 1) + [self.output == "spikes"]

    def init(self, seed: int = 0, scale: float = 1.0) -> dict:
        """Random weights N(0, scale / sqrt(fan-in)) (masked), zero biases."""
        rng = np.random.default_rng(seed)
        params, n_in = {}, self.n_in
        for layer, n in enumerate(self.sizes):
            w = rng.normal(0.0, scale / np.sqrt(n_in), size=(n_in, n))
            params[f"W{layer}"] = w * self.mask(layer)
            params[f"b{layer}"] = np.zeros(n)
            n_in = n
        return params

    def mask(self, layer: int):
        """Layer ``layer``'s connection mask (1.0: all connections)."""
        return 1.0 if self.masks is None or self.masks[layer] is None else np.asarray(self.masks[layer], float)

    def window_steps(self, n_steps: int) -> range:
        """The time steps of a presentation over which the output is read."""
        return range(n_steps) if self.window is None else range(n_steps)[slice(*self.window)]

    def _slice(self, n_steps: int) -> slice:
        steps = self.window_steps(n_steps)
        return slice(steps.start, steps.stop)

    # -- forward -------------------------------------------------------------------------

    def forward(self, params: dict, x, n_steps: int | None = None, smooth: bool = False,
                fixed_resets: list | None = None) -> dict:
        """Run the readout on input spikes ``x``.

        ``x`` is a :class:`SpikeTrains`, a sparse (batch * steps, n_in) matrix with
        ``n_steps`` given, or a dense (batch, steps, n_in) array. ``smooth`` replaces the
        step function by the surrogate's sigmoid (for the gradient check);
        ``fixed_resets`` (one (batch, steps, n) array per layer) makes the reset use
        given values instead of the layer's own spikes (the detached reset as a function
        of the weights alone). Returns a cache whose ``'y'`` is the readout:
        (batch, n_out) spike counts or mean membrane potentials over ``window``.
        """
        if isinstance(x, SpikeTrains):
            x, n_steps = x.matrix(), x.n_steps
        elif not sp.issparse(x):
            x = np.asarray(x, dtype=float)
            n_steps = x.shape[1]
            x = x.reshape(-1, x.shape[2])
        batch = x.shape[0] // n_steps
        k = self.coefficients
        cache = {"x": [], "ut": [], "z": [], "reset": [], "n_steps": n_steps, "batch": batch}
        inp = x
        for layer, (n, spiking) in enumerate(zip(self.sizes, self.spiking)):
            drive = np.asarray(inp @ params[f"W{layer}"]).reshape(batch, n_steps, n)
            bias = k.d * params[f"b{layer}"]
            ut_all = np.empty((batch, n_steps, n))
            z_all = np.empty_like(ut_all) if spiking else None
            u = np.zeros((batch, n))
            i = np.zeros((batch, n))
            for step in range(n_steps):
                ut = k.beta * u + k.c * i + bias  # state update ('groups')
                ut_all[:, step] = ut
                if spiking:  # threshold, then reset
                    z = self._sigmoid(ut - k.threshold) if smooth else (ut > k.threshold).astype(float)
                    z_all[:, step] = z
                    r = z if fixed_resets is None else fixed_resets[layer][:, step]
                    u = ut * (1.0 - r) + k.u_reset * r
                else:
                    u = ut
                i = k.alpha * i + drive[:, step]  # this step's input spikes ('synapses')
            cache["x"].append(inp)
            cache["ut"].append(ut_all)
            cache["z"].append(z_all)
            cache["reset"].append(z_all if fixed_resets is None or not spiking else fixed_resets[layer])
            if spiking:
                inp = z_all.reshape(batch * n_steps, n)
        window = self._slice(n_steps)
        out = cache["z"][-1] if self.output == "spikes" else cache["ut"][-1]
        cache["y"] = out[:, window].sum(axis=1) if self.output == "spikes" else out[:, window].mean(axis=1)
        return cache

    # -- BPTT ----------------------------------------------------------------------------

    def backward(self, params: dict, cache: dict, grad_y) -> dict:
        """Gradients of a loss with dL/dy = ``grad_y`` (batch, n_out) w.r.t. every W, b."""
        k = self.coefficients
        batch, n_steps = cache["batch"], cache["n_steps"]
        window = self._slice(n_steps)
        n_window = len(self.window_steps(n_steps))
        grads = {}
        # external gradient reaching the output layer at each step
        g_ext = np.zeros((batch, n_steps, self.sizes[-1]))
        g_ext[:, window] = (grad_y if self.output == "spikes" else grad_y / n_window)[:, None, :]
        for layer in reversed(range(len(self.sizes))):
            spiking = self.spiking[layer]
            ut_all, reset_all = cache["ut"][layer], cache["reset"][layer]
            g_drive = np.empty_like(ut_all)
            gu = np.zeros((batch, self.sizes[layer]))  # dL/du[n+1]
            gi = np.zeros_like(gu)  # dL/di[n+1]
            gb = np.zeros(self.sizes[layer])
            for step in reversed(range(n_steps)):
                g_drive[:, step] = gi  # drive[n] enters i[n+1]
                ut = ut_all[:, step]
                if spiking:
                    r = reset_all[:, step]
                    gz = g_ext[:, step]
                    if not self.detach_reset:
                        gz = gz + gu * (k.u_reset - ut)
                    gut = gu * (1.0 - r) + gz * self._surrogate(ut - k.threshold)
                else:
                    gut = gu + g_ext[:, step]
                gb += k.d * gut.sum(axis=0)
                gu, gi = k.beta * gut, k.c * gut + k.alpha * gi
            g_flat = g_drive.reshape(batch * n_steps, -1)
            grads[f"W{layer}"] = np.asarray(cache["x"][layer].T @ g_flat) * self.mask(layer)
            grads[f"b{layer}"] = gb
            if layer:
                g_ext = (g_flat @ params[f"W{layer}"].T).reshape(batch, n_steps, -1)
        return grads

    def predict(self, params: dict, trains: SpikeTrains, batch: int = 128) -> np.ndarray:
        """The readout ``y`` for every presentation (forward pass in batches)."""
        return np.concatenate([self.forward(params, trains.subset(np.arange(s, min(s + batch, len(trains)))))["y"]
                               for s in range(0, len(trains), batch)])


# ---------------------------------------------------------------------------------------
# optimiser


class Adam:
    """Adam (Kingma & Ba 2015) on a dict of arrays."""

    def __init__(self, lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        for key, g in grads.items():
            m = self.m[key] = self.beta1 * self.m.get(key, 0.0) + (1 - self.beta1) * g
            v = self.v[key] = self.beta2 * self.v.get(key, 0.0) + (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1 ** self.t)
            v_hat = v / (1 - self.beta2 ** self.t)
            params[key] = params[key] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# ---------------------------------------------------------------------------------------
# classification


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy and its gradient w.r.t. the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = -np.log(p[np.arange(n), labels] + 1e-300).mean()
    p[np.arange(n), labels] -= 1.0
    return loss, p / n


@dataclass
class Optimisation:
    """Adam on mini-batches from weights drawn with ``init_scale`` (see LIFReadout.init)."""

    batch: int = 32
    lr: float = 1e-3
    seed: int = 0
    init_scale: float = 1.0


@dataclass
class TrainConfig(Optimisation):
    # measured on the dendritic circuit's digits responses (800 train / 200 held out):
    # lr 5e-3 -> 0.78, 2e-2 -> 0.81 after 10 epochs, 0.87 after 30; slope 2 vs 10 and
    # arctan vs fast sigmoid within 0.05
    lr: float = 2e-2
    epochs: int = 30


def train_classifier(model: LIFReadout, trains: SpikeTrains, labels, config: TrainConfig | None = None,
                     params: dict | None = None, count_scale: float = 1.0) -> tuple[dict, list[float]]:
    """Mini-batch Adam on cross-entropy(softmax(count_scale * spike counts), label).

    Returns the trained parameters and the mean loss of each epoch.
    """
    config = config or TrainConfig()
    if model.output != "spikes":
        raise ValueError("train_classifier trains a spiking output (spike-count cross-entropy)")
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(config.seed)
    params = model.init(config.seed, config.init_scale) if params is None else dict(params)
    opt = Adam(config.lr)
    history = []
    for _ in range(config.epochs):
        order = rng.permutation(len(trains))
        losses = []
        for start in range(0, len(order), config.batch):
            idx = order[start:start + config.batch]
            cache = model.forward(params, trains.subset(idx))
            loss, g = cross_entropy(count_scale * cache["y"], labels[idx])
            opt.step(params, model.backward(params, cache, count_scale * g))
            losses.append(loss)
        history.append(float(np.mean(losses)))
    return params, history


# ---------------------------------------------------------------------------------------
# dueling Q readout and DQN


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


# ---------------------------------------------------------------------------------------
# gradient check


def gradient_check(model: LIFReadout, params: dict, x, loss, eps: float = 1e-6, n_checks: int | None = None,
                   seed: int = 0) -> float:
    """Largest relative error between BPTT and central finite differences.

    The model runs smooth (the surrogate's sigmoid in place of the step), so BPTT's
    gradient is that function's exact gradient. ``loss(y) -> (value, dL/dy)``. With
    ``detach_reset`` the reset is evaluated with the unperturbed network's values
    (fixed), which is the function whose gradient the detached BPTT computes.
    ``n_checks`` entries per parameter array are checked (all when None).
    """
    rng = np.random.default_rng(seed)
    cache = model.forward(params, x, smooth=True)
    grads = model.backward(params, cache, loss(cache["y"])[1])
    fixed = [r if s else None for r, s in zip(cache["reset"], model.spiking)] if model.detach_reset else None

    def value(p):
        return loss(model.forward(p, x, smooth=True, fixed_resets=fixed)["y"])[0]

    worst = 0.0
    for key, array in params.items():
        flat = np.arange(array.size)
        if n_checks is not None and n_checks < array.size:
            flat = rng.choice(array.size, n_checks, replace=False)
        mask = np.broadcast_to(model.mask(int(key[1:])) if key[0] == "W" else 1.0, array.shape).ravel()
        for index in flat:
            if mask[index] == 0:
                continue
            plus, minus = dict(params), dict(params)
            plus[key] = array.copy()
            minus[key] = array.copy()
            plus[key].flat[index] += eps
            minus[key].flat[index] -= eps
            numeric = (value(plus) - value(minus)) / (2 * eps)
            analytic = grads[key].flat[index]
            worst = max(worst, abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-8))
    return worst
