"""The integration method of the conductance-based neurons: the models' default
(models.neurons.SOMA_METHOD) unless a run names another (CircuitConfig.run.integration), so
results made before the default changed stay reproducible."""

import pytest
from brian2 import defaultclock, ms, prefs

from mtspark_bio.models import neurons


def classifier(variant="dendritic", **config):
    from mtspark_bio.circuit import CircuitConfig, Classifier, StimulusSchedule

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.25 * ms
    config = CircuitConfig.from_overrides(n_features=4, n_classes=3, n_tasks=2, n_hidden=6, n_inhibitory=2,
                           context_per_task=2, **config).validate()
    net = Classifier(config, variant, StimulusSchedule(config, 2))
    return {o.name: o for o in net.objects}


def test_every_conductance_based_model_uses_the_default_method():
    for model in (neurons.DendriticNeuron(), neurons.PointNeuron(), neurons.Interneuron()):
        assert model.spec().method == neurons.SOMA_METHOD
    assert neurons.SOMA_METHOD in neurons.INTEGRATION_METHODS


@pytest.mark.parametrize("integration", ["", "exponential_euler", "rk2"])
def test_circuit_integration_reaches_the_neuron_groups(integration):
    expected = integration or neurons.SOMA_METHOD
    groups = classifier(integration=integration)
    assert groups["dendritic_hidden"].method_choice == expected
    assert groups["dendritic_inhibitory"].method_choice == expected
    # the counting readout has no conductances: its own method whatever the circuit says
    assert groups["dendritic_readout"].method_choice == neurons.CountingReadout().spec().method
    rstdp = classifier("point", integration=integration, readout={"rule": "rstdp"})
    assert rstdp["point_readout"].method_choice == expected


def test_the_stored_configuration_names_the_method_a_run_used():
    from mtspark_bio.circuit import CircuitConfig

    # a result file's circuit JSON must say which method ran, not "the default of the day"
    assert CircuitConfig(n_features=4, n_classes=3, n_tasks=1).run.integration == neurons.SOMA_METHOD
    assert CircuitConfig.from_overrides(n_features=4, n_classes=3, n_tasks=1, integration="rk2").run.integration == "rk2"


def test_unknown_integration_method_is_refused_naming_the_choices():
    from mtspark_bio.circuit import CircuitConfig

    with pytest.raises(ValueError, match=r"integration must be .* 'rk9'") as error:
        CircuitConfig.from_overrides(n_features=4, n_classes=3, n_tasks=1, integration="rk9").validate()
    assert all(method in str(error.value) for method in neurons.INTEGRATION_METHODS)
