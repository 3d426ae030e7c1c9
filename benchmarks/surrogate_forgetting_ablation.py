"""Why the surrogate-gradient readout forgets on a gated code: an ablation on recorded spikes.

The forgetting protocol with ``--readout surrogate`` trains a LIF readout by BPTT on
each block's hidden spike trains, from the previous block's weights. On the dendritic
network it forgets about a quarter of each task (docs/results.md). Two causes were read
from the code: the readout's bias is trained by every task, and Adam scales each
weight's step by its own gradient history, so the tiny gradients that a few leaking
neurons of other tasks give become full-size steps. This script tests them apart.

It runs the protocol's own network once (Plan and Runner of the forgetting protocol,
plasticity as in the protocol), records every block's training spike trains and, after
the last block, every task's test spike trains, then trains the readout sequentially
offline under each variant of the training rule and prints ACC and forgetting::

    python benchmarks/surrogate_forgetting_ablation.py --seed 0

Variants: ``as before`` (the protocol before the fix: Adam, every weight and the bias
trained), ``frozen bias`` (bias kept at 0),
``active rows`` (only weights from hidden cells that fired in the block's training
presentations change), ``gated rows`` (only weights from the cells the block's task
gates change: a synapse whose presynaptic cell is ungated is left alone), and gated
rows with the bias frozen, which the protocol now uses. The test trains are those of the final evaluation: the
hidden layer's only plasticity is the context's, which moves little after a task's
block, so each variant is scored on one fixed code.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def record(seed: int, n_tasks: int, train: int, test: int, device: str):
    """Per block: (training trains, labels); per task: (test trains, labels)."""
    from mtspark_bio.experiments.forgetting import Plan, Runner
    from mtspark_bio.surrogate import record_spike_trains

    plan = Plan({"seed": seed, "n_tasks": n_tasks, "train_samples": train, "test_samples": test,
                 "variants": ["dendritic"], "device": device, "readout": "surrogate", "record_spikes": "none"})
    runner = Runner(plan)
    surrogate = runner.surrogate
    blocks = []
    # keep each block's recorded spikes instead of training on them
    surrogate.train = lambda block: blocks.append(list(surrogate.recorded["dendritic"])) or \
        surrogate.recorded["dendritic"].clear()
    for block in range(len(plan.schedule)):
        runner.train(block)
    x, y, task = plan.test_set()
    chunk, tests = plan.config["chunk"], []
    for start in range(0, len(y), chunk):
        sl = slice(start, start + chunk)
        runner._run_chunk(x[sl], y[sl], task[sl], False)
        tests.append(record_spike_trains(runner.variants["dendritic"].hidden_spikes, len(y[sl]),
                                         surrogate.n_hidden, surrogate.dt, surrogate.t_sample))
    wiring = runner.variants["dendritic"].context_wiring
    gated = [np.unique(wiring["neuron"][wiring["task"] == plan.tasks[plan.schedule[b]].index])
             for b in range(len(plan.schedule))]
    runner.close()
    return surrogate.model, blocks, tests, y, task, gated


#: variant -> (which first-layer rows train: "all", "active" or "gated"; whether the bias trains)
VARIANTS = {"as before": ("all", True), "frozen bias": ("all", False), "active rows": ("active", True),
            "gated rows": ("gated", True), "gated rows+frozen bias": ("gated", False)}


def train_sequentially(model, blocks, tests, y, task, gated, seed, epochs, variant):
    """The protocol's training (train_classifier, from the previous block's weights)
    block after block under one variant; ACC, forgetting and accuracy right after
    each task's own block, on the final test spikes."""
    from mtspark_bio.surrogate import SpikeTrains, TrainConfig, train_classifier

    which_rows, train_bias = VARIANTS[variant]
    test = SpikeTrains.concatenate(tests)
    n_tasks = len(blocks)
    R = np.zeros((n_tasks, n_tasks))
    params = model.init(seed)
    for block, pieces in enumerate(blocks):
        trains = SpikeTrains.concatenate([t for t, _ in pieces])
        labels = np.concatenate([lab for _, lab in pieces]).astype(np.int64)
        rows = np.zeros(model.n_in, bool)
        rows[np.unique(trains.neuron) if which_rows == "active" else gated[block] if which_rows == "gated"
             else slice(None)] = True
        params, _ = train_classifier(model, trains, labels,
                                     TrainConfig(seed=seed + block, epochs=epochs, train_bias=train_bias),
                                     params=params, rows=rows)
        correct = model.forward(params, test)["y"].argmax(1) == y
        R[block] = [correct[task == j].mean() for j in range(n_tasks)]
    forgetting = np.mean([R[:n_tasks - 1, j].max() - R[-1, j] for j in range(n_tasks - 1)])
    return R[-1].mean(), forgetting, np.mean(np.diag(R))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-tasks", type=int, default=5)
    parser.add_argument("--train-samples", type=int, default=500)
    parser.add_argument("--test-samples", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="cpp")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cache", default=None, help="pickle of the recorded spikes: written once, then read")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    import os
    import pickle

    from mtspark_bio.surrogate import LIFReadout

    if args.cache and os.path.exists(args.cache):
        with open(args.cache, "rb") as f:
            spikes = pickle.load(f)
    else:
        model, *spikes = record(args.seed, args.n_tasks, args.train_samples, args.test_samples, args.device)
        if args.cache:  # the spikes only: the model holds its surrogate as a closure
            with open(args.cache, "wb") as f:
                pickle.dump(spikes, f)
    n_hidden = spikes[0][0][0][0].n_neurons
    recorded = (LIFReadout(n_hidden, (10,), dt_ms=0.25), *spikes)
    print(f"recorded in {time.perf_counter() - started:.0f} s")
    print(f"{'variant':<24} {'ACC':>6} {'F':>6} {'own':>6}")
    for variant in args.variants.split(","):
        acc, forgetting, own = train_sequentially(*recorded, args.seed, args.epochs, variant)
        print(f"{variant:<24} {acc:6.3f} {forgetting:6.3f} {own:6.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
