"""The reward computed inside the network (models.neuromodulation), on the runtime device:
given the readout's spike counts and the label, the tick must deliver the modulator the
docstring promises, so that R-STDP moves the right neurons' weights."""

import numpy as np
import pytest
from brian2 import Network, NeuronGroup, Synapses, TimedArray, defaultclock, ms, prefs

from mtspark_bio.models import neuromodulation

pytestmark = [pytest.mark.runtime,
              pytest.mark.filterwarnings("ignore:'parseAll' argument is deprecated")]


def tick(counts, label, scope, modulator="reward", punishment=0.5, trial=1.0, expected=0.0):
    """Run one reward tick on a readout with the given spike counts; return (reward, M, expected)."""
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.1 * ms
    n = len(counts)
    readout = NeuronGroup(n, "count : 1\n" + neuromodulation.READOUT_EQUATIONS,
                          namespace={"label": TimedArray([float(label)], dt=1 * ms)})
    readout.count = counts
    readout.expected_reward = expected
    margin = Synapses(readout, readout, model=neuromodulation.margin_synapse("t"),
                      namespace={"label": TimedArray([float(label)], dt=1 * ms)})
    margin.connect()
    readout.run_regularly(neuromodulation.reward_tick(modulator, str(trial), 4.0, punishment=punishment,
                                                      scope=scope, label_now="label(t)"),
                          dt=0.5 * ms, when="end")
    Network(readout, margin).run(0.1 * ms)
    return np.array(readout.reward[:]), np.array(readout.M[:]), np.array(readout.expected_reward[:])


def test_population_reward_follows_the_margin():
    reward, M, _ = tick([1, 5, 0], label=1, scope="population")  # margin 5 - 1 = 4 > 0
    np.testing.assert_array_equal(reward, [1, 1, 1])
    reward, M, _ = tick([4, 2, 0], label=1, scope="population", punishment=0.5)  # margin 2 - 4 < 0
    np.testing.assert_array_equal(reward, [-0.5] * 3)
    reward, M, _ = tick([2, 2, 0], label=1, scope="population")  # a tie: no reward
    np.testing.assert_array_equal(reward, [0, 0, 0])


def test_population_reward_prediction_error_subtracts_and_updates_the_expectation():
    reward, M, expected = tick([0, 3, 0], label=1, scope="population", modulator="reward_prediction_error",
                               expected=0.2)
    np.testing.assert_allclose(M, 1 - 0.2)
    np.testing.assert_allclose(expected, 0.2 + (1 - 0.2) / 4.0)


def test_neuron_reward_goes_to_the_label_neuron_only():
    reward, M, _ = tick([3, 0, 7], label=0, scope="neuron", punishment=0.25)
    np.testing.assert_array_equal(M, [1, -0.25, -0.25])  # regardless of who won
    reward, M, _ = tick([3, 0, 7], label=2, scope="neuron", punishment=0.25)
    np.testing.assert_array_equal(M, [-0.25, -0.25, 1])


def test_no_reward_outside_training_presentations():
    for scope in neuromodulation.SCOPES:
        _, M, _ = tick([3, 0, 7], label=0, scope=scope, trial=0.0)
        np.testing.assert_array_equal(M, 0)


def test_bad_scope_or_missing_label_is_refused():
    with pytest.raises(ValueError, match="scope"):
        neuromodulation.reward_tick("reward", "1", 10, scope="everyone")
    with pytest.raises(ValueError, match="label_now"):
        neuromodulation.reward_tick("reward", "1", 10, scope="neuron")


@pytest.mark.parametrize("flags, expected_w", [([1.0, 0.0], 1.0), ([0.0, 1.0], 0.25)])
def test_readout_lateral_inhibition_follows_the_training_flag(flags, expected_w):
    """training_inhibition scales the readout's lateral inhibition during training
    presentations only: after the last presentation it is 0.25 if that one was a
    training presentation and 1 (fully on) if it was a test presentation."""
    from mtspark_bio.circuit import CircuitConfig, Classifier, StimulusSchedule
    from mtspark_bio.models.readout_rules import RewardSTDP

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.25 * ms
    config = CircuitConfig.from_overrides(n_features=4, n_classes=3, n_tasks=1, n_hidden=6, n_inhibitory=2,
                           context_per_task=2, readout=RewardSTDP(training_inhibition=0.25))
    stimuli = StimulusSchedule(config, 2)
    classifier = Classifier(config, "point", stimuli)
    for array, value in stimuli.values(np.zeros((2, 4)), [0, 1], [0, 0], flags).items():
        array.values[...] = value
    lateral = next(o for o in classifier.objects if o.name == "point_lateral")
    Network(*classifier.objects).run(stimuli.duration - 1 * ms)
    np.testing.assert_allclose(lateral.w[:], expected_w)
