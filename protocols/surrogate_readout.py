"""A surrogate-gradient-trained readout on the dendritic circuit's hidden layer (digits).

Methods
-------
* Network: the context-gated classifier circuit of ``mtspark_bio.circuit`` (dendritic
  variant, default ``CircuitConfig``), used as it is and only read: plasticity is off
  (every presentation is a test presentation), so the hidden layer's response to an
  image does not depend on what was shown before. Images are Poisson rates for
  ``t_present`` after ``t_rest`` of silence; the task context is that of the chosen task.
* Recording: the hidden layer's spikes, binned per presentation at the simulation time
  step dt = 0.25 ms (``mtspark_bio.surrogate.record_spike_trains``).
* Readout: one current-based LIF neuron per class (``models.readout``: tau_m 20 ms,
  tau_syn 5 ms; Neftci, Mostafa & Zenke 2019), all-to-all from the hidden layer with
  signed weights, trained in NumPy by backpropagation through time with a surrogate
  derivative of the spike function (fast sigmoid, SuperSpike: Zenke & Ganguli 2018;
  or arctan: Fang et al. 2021; slope a parameter; reset not differentiated, Zenke &
  Vogels 2021), on softmax cross-entropy of the output spike counts, Adam, mini-batches.
* Evaluation in the simulator: the trained weights are loaded into Brian2 synapses from
  the live hidden layer to a Brian2 readout group of the same model, built into the same
  network as the circuit (one compiled binary; the weights arrive as run inputs), and
  the test images are presented again. Accuracy is that of the Brian2 readout (class
  whose neuron fires most; ties and silence count as wrong, as for the R-STDP readout).
  The same run's hidden spikes are recorded and passed through the NumPy model: the
  spike counts of the two must agree (the surrogate model is the simulator's model).
* Reference: logistic regression on the hidden spike counts (the linear-probe ceiling
  of a count-based readout).

MTSpark (Devkota, Putra & Shafique 2024, arXiv 2412.04847) trains its whole network
with surrogate gradients; here only the readout is, and the rest stays biological.

Run ``python -m mtspark_bio.protocols.surrogate_readout --help``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--device", default="cpp", choices=["runtime", "cpp", "cuda"])
    add("--train-samples", type=int, default=1000)
    add("--test-samples", type=int, default=360, help="digits has 360 test images")
    add("--task", type=int, default=0, help="permuted-digits task whose images and context are shown")
    add("--n-tasks", type=int, default=5, help="tasks (contexts) the circuit is built for")
    add("--epochs", type=int, default=30)
    add("--batch", type=int, default=32)
    add("--lr", type=float, default=2e-2)
    add("--surrogate", default="fast_sigmoid", choices=["fast_sigmoid", "arctan"])
    add("--slope", type=float, default=10.0)
    add("--chunk", type=int, default=100, help="presentations per compiled run")
    add("--seed", type=int, default=0)
    add("--build-dir", default=None)
    return parser.parse_args(argv)


def run(args) -> dict:
    from brian2 import ms
    from sklearn.linear_model import LogisticRegression

    from mtspark_bio.circuit import CircuitConfig, Classifier, StimulusSchedule, predictions
    from mtspark_bio.data import load_dataset, permuted_tasks, subsample
    from mtspark_bio.devices import Simulation
    from mtspark_bio.surrogate import LIFReadout, SpikeTrains, TrainConfig, record_spike_trains, train_classifier
    from mtspark_bio.surrogate_brian2 import Brian2Readout

    dataset = load_dataset("digits")
    task = subsample(permuted_tasks(dataset, args.n_tasks, args.seed)[args.task],
                     args.train_samples, args.test_samples, args.seed)
    config = CircuitConfig.from_overrides(n_features=dataset.x_train.shape[1], n_classes=dataset.n_classes,
                           n_tasks=args.n_tasks, seed=args.seed).validate()
    dt = 0.25 * ms
    t_sample = config.input.t_sample_ms * ms
    model = LIFReadout(config.hidden.n_hidden, (config.n_classes,), dt_ms=float(dt / ms),
                       surrogate=args.surrogate, slope=args.slope)

    sim = Simulation(args.device, directory=args.build_dir, seed=args.seed, dt=dt)
    schedule = StimulusSchedule(config, args.chunk)
    circuit = Classifier(config, "dendritic", schedule)
    readout = Brian2Readout(model, circuit.hidden, t_sample)
    sim.add(*circuit.objects, *readout.objects)
    start = time.perf_counter()
    sim.build(schedule.duration)
    build_s = time.perf_counter() - start

    def present(x, y, weights=None):
        """Show images (plasticity off); hidden spike trains and Brian2 readout counts."""
        hidden, counts = [], []
        for first in range(0, len(y), args.chunk):
            sl = slice(first, first + args.chunk)
            n = len(y[sl])
            inputs = schedule.values(x[sl], y[sl], np.full(n, task.index), np.zeros(n))
            if weights is not None:
                inputs.update(readout.inputs(weights))
            sim.run(inputs)
            hidden.append(record_spike_trains(circuit.hidden_spikes, n, config.hidden.n_hidden, dt, t_sample))
            counts.append(readout.readout(n))
        return SpikeTrains.concatenate(hidden), np.concatenate(counts)

    try:
        start = time.perf_counter()
        train_hidden, _ = present(task.x_train, task.y_train)
        record_s = time.perf_counter() - start
        start = time.perf_counter()
        weights, history = train_classifier(model, train_hidden, task.y_train,
                                            TrainConfig(epochs=args.epochs, batch=args.batch, lr=args.lr,
                                                        seed=args.seed))
        train_s = time.perf_counter() - start
        test_hidden, brian_counts = present(task.x_test, task.y_test, weights)
    finally:
        sim.close()
    numpy_counts = model.predict(weights, test_hidden)
    brian_pred, numpy_pred = predictions(brian_counts), predictions(numpy_counts)
    probe = LogisticRegression(max_iter=2000).fit(train_hidden.counts(), task.y_train)
    return {
        "accuracy_brian2": float((brian_pred == task.y_test).mean()),
        "accuracy_numpy": float((numpy_pred == task.y_test).mean()),
        "train_accuracy_numpy": float((predictions(model.predict(weights, train_hidden)) == task.y_train).mean()),
        "identical_counts": float((brian_counts == numpy_counts).all(axis=1).mean()),
        "same_decision": float((brian_pred == numpy_pred).mean()),
        "probe_accuracy": float(probe.score(test_hidden.counts(), task.y_test)),
        "hidden_spikes_per_presentation": float(len(test_hidden.sample) / len(test_hidden)),
        "loss_first_last": (history[0], history[-1]),
        "n_train": len(task.y_train), "n_test": len(task.y_test),
        "build_s": build_s, "record_s": record_s, "train_s": train_s,
    }


def main(argv=None) -> int:
    args = parse(argv)
    result = run(args)
    for key, value in result.items():
        print(f"{key:32s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
