"""Classification: softmax cross-entropy on the output spike counts, trained by BPTT."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtspark_bio.surrogate.lif import LIFReadout
from mtspark_bio.surrogate.optimise import Adam, Optimisation
from mtspark_bio.surrogate.spikes import SpikeTrains


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
class TrainConfig(Optimisation):
    # the best of the rates tried on the circuit's recorded responses (docs/results.md,
    # "Measurements behind the defaults")
    lr: float = 2e-2
    epochs: int = 30
    # the output neurons' bias currents; off in the forgetting protocol, where every
    # task would train the one bias all tasks share
    train_bias: bool = True


def train_classifier(model: LIFReadout, trains: SpikeTrains, labels, config: TrainConfig | None = None,
                     params: dict | None = None, count_scale: float = 1.0,
                     rows: np.ndarray | None = None) -> tuple[dict, list[float]]:
    """Mini-batch Adam on cross-entropy(softmax(count_scale * spike counts), label).

    ``rows`` (a boolean mask over the recorded neurons): only the first layer's weights
    from those neurons change, e.g. the cells the current task's context gates. Adam
    scales each weight's step by its own gradient history, so the tiny gradients that a
    few spikes of ungated cells give would otherwise move those cells' weights, learned
    in their own task, by full-size steps (benchmarks/surrogate_forgetting_ablation.py).

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
            grads = model.backward(params, cache, count_scale * g)
            if not config.train_bias:
                grads = {key: value for key, value in grads.items() if not key.startswith("b")}
            if rows is not None:
                grads["W0"] = grads["W0"] * np.asarray(rows, dtype=bool)[:, None]
            opt.step(params, grads)
            losses.append(loss)
        history.append(float(np.mean(losses)))
    return params, history
