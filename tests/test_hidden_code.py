"""What the hidden code is made of (issue 28): the options that take the input's sampling
noise out of it (regular input trains) and that take out the drive every random positive
receptive field shares (feed-forward inhibition). Real Brian2 runs of the classifier
circuit on scikit-learn's digits, plasticity off."""

import numpy as np
import pytest


def present(circuit: dict, images: np.ndarray):
    """Spike counts per presentation of every population of the point network (plasticity
    off), each image shown once, with the protocol's input rate for the digits; 40 hidden
    cells and the default inhibitory pool unless ``circuit`` says otherwise."""
    from brian2 import ms

    from mtspark_bio.circuit import Classifier, CircuitConfig, StimulusSchedule, input_rate_for
    from mtspark_bio.data import load_digits
    from mtspark_bio.devices import Simulation

    config = CircuitConfig.from_overrides(
        n_features=64, n_classes=10, n_tasks=1,
        **{"hidden_per_task": 40, "input_rate_hz": input_rate_for(load_digits().x_train)}
        | circuit)
    n = len(images)
    sim = Simulation("runtime", seed=0, dt=0.25 * ms)
    schedule = StimulusSchedule(config, n)
    net = Classifier(config, "point", schedule)
    sim.add(*net.objects)
    sim.build(schedule.duration)
    sim.run(schedule.values(images, np.zeros(n), np.zeros(n), np.zeros(n)))
    counts = net.population_counts(n)
    sim.close()
    return counts, config


def digit_images():
    from mtspark_bio.data import load_digits

    return load_digits().x_train


@pytest.mark.runtime
def test_regular_input_trains_count_what_the_rate_asks_to_within_one_spike():
    image = digit_images()[0]
    repeats = np.repeat(image[None, :], 6, axis=0)
    counts = {}
    for encoding in ("regular", "poisson"):
        found, config = present({"encoding": encoding}, repeats)
        counts[encoding] = found["input"]
    expected = image * config.input.input_rate_hz * config.input.t_present_ms * 1e-3
    regular, poisson = counts["regular"], counts["poisson"]
    # each pixel's count is its rate times the presentation, rounded by where its phase stood
    assert np.all(np.abs(regular - expected[None, :]) < 1 + 1e-9)
    assert np.all(regular.max(0) - regular.min(0) <= 1)
    # a Poisson train of the same rate varies about as much as its mean
    bright = expected > 5
    assert poisson[:, bright].var(0).mean() > 5 * regular[:, bright].var(0).mean()
    assert abs(poisson.sum(1).mean() - regular.sum(1).mean()) < 0.1 * regular.sum(1).mean()


@pytest.mark.runtime
def test_feedforward_inhibition_follows_the_input_and_takes_out_its_brightness():
    """A brighter copy of an image drives every random positive receptive field more; feed-
    forward inhibition (pixels -> inhibitory pool) takes most of that shared drive out, so
    the hidden layer's response grows less with brightness than with feedback inhibition
    alone."""
    images = digit_images()[:8]
    growth, pool = {}, {}
    for g in (0.0, 0.1):
        counts, _ = present({"encoding": "regular", "g_input_to_inh_nS": g}, np.concatenate([0.5 * images, images]))
        hidden = counts["hidden"].sum(1)
        growth[g] = hidden[8:].sum() / max(hidden[:8].sum(), 1)
        pool[g] = counts["inhibitory"].sum(1)
    print(f"hidden spikes, bright / dim: feedback only {growth[0.0]:.2f}, with feed-forward {growth[0.1]:.2f}; "
          f"pool spikes {pool[0.0][8:].mean():.0f} -> {pool[0.1][8:].mean():.0f} (bright)")
    assert pool[0.1][8:].sum() > 1.5 * pool[0.0][8:].sum()  # the inputs drive the pool
    assert growth[0.1] < 0.7 * growth[0.0]
