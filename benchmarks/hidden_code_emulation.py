"""What limits the hidden code: an emulation of the hidden layer in NumPy (issue 28).

Each hidden cell sums its random positive receptive field (the network's own wiring,
``hidden_layer.random_receptive_fields``) over the input spike counts of one
presentation, a threshold is subtracted, and the rectified drive is turned into a
Poisson spike count with a given number of spikes per presentation over the layer.
A logistic regression on the normalised counts (the ceiling of any linear readout)
then says what each choice costs:

* the input: expected counts (``rate``), a regular train per pixel (``regular``: the
  count is the rate times the presentation, rounded by the phase) or a Poisson train
  (``poisson``, the network's default);
* the threshold: one for every image (``constant``, what feedback inhibition that caps
  the total amounts to), the image's mean drive over the cells (``mean``: feed-forward
  inhibition, which follows the summed input) or the drive of the 40th percentile
  cell (``kwta``, 40 % of the cells active).

    python benchmarks/hidden_code_emulation.py --data-dir /usr/share/datasets/fashion-mnist \\
        --cells 200 1000 --spikes 300 1000 3000
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

INPUT_SPIKES = 600  # the protocol's input: 6 kHz summed over the average image, 100 ms


def input_counts(images, encoding: str, rng) -> np.ndarray:
    expected = images * INPUT_SPIKES / images.sum(1).mean()
    if encoding == "poisson":
        return rng.poisson(expected).astype(float)
    if encoding == "regular":  # a random phase per pixel: the count is rounded up or down
        return np.floor(expected + rng.random(expected.shape))
    return expected


def hidden_counts(images, weights, encoding: str, threshold: str, spikes: float, rng) -> np.ndarray:
    drive = input_counts(images, encoding, rng) @ weights
    if threshold == "mean":
        theta = drive.mean(1, keepdims=True)
    elif threshold == "kwta":
        theta = np.quantile(drive, 0.6, axis=1, keepdims=True)
    else:
        theta = np.quantile(drive, 0.6)  # one threshold for every image
    rate = np.maximum(drive - theta, 0)
    return rng.poisson(rate * spikes / rate.sum(1).mean())


def ceiling(train, y_train, test, y_test) -> float:
    from sklearn.linear_model import LogisticRegression

    def norm(a):
        return a / np.sqrt((a ** 2).sum(1, keepdims=True) + 1e-9)

    return LogisticRegression(C=10, max_iter=1000).fit(norm(train), y_train).score(norm(test), y_test)


def main(argv=None):
    from mtspark_bio.data import load_dataset
    from mtspark_bio.hidden_layer import random_receptive_fields

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--cells", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--spikes", type=float, nargs="+", default=[300, 1000])
    parser.add_argument("--encodings", nargs="+", default=["rate", "regular", "poisson"])
    parser.add_argument("--thresholds", nargs="+", default=["constant", "mean", "kwta"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = load_dataset(args.dataset, args.data_dir or None)
    x, y = data.x_train[:args.train].astype(float), data.y_train[:args.train]
    xt, yt = data.x_test[:args.test].astype(float), data.y_test[:args.test]
    print(f"{args.dataset}: {len(y)} train / {len(yt)} test; {INPUT_SPIKES} input spikes per presentation")
    print(f"{'cells':>6} {'input':>8} {'threshold':>9} {'spikes':>7} {'ceiling':>8}")
    for cells in args.cells:
        pre, post, w = random_receptive_fields(np.random.default_rng(args.seed), x.shape[1], cells, 0.25)
        weights = np.zeros((x.shape[1], cells))
        weights[pre, post] = w
        for encoding, threshold, spikes in itertools.product(args.encodings, args.thresholds, args.spikes):
            rng = np.random.default_rng([args.seed, cells])
            started = time.time()
            accuracy = ceiling(hidden_counts(x, weights, encoding, threshold, spikes, rng), y,
                               hidden_counts(xt, weights, encoding, threshold, spikes, rng), yt)
            print(f"{cells:6d} {encoding:>8} {threshold:>9} {spikes:7.0f} {accuracy:8.3f}  ({time.time() - started:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
