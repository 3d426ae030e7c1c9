"""How much can a readout learn from the hidden layer, given the feedback it gets?

A diagnostic for the forgetting protocol's readout. The hidden layer of each variant
(:class:`mtspark_bio.circuit.Classifier`, plasticity off, the correct task context) is
simulated once on the permuted-digit tasks and its spike counts per presentation are
stored. Idealised readouts, one weight vector per class and a decision by the largest
weighted count, then learn online from the same presentations under three kinds of
feedback:

* ``population reward``: one scalar per trial (+1 right, -1 wrong) minus a running
  expectation, applied to the winning output only — what a global dopamine signal and
  reward-modulated plasticity confined to the active output can use (AGREL; Roelfsema &
  van Ooyen 2005, Neural Comput. 17:2176; Izhikevich 2007). A contextual bandit.
* ``neuron reward``: every output is told whether its own response was right (+1 for
  the label's output, ``-punishment`` for the others), as a neuron-specific dopamine
  signal would (Wärnberg & Kumar 2023, PNAS). Full information.
* ``prototype``: the class means of the training counts, normalised (a supervised
  ceiling for a non-negative, one-layer readout).

The tasks are learned one after the other (sequential schedule); the accuracy matrix
R[block, task] and ACC / forgetting come from :func:`mtspark_bio.metrics.continual_metrics`.

    python -m mtspark_bio.protocols.readout_feedback --out results/readout_feedback.h5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

N_CLASSES = 10


def record_hidden_counts(n_tasks: int, n_train: int, n_test: int, seed: int, circuit: dict,
                         build_dir=None, chunk: int = 250, device: str = "cpp") -> dict:
    """Hidden spike counts (presentations x neurons) per variant, task and split, and
    ``dendritic/wired`` (neurons x tasks): which tasks' context reaches each neuron."""
    from brian2 import ms

    from mtspark_bio.circuit import CircuitConfig, Classifier, StimulusSchedule
    from mtspark_bio.data import load_digits, permuted_tasks, subsample
    from mtspark_bio.devices import Simulation

    dataset = load_digits()
    tasks = [subsample(t, n_train, n_test, seed) for t in permuted_tasks(dataset, n_tasks, seed)]
    config = CircuitConfig.from_overrides(n_features=dataset.x_train.shape[1], n_classes=N_CLASSES, n_tasks=n_tasks,
                                          **{"seed": seed, **circuit, "context_learning": False}).validate()
    sim = Simulation(device, directory=build_dir, seed=seed, dt=0.25 * ms)
    stimuli = StimulusSchedule(config, chunk)
    variants = {v: Classifier(config, v, stimuli) for v in ("dendritic", "point")}
    for classifier in variants.values():
        sim.add(*classifier.objects)
    sim.build(stimuli.duration)
    counts = {}
    try:
        for task in tasks:
            for split, x, y in (("train", task.x_train, task.y_train), ("test", task.x_test, task.y_test)):
                pieces = {v: [] for v in variants}
                for start in range(0, len(y), chunk):
                    sl = slice(start, start + chunk)
                    n = len(y[sl])
                    sim.run(stimuli.values(x[sl], y[sl], np.full(n, task.index), np.zeros(n)))
                    for v, classifier in variants.items():
                        pieces[v].append(classifier.hidden_counts(chunk)[:n])
                for v in variants:
                    counts[f"{v}/{split}/{task.index}"] = np.concatenate(pieces[v])
                counts[f"labels/{split}/{task.index}"] = np.asarray(y)
        # which tasks' context neurons reach each dendritic neuron (readable after a run)
        synapses = variants["dendritic"].context_synapses
        wired = np.zeros((config.hidden.n_hidden, n_tasks), dtype=bool)
        wired[np.asarray(synapses.j[:]), np.asarray(synapses.i[:]) // config.hidden.context_per_task] = True
        counts["dendritic/wired"] = wired
    finally:
        sim.close()
    return counts


def _evaluate(W, counts, variant, n_tasks):
    return np.array([((counts[f"{variant}/test/{t}"] @ W.T).argmax(1) == counts[f"labels/test/{t}"]).mean()
                     for t in range(n_tasks)])


def learn_sequentially(counts: dict, variant: str, n_tasks: int, feedback: str, eta: float,
                       seed: int = 0, punishment: float = 0.1, exploration: float = 1.0) -> np.ndarray:
    """R[block, task] of an idealised readout trained task after task under ``feedback``."""
    rng = np.random.default_rng(seed)
    n_hidden = counts[f"{variant}/train/0"].shape[1]
    W = rng.random((N_CLASSES, n_hidden)) * 0.1
    expected = 0.0
    R = np.zeros((n_tasks, n_tasks))
    for block in range(n_tasks):
        X = counts[f"{variant}/train/{block}"].astype(float)
        y = counts[f"labels/train/{block}"]
        if feedback == "prototype":
            means = np.stack([X[y == c].mean(0) if (y == c).any() else np.zeros(n_hidden)
                              for c in range(N_CLASSES)])
            W = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        for k in rng.permutation(len(y)) if feedback != "prototype" else ():
            x = X[k]
            if feedback == "population":
                score = W @ x
                winner = (score + exploration * (score.std() + 1e-9) * rng.standard_normal(N_CLASSES)).argmax()
                reward = 1.0 if winner == y[k] else -1.0
                W[winner] = np.clip(W[winner] + eta * (reward - expected) * x, 0, 1)
                expected += (reward - expected) / 50
            elif feedback == "neuron":
                signal = np.where(np.arange(N_CLASSES) == y[k], 1.0, -punishment)
                W = np.clip(W + eta * signal[:, None] * x, 0, 1)
            else:
                raise ValueError(f"unknown feedback {feedback!r}")
        R[block] = _evaluate(W, counts, variant, n_tasks)
    return R


def main(argv=None) -> int:
    from mtspark_bio.metrics import continual_metrics
    from mtspark_bio.results import atomic_h5, package_versions, write_arrays, write_json_attr

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n-tasks", type=int, default=5)
    parser.add_argument("--train-samples", type=int, default=500)
    parser.add_argument("--test-samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--circuit", type=json.loads, default={})
    parser.add_argument("--build-dir", default=None)
    args = parser.parse_args(argv)
    counts = record_hidden_counts(args.n_tasks, args.train_samples, args.test_samples, args.seed,
                                  args.circuit, args.build_dir)
    rows = {}
    for variant in ("dendritic", "point"):
        for feedback, eta in (("population", 0.01), ("neuron", 0.02), ("prototype", 0.0)):
            R = learn_sequentially(counts, variant, args.n_tasks, feedback, eta, seed=args.seed)
            m = continual_metrics(R, list(range(args.n_tasks)), None)
            rows[f"{variant}/{feedback}"] = (R, m)
            print(f"{variant:<10} {feedback:<11} per-task (diag) {np.round(np.diag(R), 2)}  "
                  f"ACC {m['acc']:.3f}  forgetting {m['forgetting']:.3f}", flush=True)
    with atomic_h5(args.out) as f:
        f.attrs["protocol"] = "readout_feedback"
        write_json_attr(f, "config", vars(args) | {"out": str(args.out)})
        write_json_attr(f, "versions", package_versions())
        for key, (R, m) in rows.items():
            group = f.create_group(key)
            group.create_dataset("accuracy_matrix", data=R)
            for name, value in m.items():
                group.attrs[name] = value
        write_arrays(f.create_group("hidden_counts"), {k.replace("/", "_"): v for k, v in counts.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
