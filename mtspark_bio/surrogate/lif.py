"""The LIF readout in NumPy: surrogate derivatives, forward pass and BPTT."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from mtspark_bio.models.readout import Coefficients, ReadoutParams
from mtspark_bio.surrogate.spikes import SpikeTrains


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
