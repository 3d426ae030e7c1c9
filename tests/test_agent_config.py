"""AgentConfig in sections by concern (input, hidden, readout, run), its readouts one
class each (models.agent_readouts): overrides name a field flat or by its section, a
readout's parameters belong to that readout, and the stored form gives the
configuration back."""

import dataclasses

import numpy as np
import pytest

from mtspark_bio.agent import AgentConfig, AgentHiddenParams, AgentInputParams, AgentRunParams
from mtspark_bio.models.actor_critic import DuelingParams
from mtspark_bio.models.agent_readouts import RSTDPActorCritic, SurrogateDuelingHead, make_agent_readout

SIZES = dict(n_features=6, n_games=2)


def test_flat_and_sectioned_overrides_give_one_configuration():
    flat = AgentConfig.from_overrides(**SIZES, n_hidden=30, motion="on_off", step_ms=10.0, seed=4, eta=0.05)
    sectioned = AgentConfig.from_overrides(**SIZES, hidden={"n_hidden": 30}, input={"motion": "on_off"},
                                           run={"step_ms": 10.0, "seed": 4}, readout={"rule": "rstdp", "eta": 0.05})
    assert flat == sectioned
    assert flat.hidden == dataclasses.replace(AgentHiddenParams(), n_hidden=30)
    assert flat.input == dataclasses.replace(AgentInputParams(), motion="on_off")
    assert flat.run == AgentRunParams(step_ms=10.0, seed=4)
    assert flat.readout == RSTDPActorCritic(eta=0.05)
    assert flat.steps_per_agent_step == 40
    stored = dataclasses.asdict(flat)
    assert stored["readout"]["rule"] == "rstdp" and stored["hidden"]["n_hidden"] == 30
    assert AgentConfig(**stored) == flat  # the stored form gives the configuration back


def test_the_readout_is_chosen_by_name_and_owns_its_parameters():
    surrogate = AgentConfig.from_overrides(**SIZES, readout="surrogate", dqn_lr=1e-4, gamma=0.9)
    assert surrogate.readout == SurrogateDuelingHead(dqn_lr=1e-4, gamma=0.9)
    assert surrogate.n_out == 19 and not surrogate.readout.neuromodulated
    rstdp = AgentConfig.from_overrides(**SIZES, gamma=0.9)  # gamma is both readouts' own
    assert rstdp.readout.gamma == 0.9 and rstdp.readout.neuromodulated
    assert rstdp.n_out == 10 + 18 * 5  # V, then five neurons per action
    with pytest.raises(ValueError, match="dqn_lr is a parameter of the surrogate readout, not of 'rstdp'"):
        AgentConfig.from_overrides(**SIZES, dqn_lr=1e-4)
    with pytest.raises(ValueError, match="trace_lambda is a parameter of the rstdp readout"):
        AgentConfig.from_overrides(**SIZES, readout="surrogate", trace_lambda=0.5)
    with pytest.raises(ValueError, match=r"agent readout must be one of \['rstdp', 'surrogate'\]"):
        make_agent_readout("q_learning")


def test_the_rstdp_readout_is_the_dueling_readouts_mathematics():
    readout = RSTDPActorCritic(n_value=3, n_value_opponent=2, n_per_action=4, gamma=0.95)
    assert readout.dueling == DuelingParams(n_value=3, n_value_opponent=2, n_per_action=4, gamma=0.95)
    assert readout.n_out(18) == 3 + 2 + 18 * 4
    # the synapses' credit trace decays by gamma * lambda per step; scaling adds its summed total
    scaled = RSTDPActorCritic(trace_lambda=0.5, output_weight_total=2.0).synapses()
    assert "w_total_post" in scaled.model and scaled.after_consolidation
    assert RSTDPActorCritic().synapses().after_consolidation is None
    weights = readout.initial_weights(np.random.default_rng(0), 7, 18)
    assert weights.shape == (7 * readout.n_out(18),) and 0 <= weights.min() and weights.max() <= readout.w_out_init


@pytest.mark.parametrize("overrides, words", [
    ({"hidden": {"motion": "change"}}, "hidden section has no fields ['motion']"),
    ({"motion": "optic-flow"}, "motion must be one of"),
    ({"gated_fraction": 0.0}, "gated_fraction must be in (0, 1]"),
    ({"step_ms": 1.1}, "must be a positive multiple of dt_ms"),
    ({"trace_lambda": 2.0}, "trace_lambda must be in [0, 1]"),
    ({"readout": "surrogate", "dqn_batch": 0}, "dqn_batch, dqn_target_update, n_step and replay_capacity must be >= 1"),
])
def test_a_bad_field_is_named(overrides, words):
    with pytest.raises(ValueError) as error:
        AgentConfig.from_overrides(**SIZES, **overrides).validate()
    assert words in str(error.value)


def test_every_field_name_is_found_flat():
    assert AgentConfig.field("p_ff")[0] is AgentHiddenParams
    assert AgentConfig.field("seed")[0] is AgentRunParams
    assert AgentConfig.field("eta")[0] is RSTDPActorCritic
    assert AgentConfig.field("dqn_lr")[0] is SurrogateDuelingHead
    with pytest.raises(KeyError):
        AgentConfig.field("input")  # a section, not a field
    assert {"n_hidden", "motion", "eta", "n_stream", "step_ms", "n_games"} <= set(AgentConfig.field_names())
    assert "rule" not in AgentConfig.field_names()


@pytest.mark.runtime
def test_both_readouts_sit_on_the_same_hidden_network():
    """The surrogate head draws the random numbers the R-STDP layer's weights take, so
    the context and feed-forward wiring after it is the same for both readouts."""
    from brian2 import defaultclock, ms

    from mtspark_bio.agent import AgentNetwork

    defaultclock.dt = AgentRunParams().dt_ms * ms  # the head checks it runs at its model's dt
    networks = [AgentNetwork(AgentConfig.from_overrides(**SIZES, n_hidden=12, n_inhibitory=3, readout=name),
                             "dendritic") for name in ("rstdp", "surrogate")]
    for part in ("feedforward", "context_synapses"):
        a, b = (getattr(n, part) for n in networks)
        np.testing.assert_array_equal(a.i[:], b.i[:])
        np.testing.assert_array_equal(a.j[:], b.j[:])
        np.testing.assert_array_equal(a.w[:], b.w[:])
    assert hasattr(networks[0], "output_synapses") and hasattr(networks[1], "head")
