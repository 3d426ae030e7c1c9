"""Where does the in-network error-driven readout lose what the hidden code carries? (issue 28)

``record``: runs the forgetting protocol's network (one task, dendritic, the given
circuit) through the protocol's own Plan and Runner, training on the training set once
and testing on the test set, and stores per presentation the hidden layer's spike
counts, the readout's spike counts, the labels and the accuracy the network reached.

``fit``: fits readouts offline (NumPy) on the recorded hidden counts:

* ``class means``: normalised class means (what the instar converges to);
* ``ED linear``: the delta rule with a softmax over linear logits z = W x, x = n/|n|;
* ``ED emulated``: what the in-network readout does: counts c = min(max(floor(gain W.n),
  0), steps), softmax over c/temperature, the same update, weights clipped;
* ``logistic``: scikit-learn's logistic regression on standardised counts, and on
  counts divided by their norm (C = 10; the ceiling docs/results.md reports: with 1 000
  cells and 5 000 images the standardised fit overfits below the network's own readout).

    python benchmarks/ed_readout_probe.py record --out counts.npz --train 10000 --test 2000 \
        --circuit '{"readout": {"rule": "error_driven"}}'
    python benchmarks/ed_readout_probe.py fit counts.npz
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def record(args):
    from mtspark_bio.experiments.forgetting import Plan, Runner

    plan = Plan({"dataset": args.dataset, "data_dir": args.data_dir, "n_tasks": 1, "variants": ["dendritic"],
                 "train_samples": args.train, "test_samples": args.test, "epochs": 1, "seed": args.seed,
                 "threads": 1, "circuit": json.loads(args.circuit), "chunk": args.chunk})
    t0 = time.time()
    runner = Runner(plan, build_dir=args.build_dir)
    net = runner.variants["dendritic"]
    task = plan.tasks[0]
    out = {"circuit": json.dumps(plan.circuit.readout.__dict__ | {"input_rate_hz": plan.circuit.input.input_rate_hz})}
    for split, plastic in (("train", True), ("test", False)):
        x, y = (task.x_train, task.y_train) if split == "train" else (task.x_test, task.y_test)
        hidden, readout, pred = [], [], []
        for start in range(0, len(y), args.chunk):
            sl = slice(start, start + args.chunk)
            n = len(y[sl])
            p = runner._run_chunk(x[sl], y[sl], np.full(n, task.index), plastic)["dendritic"]
            hidden.append(net.hidden_counts(runner.stimuli.n_presentations)[:n])
            readout.append(net.spike_counts(runner.stimuli.n_presentations)[:n])
            pred.append(p)
        out[f"hidden_{split}"] = np.concatenate(hidden)
        out[f"readout_{split}"] = np.concatenate(readout)
        out[f"pred_{split}"] = np.concatenate(pred)
        out[f"labels_{split}"] = np.asarray(y)
        print(f"{split}: network accuracy {(out[f'pred_{split}'] == y).mean():.3f}  "
              f"hidden spikes/presentation {out[f'hidden_{split}'].sum(1).mean():.0f}  "
              f"({time.time() - t0:.0f} s)", flush=True)
    out["readout_w"] = np.asarray(net.readout_synapses.w[:])
    runner.close()
    np.savez_compressed(args.out, **out)
    describe(out)


def describe(d):
    for split in ("train", "test"):
        r = d[f"readout_{split}"]
        y = d[f"labels_{split}"]
        top = r.max(1)
        print(f"readout {split}: mean count {r.mean():.2f}, max {r.max()}, "
              f"all-zero presentations {(top == 0).mean():.3f}, ties at the top {((r == top[:, None]).sum(1) > 1).mean():.3f}, "
              f"zero counts {(r == 0).mean():.3f}, label's count {r[np.arange(len(y)), y].mean():.2f}")
        q = np.percentile(r.max(1), [10, 50, 90])
        print(f"  per-presentation max count percentiles 10/50/90: {q}")


def softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def fit_ed(X, y, Xt, yt, eta, passes, logits, gain=60.0, temperature=5.0, w_max=1.0, steps=400, seed=0,
           normalise=True):
    """Online delta rule with softmax. ``logits``: 'linear' or 'counts' (the network's)."""
    rng = np.random.default_rng(seed)
    k = 10
    W = np.zeros((k, X.shape[1]))
    norm = lambda A: A / np.sqrt((A ** 2).sum(1, keepdims=True) + 1e-12)  # noqa: E731
    Xn, Xtn = (norm(X), norm(Xt)) if normalise else (X, Xt)

    def score(Wm, N, Nn):
        if logits == "linear":
            return Nn @ Wm.T
        return np.clip(np.floor(gain * N @ Wm.T), 0, steps)

    for _ in range(passes):
        for i in rng.permutation(len(y)):
            z = score(W, X[i:i + 1], Xn[i:i + 1])[0]
            p = softmax(z / (1.0 if logits == "linear" else temperature))
            M = (np.arange(k) == y[i]) - p
            W = np.clip(W + eta * M[:, None] * Xn[i][None, :], -w_max, w_max)
    s = score(W, Xt, Xtn)
    if logits == "counts":  # the network's decision: no answer where no neuron fired or tied
        top = s.max(1)
        ok = (top > 0) & ((s == top[:, None]).sum(1) == 1)
        return float(((s.argmax(1) == yt) & ok).mean())
    return float((s.argmax(1) == yt).mean())


def fit(args):
    d = dict(np.load(args.file))
    X, y, Xt, yt = (d["hidden_train"].astype(float), d["labels_train"], d["hidden_test"].astype(float),
                    d["labels_test"])
    print(f"{args.file}: {len(y)} train / {len(yt)} test, {X.shape[1]} hidden cells, "
          f"spikes per presentation {X.sum(1).mean():.0f} (train) {Xt.sum(1).mean():.0f} (test), "
          f"active cells {(X > 0).mean(1).mean() * X.shape[1]:.0f}; "
          f"network's own accuracy train {(d['pred_train'] == y).mean():.3f} test {(d['pred_test'] == yt).mean():.3f}")
    describe(d)
    norm = lambda A: A / np.sqrt((A ** 2).sum(1, keepdims=True) + 1e-12)  # noqa: E731
    means = norm(np.stack([norm(X)[y == c].mean(0) for c in range(10)]))
    print(f"class means: {((norm(Xt) @ means.T).argmax(1) == yt).mean():.3f}")
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    for C in (0.01, 0.1, 1.0):
        lr = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(X), y)
        print(f"logistic C={C}: {lr.score(scaler.transform(Xt), yt):.3f}")
    lr = LogisticRegression(C=10, max_iter=2000).fit(norm(X), y)
    print(f"logistic on normalised counts, C=10: {lr.score(norm(Xt), yt):.3f}")
    for passes in args.passes:
        for eta in args.etas:
            t0 = time.time()
            a = fit_ed(X, y, Xt, yt, eta, passes, "linear")
            print(f"ED linear logits, eta {eta}, {passes} pass(es): {a:.3f}  ({time.time() - t0:.0f} s)", flush=True)
    for gain, temperature, eta in args.emulate:
        a = fit_ed(X, y, Xt, yt, eta, 1, "counts", gain=gain, temperature=temperature)
        print(f"ED emulated counts (gain {gain}, T {temperature}, eta {eta}), 1 pass: {a:.3f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--dataset", default="fashion-mnist")
    r.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    r.add_argument("--train", type=int, default=10000)
    r.add_argument("--test", type=int, default=2000)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--chunk", type=int, default=100)
    r.add_argument("--circuit", default='{"readout": {"rule": "error_driven"}}')
    r.add_argument("--build-dir", default=None)
    f = sub.add_parser("fit")
    f.add_argument("file")
    f.add_argument("--etas", type=float, nargs="+", default=[0.05, 0.2])
    f.add_argument("--passes", type=int, nargs="+", default=[1])
    f.add_argument("--emulate", type=json.loads, default=[[60.0, 5.0, 0.05], [60.0, 5.0, 0.005], [1.0, 0.5, 0.05]])
    args = parser.parse_args(argv)
    record(args) if args.command == "record" else fit(args)


if __name__ == "__main__":
    main()
