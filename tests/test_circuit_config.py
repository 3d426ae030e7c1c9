"""CircuitConfig in sections by concern (input, hidden, readout rule, run): overrides
name a field flat or by its section, and stored files of either form read alike."""

import dataclasses

import numpy as np
import pytest

from mtspark_bio.circuit import CircuitConfig, HiddenParams, InputParams, RunParams
from mtspark_bio.models.readout_rules import ErrorDriven
from mtspark_bio.readers import flat_circuit

SIZES = dict(n_features=4, n_classes=3, n_tasks=2)


def test_flat_and_sectioned_overrides_give_one_configuration():
    flat = CircuitConfig.from_overrides(**SIZES, n_hidden=40, t_present_ms=50.0, seed=3,
                                        readout={"rule": "error_driven", "eta": 0.1})
    sectioned = CircuitConfig.from_overrides(**SIZES, hidden={"n_hidden": 40}, input={"t_present_ms": 50.0},
                                             run={"seed": 3}, readout={"rule": "error_driven", "eta": 0.1})
    assert flat == sectioned
    assert flat.hidden == dataclasses.replace(HiddenParams(), n_hidden=40)
    assert flat.input == dataclasses.replace(InputParams(), t_present_ms=50.0)
    assert flat.run.seed == 3 and flat.readout == ErrorDriven(eta=0.1)
    # the stored form (asdict: sections nested) gives the configuration back
    assert CircuitConfig.from_overrides(**dataclasses.asdict(flat)) == flat


def test_the_hidden_layer_grows_with_the_tasks_unless_sized():
    assert CircuitConfig(**SIZES).hidden.n_hidden == 2 * HiddenParams.hidden_per_task
    assert CircuitConfig.from_overrides(**SIZES, hidden_per_task=7).hidden.n_hidden == 14


@pytest.mark.parametrize("overrides, words", [
    ({"hidden": {"t_present_ms": 50.0}}, "hidden section has no fields ['t_present_ms']"),
    ({"gating": "banana"}, "gating must be one of"),
    ({"t_rest_ms": 0.0}, "t_rest_ms and t_present_ms must be > 0"),
    ({"integration": "rk9"}, "integration must be"),
])
def test_a_bad_field_is_named(overrides, words):
    with pytest.raises(ValueError) as error:
        CircuitConfig.from_overrides(**SIZES, **overrides).validate()
    assert words in str(error.value)


def test_every_field_name_is_found_flat():
    assert CircuitConfig.field("p_ff") == (InputParams, {f.name: f for f in dataclasses.fields(InputParams)}["p_ff"])
    assert CircuitConfig.field("seed")[0] is RunParams
    with pytest.raises(KeyError):
        CircuitConfig.field("hidden")  # a section, not a field
    assert {"n_hidden", "t_present_ms", "integration", "readout", "n_tasks"} <= set(CircuitConfig.field_names())


def test_files_written_before_and_after_the_sections_read_alike():
    config = CircuitConfig.from_overrides(**SIZES, n_hidden=40)
    stored = dataclasses.asdict(config)
    old = {**{k: v for k, v in stored.items() if k not in ("input", "hidden", "run")},
           **stored["input"], **stored["hidden"], **stored["run"]}  # the flat form of earlier files
    assert flat_circuit(stored) == flat_circuit(old) == old
    assert flat_circuit(stored)["n_hidden"] == 40 and flat_circuit(stored)["readout"]["rule"] == "instar"


def test_partition_gating_gives_each_cell_to_exactly_one_task():
    from brian2 import defaultclock, ms, prefs

    from mtspark_bio.circuit import Classifier, StimulusSchedule

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.25 * ms
    config = CircuitConfig.from_overrides(**{**SIZES, "n_tasks": 3}, n_hidden=12, n_inhibitory=2,
                                          context_per_task=2).validate()
    schedule = StimulusSchedule(config, 2)
    gated = Classifier(config, "dendritic", schedule).gated_sets()
    assert gated.shape == (3, 12) and (gated.sum(axis=0) == 1).all() and (gated.sum(axis=1) == 4).all()
    assert Classifier(config, "point", schedule).gated_sets() is None


@pytest.mark.parametrize("rule", ["instar", "rstdp"])
def test_out_degrees_are_the_synapses_brian2_made(rule):
    """The circuit's bookkeeping of the synapses each neuron's spike reaches (the
    synaptic operations per image) equals the wiring Brian2 built: feed-forward,
    inhibition, readout, context, and the R-STDP rule's lateral and noise pathways."""
    from brian2 import defaultclock, ms, prefs

    from mtspark_bio.circuit import Classifier, StimulusSchedule

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.25 * ms
    config = CircuitConfig.from_overrides(**{**SIZES, "n_tasks": 2}, n_hidden=12, n_inhibitory=3,
                                          context_per_task=2, gating="random", readout={"rule": rule}).validate()
    net = Classifier(config, "dendritic", StimulusSchedule(config, 2))
    degree = lambda synapses: np.bincount(synapses.i[:], minlength=len(synapses.source))  # noqa: E731
    to_inh, from_inh = (s for s in net.objects if s.name.endswith(("to_inh", "from_inh")))
    np.testing.assert_array_equal(net.out_degree["input"], degree(net.feedforward))
    np.testing.assert_array_equal(net.out_degree["hidden"], degree(to_inh) + degree(net.readout_synapses))
    np.testing.assert_array_equal(net.out_degree["inhibitory"], degree(from_inh))
    np.testing.assert_array_equal(net.out_degree["context"], degree(net.context_synapses))
    readout_pathways = [s for s in net.objects if s.name.endswith("lateral")]
    expected = sum((degree(s) for s in readout_pathways), np.zeros(config.n_classes))
    np.testing.assert_array_equal(net.out_degree["readout"], expected)
    assert set(net.out_degree) == set(net.population_spikes)
    assert ("readout_noise" in net.out_degree) == (rule == "rstdp")
