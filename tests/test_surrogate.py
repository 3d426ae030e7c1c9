"""Surrogate-gradient readout (issue 7): BPTT against finite differences, the Brian2
readout against the NumPy model on runtime and cpp (same spikes), weights loaded into a
compiled binary as run inputs, and the learning rules on tasks with known answers."""

import numpy as np
import pytest

from mtspark_bio.surrogate import (
    DQNConfig,
    LIFReadout,
    SpikeTrains,
    TrainConfig,
    Transitions,
    cross_entropy,
    dueling_q,
    dueling_readout,
    gradient_check,
    record_spike_trains,
    surrogate_functions,
    train_classifier,
    train_dqn,
)

# ------------------------------------------------------------------ helpers


def random_trains(n_samples=200, n_steps=40, n_neurons=50, p=0.05, seed=1):
    rng = np.random.default_rng(seed)
    return SpikeTrains.from_dense(rng.random((n_samples, n_steps, n_neurons)) < p)


def classification_readout(seed=0):
    """10 spiking outputs with random weights strong enough to fire, and biases."""
    model = LIFReadout(50, (10,), dt_ms=0.5)
    params = model.init(seed, scale=6.0)
    params["b0"] = np.random.default_rng(seed).normal(0.3, 0.3, 10)
    return model, params


def q_readout(seed=1):
    """Dueling head with spiking streams (4 + 4 LIF) and 3 actions, Q read from step 10 on."""
    model = dueling_readout(50, 3, n_stream=4, dt_ms=0.5, window=(10, None))
    params = model.init(seed, scale=6.0)
    params["b0"] = np.full(8, 0.5)
    return model, params


def shifted_earlier(trains):
    """The same spikes one step earlier: what a model that applied input spikes in the
    step they occur (instead of Brian2's next step) would see."""
    keep = trains.step > 0
    return SpikeTrains(trains.sample[keep], trains.step[keep] - 1, trains.neuron[keep], *trains.shape)


def assert_brian2_matches_numpy(result, trains, cls, q):
    (cls_model, cls_params), (q_model, q_params) = cls, q
    cache = cls_model.forward(cls_params, trains)
    counts = cache["y"]
    assert counts.sum(axis=1).mean() > 1, "test weights should make the readout fire"
    assert cache["z"][0].sum() < 0.5 * cache["z"][0].size
    same_spikes = (result["spikes"][0].dense() == cache["z"][0]).all(axis=(1, 2))
    assert same_spikes.mean() >= 0.99, f"identical spike trains on {same_spikes.mean():.1%} of samples"
    np.testing.assert_array_equal(result["y"][0], counts)

    y = q_model.predict(q_params, trains)
    assert q_model.forward(q_params, trains)["z"][0].sum() > len(trains), "streams should spike"
    np.testing.assert_allclose(result["y"][1], y, rtol=0, atol=1e-9)
    agree = (dueling_q(result["y"][1]).argmax(axis=1) == dueling_q(y).argmax(axis=1)).mean()
    assert agree >= 0.99

    # the comparison is sensitive to the order of operations within a step
    wrong = cls_model.predict(cls_params, shifted_earlier(trains))
    assert (wrong == counts).all(axis=1).mean() < 0.9


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "arctan"])
@pytest.mark.parametrize("detach_reset", [True, False])
@pytest.mark.parametrize("output", ["spikes", "membrane"])
@pytest.mark.parametrize("window", [None, (5, 25)])
def test_bptt_matches_finite_differences(surrogate, detach_reset, output, window):
    rng = np.random.default_rng(2)
    x = (rng.random((3, 30, 6)) < 0.2).astype(float)
    model = LIFReadout(6, (4, 3), output=output, dt_ms=1.0, surrogate=surrogate, slope=3.0,
                       detach_reset=detach_reset, window=window)
    params = model.init(0, scale=3.0)
    for key in ("b0", "b1"):
        params[key] = rng.normal(0.0, 0.5, params[key].shape)
    labels = np.array([0, 1, 2])
    loss = (lambda y: cross_entropy(y, labels)) if output == "spikes" else (lambda y: (0.5 * (y ** 2).sum(), y))
    assert model.forward(params, x)["z"][0].sum() > 0  # the hidden LIF layer spikes
    assert gradient_check(model, params, x, loss) < 1e-4


def test_gradient_check_catches_a_wrong_derivative():
    rng = np.random.default_rng(3)
    x = (rng.random((2, 20, 5)) < 0.3).astype(float)
    model = LIFReadout(5, (3,), dt_ms=1.0, slope=3.0)
    params = model.init(0, scale=3.0)
    wrong_slope = surrogate_functions("fast_sigmoid", 6.0)[0]
    model._surrogate = wrong_slope  # backward no longer matches the forward's sigmoid
    assert gradient_check(model, params, x, lambda y: cross_entropy(y, np.array([0, 1]))) > 1e-2


def test_surrogates_are_derivatives_of_their_sigmoids():
    x = np.linspace(-3, 3, 601)
    for kind in ("fast_sigmoid", "arctan"):
        derivative, sigmoid = surrogate_functions(kind, 4.0)
        assert sigmoid(-50.0) < 0.01 and sigmoid(50.0) > 0.99 and np.isclose(sigmoid(0.0), 0.5)
        numeric = (sigmoid(x + 1e-6) - sigmoid(x - 1e-6)) / 2e-6
        np.testing.assert_allclose(derivative(x), numeric, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------ recording


def test_spike_trains_round_trip_and_binning():
    trains = random_trains(7, 12, 9)
    dense = trains.dense()
    np.testing.assert_array_equal(SpikeTrains.from_dense(dense).dense(), dense)
    np.testing.assert_array_equal(trains.subset([4, 1]).dense(), dense[[4, 1]])
    both = SpikeTrains.concatenate([trains.subset([0, 1]), trains.subset([2, 3, 4])])
    np.testing.assert_array_equal(both.dense(), dense[:5])
    np.testing.assert_array_equal(trains.counts(), dense.sum(axis=1))
    # from times: spikes on a presentation's first step (t = k * t_sample, which is not
    # exactly representable) go to that presentation; spikes after the last are dropped
    dt, n_steps = 0.25e-3, 300
    t_sample = n_steps * dt
    times = np.array([k * n_steps * dt for k in range(1, 4)] + [3 * t_sample - dt, 5 * t_sample])
    rec = record_spike_trains((times, np.array([0, 1, 2, 3, 4])), 4, 5, dt, t_sample)
    assert rec.sample.tolist() == [1, 2, 2, 3] and rec.step.tolist() == [0, 0, n_steps - 1, 0]
    with pytest.raises(ValueError, match="whole number"):
        record_spike_trains((times, np.zeros(5)), 4, 5, 0.3e-3, 1e-3)


# ------------------------------------------------------------------ Brian2 vs NumPy


@pytest.mark.runtime
def test_brian2_runtime_gives_the_numpy_spikes():
    from mtspark_bio.surrogate_brian2 import evaluate_in_brian2

    trains = random_trains()
    cls, q = classification_readout(), q_readout()
    result = evaluate_in_brian2(*cls, trains, device="runtime", extra=[q])
    assert_brian2_matches_numpy(result, trains, cls, q)


@pytest.mark.standalone
@pytest.mark.slow
def test_brian2_cpp_gives_the_numpy_spikes_and_takes_new_weights_without_recompiling(standalone_dir):
    from brian2 import ms

    from mtspark_bio.devices import Simulation, binary_mtime
    from mtspark_bio.surrogate_brian2 import Brian2Readout, spike_source

    trains = random_trains()
    cls, q = classification_readout(), q_readout()
    dt = 0.5 * ms
    with Simulation("cpp", directory=standalone_dir, dt=dt) as sim:
        source = spike_source(trains, dt)
        readouts = [Brian2Readout(m, source, trains.n_steps * dt, name=f"r{k}") for k, (m, _) in enumerate((cls, q))]
        sim.add(source, *readouts[0].objects, *readouts[1].objects)
        sim.build(len(trains) * trains.n_steps * dt)
        built = binary_mtime(standalone_dir)
        for seed in (0, 7):  # two weight sets through one binary
            cls_s, q_s = classification_readout(seed), q_readout(seed + 1)
            sim.run({**readouts[0].inputs(cls_s[1]), **readouts[1].inputs(q_s[1])})
            result = {"y": [r.readout(len(trains)) for r in readouts], "spikes": [readouts[0].output_spikes(len(trains))]}
            assert_brian2_matches_numpy(result, trains, cls_s, q_s)
        assert binary_mtime(standalone_dir) == built


def test_readout_rejects_a_wrong_source_or_time_step():
    from brian2 import NeuronGroup, ms

    from mtspark_bio.surrogate_brian2 import Brian2Readout

    with pytest.raises(ValueError, match="expects 50"):
        Brian2Readout(LIFReadout(50, (2,)), NeuronGroup(49, "v : 1"), 10 * ms)
    with pytest.raises(ValueError, match="dt_ms"):  # defaultclock.dt is 0.1 ms here
        Brian2Readout(LIFReadout(50, (2,), dt_ms=0.25), NeuronGroup(50, "v : 1"), 10 * ms)


# ------------------------------------------------------------------ learning


def pattern_trains(states, n_steps=30, per_state=10, p=0.15, seed=0):
    """State s drives input neurons [s * per_state, (s + 1) * per_state) as Poisson spikes."""
    rng = np.random.default_rng(seed)
    states = np.asarray(states)
    dense = np.zeros((len(states), n_steps, per_state * (states.max() + 1)), dtype=np.uint8)
    for k, s in enumerate(states):
        dense[k, :, s * per_state:(s + 1) * per_state] = rng.random((n_steps, per_state)) < p
    return SpikeTrains.from_dense(dense)


def test_classifier_readout_learns_separable_patterns():
    labels = np.tile(np.arange(3), 40)
    trains = pattern_trains(labels, seed=0)
    model = LIFReadout(trains.n_neurons, (3,), dt_ms=1.0)
    params, history = train_classifier(model, trains, labels, TrainConfig(epochs=8, lr=2e-2))
    assert history[-1] < 0.5 * history[0]
    from mtspark_bio.circuit import predictions

    test = pattern_trains(np.tile(np.arange(3), 20), seed=1)
    assert (predictions(model.predict(params, test)) == np.tile(np.arange(3), 20)).mean() > 0.9


def test_classifier_training_leaves_ungated_rows_and_the_bias_alone():
    """A block trains only the synapses from the cells its task gates: weights from the
    other cells, which fire here too, and the shared bias keep their values exactly,
    while the gated rows learn."""
    labels = np.tile(np.arange(3), 20)
    trains = pattern_trains(labels, seed=0)  # every input neuron fires in this block
    model = LIFReadout(trains.n_neurons, (3,), dt_ms=1.0)
    start = model.init(0)
    start["b0"] = np.full(3, 0.3)
    rows = np.zeros(trains.n_neurons, bool)
    rows[:15] = True
    params, history = train_classifier(model, trains, labels, TrainConfig(epochs=3, lr=2e-2, train_bias=False),
                                       params=start, rows=rows)
    assert np.array_equal(params["W0"][~rows], start["W0"][~rows])
    assert np.array_equal(params["b0"], start["b0"])
    assert np.abs(params["W0"][rows] - start["W0"][rows]).max() > 1e-3
    assert history[-1] < history[0]


@pytest.mark.parametrize("n_stream", [0, 4])
def test_dueling_dqn_converges_to_the_analytic_q_values(n_stream):
    """Two-state chain, gamma 0.9: s0 -a0-> (r 0) s1; s0 -a1-> r 0.5, end;
    s1 -a0-> r 1, end; s1 -a1-> (r 0) s0. Q* = [[0.9, 0.5], [1.0, 0.81]]."""
    table = {(0, 0): (0.0, 1, 0), (0, 1): (0.5, 0, 1), (1, 0): (1.0, 0, 1), (1, 1): (0.0, 0, 0)}
    rng = np.random.default_rng(0)
    s, a = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    r, s2, done = (np.array([table[(x, y)][k] for x, y in zip(s, a)]) for k in range(3))
    transitions = Transitions(pattern_trains(s, seed=1), a, r, pattern_trains(s2, seed=2), done)
    model = dueling_readout(transitions.states.n_neurons, 2, n_stream=n_stream, dt_ms=1.0)
    params, _ = train_dqn(model, transitions, DQNConfig(updates=500, lr=1e-2, gamma=0.9, target_update=50,
                                                        init_scale=2.0))
    q = dueling_q(model.predict(params, pattern_trains(np.repeat([0, 1], 50), seed=3)))
    learned = np.array([q[:50].mean(axis=0), q[50:].mean(axis=0)])
    np.testing.assert_allclose(learned, [[0.9, 0.5], [1.0, 0.81]], atol=0.07)


# ------------------------------------------------------------------ the DQN set-up of the Atari head (issue 29)

def test_n_step_returns_sum_the_clipped_rewards_until_n_steps_or_the_episode_ends():
    from mtspark_bio.surrogate.replay import NStepReturns

    n_step = NStepReturns(3, gamma=0.5)
    assert n_step.add(0, 1, 1.0, 1, False) == [] and n_step.add(1, 2, 0.0, 2, False) == []
    assert n_step.add(2, 0, 1.0, 3, False) == [(0, 1, 1.0 + 0.25, 3, 0.125)]  # 1 + 0.5 * 0 + 0.25 * 1, gamma^3
    # the episode terminates: every pending step is completed, nothing bootstrapped
    assert n_step.add(3, 0, -1.0, 4, True) == [(1, 2, 0.5 - 0.25, 4, 0.0), (2, 0, 1.0 - 0.5, 4, 0.0),
                                               (3, 0, -1.0, 4, 0.0)]
    # cut (block end, frame cap): bootstrapped from the last state reached, gamma^k after k steps
    n_step.add(5, 3, 1.0, 6, False)
    n_step.add(6, 4, 1.0, 7, False)
    assert n_step.cut() == [(5, 3, 1.5, 7, 0.25), (6, 4, 1.0, 7, 0.5)]
    assert n_step.cut() == []


def test_spike_replay_keeps_what_its_transitions_need_and_round_trips_through_arrays():
    from mtspark_bio.surrogate.replay import SpikeReplay

    runs = [random_trains(n_samples=4, n_steps=6, n_neurons=9, p=0.2, seed=s) for s in range(3)]
    replay = SpikeReplay(capacity=5, n_steps=6, n_neurons=9)
    bases = [replay.store.append(run) for run in runs]
    assert bases == [0, 4, 8]
    for number in range(11):
        replay.add(number, number % 3, float(number), number + 1, 0.9)
    assert len(replay) == 5  # the oldest six went, and the presentations only they used
    assert replay.store.first == 6
    kept = sorted(replay.state[:5])
    assert kept == [6, 7, 8, 9, 10]
    everything = SpikeTrains.concatenate(runs)
    np.testing.assert_array_equal(replay.store.trains([10, 6, 11]).dense(), everything.subset([10, 6, 11]).dense())
    with pytest.raises(IndexError, match="no longer"):
        replay.store.trains([5])
    states, actions, returns, next_states, discounts = replay.sample(np.random.default_rng(0), 7)
    np.testing.assert_array_equal(actions, returns.astype(int) % 3)
    np.testing.assert_array_equal(states.dense(), everything.subset(returns.astype(int)).dense())
    np.testing.assert_array_equal(next_states.dense(), everything.subset(returns.astype(int) + 1).dense())
    back = SpikeReplay.from_arrays(replay.to_arrays())
    for name in SpikeReplay.ARRAYS:
        np.testing.assert_array_equal(getattr(back, name)[:5], getattr(replay, name)[:5])
    assert (back.cursor, back.store.first) == (replay.cursor, replay.store.first)
    np.testing.assert_array_equal(back.store.trains(kept).dense(), replay.store.trains(kept).dense())


def chain_learner(target_update, n_stream=4):
    """The two-state chain of the test above as a replay memory of one-step transitions."""
    from mtspark_bio.surrogate.dqn import DQNLearner
    from mtspark_bio.surrogate.replay import SpikeReplay

    table = {(0, 0): (0.0, 1, 0), (0, 1): (0.5, 0, 1), (1, 0): (1.0, 0, 1), (1, 1): (0.0, 0, 0)}
    rng = np.random.default_rng(0)
    s, a = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    r, s2, done = (np.array([table[(x, y)][k] for x, y in zip(s, a)]) for k in range(3))
    trains = pattern_trains(np.concatenate([s, s2]), seed=1)
    model = dueling_readout(trains.n_neurons, 2, n_stream=n_stream, dt_ms=1.0)
    learner = DQNLearner(model, model.init(0, 2.0), lr=1e-2, target_update=target_update)
    replay = learner.replays["chain"] = SpikeReplay(1000, trains.n_steps, trains.n_neurons)
    replay.store.append(trains)
    for k in range(200):
        replay.add(k, a[k], r[k], 200 + k, 0.9 * (1 - done[k]))
    return learner


def test_dqn_learner_keeps_its_target_between_copies_and_its_adam_state():
    learner = chain_learner(target_update=5)
    start = {k: v.copy() for k, v in learner.params.items()}
    rng = np.random.default_rng(1)
    for update in range(1, 5):
        learner.update("chain", rng, 16)
        assert all(np.array_equal(learner.target[k], start[k]) for k in start)  # not copied yet
        assert learner.opt.t == update  # Adam's step count (and moments) carry on
    learner.update("chain", rng, 16)
    assert all(np.array_equal(learner.target[k], learner.params[k]) for k in start)
    assert any(not np.array_equal(learner.params[k], start[k]) for k in start)


def test_dqn_learner_restored_from_its_arrays_continues_identically():
    from mtspark_bio.surrogate.dqn import DQNLearner

    learner = chain_learner(target_update=3)
    for _ in range(4):
        learner.update("chain", np.random.default_rng(2), 16)
    twin = DQNLearner.from_arrays(learner.to_arrays(), learner.model, lr=1e-2, target_update=3)
    losses = [agent.update("chain", np.random.default_rng(3), 16) for agent in (learner, twin)]
    assert losses[0] == losses[1]
    for k in learner.params:
        np.testing.assert_array_equal(learner.params[k], twin.params[k])
        np.testing.assert_array_equal(learner.target[k], twin.target[k])


def test_dqn_learner_converges_to_the_analytic_q_values_from_its_replay():
    learner = chain_learner(target_update=50)
    rng = np.random.default_rng(0)
    for _ in range(500):
        learner.update("chain", rng, 32)
    q = dueling_q(learner.model.predict(learner.params, pattern_trains(np.repeat([0, 1], 50), seed=3)))
    learned = np.array([q[:50].mean(axis=0), q[50:].mean(axis=0)])
    np.testing.assert_allclose(learned, [[0.9, 0.5], [1.0, 0.81]], atol=0.07)
