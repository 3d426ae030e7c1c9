"""Readout learning rules as objects (``models.readout_rules``): chosen and configured
through ``CircuitConfig.readout``, stored with their name, old flat fields accepted with a
deprecation message, and a new rule needs no change to the circuit."""

import dataclasses
import warnings

import numpy as np
import pytest

from mtspark_bio.circuit import CircuitConfig, Classifier, StimulusSchedule
from mtspark_bio.models import readout_rules
from mtspark_bio.models.readout_rules import ErrorDriven, Instar, RewardSTDP

SIZES = dict(n_features=4, n_classes=3, n_tasks=1, n_hidden=6, n_inhibitory=2, context_per_task=2)


def test_the_default_rule_is_the_instar_and_its_parameters_live_with_it():
    config = CircuitConfig.from_overrides(**SIZES)
    assert config.readout == Instar()
    assert dataclasses.asdict(config)["readout"] == {"rule": "instar", "eta": 0.05, "w_max_init": 0.05, "gain": 60.0}
    field_names = {f.name for f in dataclasses.fields(CircuitConfig)}
    assert not field_names & {"eta", "eta_instar", "reward_scope", "readout_noise_hz", "readout_rule"}


@pytest.mark.parametrize("rule", [Instar(eta=0.1), RewardSTDP(scope="population", noise_hz=0.0),
                                  ErrorDriven(temperature=2.0)])
def test_a_stored_configuration_reads_back_as_the_same_rule(rule):
    config = CircuitConfig.from_overrides(**SIZES, readout=rule)
    assert CircuitConfig.from_overrides(**dataclasses.asdict(config)) == config


def test_old_flat_fields_still_work_with_a_deprecation_message():
    with pytest.warns(FutureWarning, match=r'"readout": \{"rule": "rstdp", "eta": 0.02, "scope": "population"'):
        config = CircuitConfig.from_overrides(**SIZES, readout_rule="rstdp", eta=0.02, reward_scope="population",
                                              eta_instar=0.3)  # another rule's field changed nothing before either
    assert config.readout == RewardSTDP(eta=0.02, scope="population")
    with pytest.warns(FutureWarning):
        assert CircuitConfig.from_overrides(**SIZES, eta_instar=0.3).readout == Instar(eta=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new form warns of nothing
        CircuitConfig.from_overrides(**SIZES, readout={"rule": "rstdp", "eta": 0.02})


def test_the_old_name_of_the_in_network_readout_mode_warns():
    """A stored forgetting configuration of earlier versions names the in-network
    readout mode "rstdp"; it reads as "local", with a deprecation message."""
    from mtspark_bio.experiments.forgetting import Plan

    small = {"n_tasks": 2, "train_samples": 10, "test_samples": 5}
    with pytest.warns(FutureWarning, match="old name of 'local'"):
        plan = Plan({**small, "readout": "rstdp"})
    assert plan.config["readout"] == "local"


@pytest.mark.parametrize("readout, message", [
    ({"rule": "hebb"}, r"readout rule must be one of \['error_driven', 'instar', 'rstdp'\] \(got 'hebb'\)"),
    ({"rule": "instar", "tau_c_ms": 5}, r"readout rule 'instar' has no parameters \['tau_c_ms'\]"),
])
def test_a_bad_rule_is_refused_naming_the_choices(readout, message):
    with pytest.raises(ValueError, match=message):
        CircuitConfig.from_overrides(**SIZES, readout=readout)


def test_bad_rule_parameters_are_refused_on_validation():
    with pytest.raises(ValueError, match=r"readout.scope must be one of"):
        CircuitConfig.from_overrides(**SIZES, readout=RewardSTDP(scope="everyone")).validate()
    with pytest.raises(ValueError, match=r"readout.temperature must be > 0"):
        CircuitConfig.from_overrides(**SIZES, readout=ErrorDriven(temperature=0)).validate()


@pytest.mark.runtime
def test_a_new_rule_is_one_class_and_the_circuit_builds_it_unchanged(monkeypatch):
    """A rule written outside the engine and registered: the circuit builds and runs it
    (an anti-Hebbian toy: the label's neuron loses weight from active inputs)."""
    from brian2 import Network, defaultclock, ms, prefs

    @dataclasses.dataclass(frozen=True)
    class AntiHebbian(readout_rules.ReadoutRule):
        rule: str = dataclasses.field(default="anti_hebbian", init=False)
        eta: float = 0.1

        def readout_neuron(self, integration):
            return readout_rules.counting_readout_neuron("")

        def signal(self, trial, label_now):
            return f"M = ({trial})*int(i == int({label_now}))\ncount = 0"

        def synapses(self, point, learning, n_classes):
            return readout_rules.SynapseSpec(model="w : 1", on_pre="v_post += w",
                                             consolidate=f"w = clip(w - ({learning})*eta*M_post*count_pre, 0, 1)",
                                             namespace={"eta": self.eta})

        w_max_init = 0.5  # a class attribute, not a stored parameter

        def steps(self, trial, dendritic, n_hidden):
            return readout_rules.clear_presentation_counts(dendritic)

    monkeypatch.setitem(readout_rules.RULES, "anti_hebbian", AntiHebbian)
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.25 * ms
    config = CircuitConfig.from_overrides(**{**SIZES, "n_features": 64}, readout={"rule": "anti_hebbian"}).validate()
    assert dataclasses.asdict(config)["readout"] == {"rule": "anti_hebbian", "eta": 0.1}
    stimuli = StimulusSchedule(config, 3)
    classifier = Classifier(config, "point", stimuli)
    for array, value in stimuli.values(np.ones((3, 64)), [0, 1, 2], [0, 0, 0], [1.0, 1.0, 1.0]).items():
        array.values[...] = value
    w0 = np.asarray(classifier.readout_synapses.w[:]).copy()
    Network(*classifier.objects).run(stimuli.duration)
    w = np.asarray(classifier.readout_synapses.w[:])
    assert (w <= w0).all() and (w < w0).any()
