"""The Atari agent: preprocessing, encoding, the dueling readout, the TD modulator, the
compiled closed loop against the runtime loop, and the protocol end to end.

The compiled and runtime rollouts are made once per module (fixtures) and the tests
compare what they recorded: Brian2 has one device at a time, and conftest resets it
after every test.
"""

import h5py
import numpy as np
import pytest

from mtspark_bio.models.actor_critic import (DuelingParams, action_tag, broadcast, greedy_action, q_values,
                                             td_error)
from mtspark_bio.front import cli
from mtspark_bio.results import read_arrays
from mtspark_bio.atari import CROPS, GAMES, N_ACTIONS, Preprocessor, make_env

pytestmark = pytest.mark.filterwarnings("ignore:'parseAll' argument is deprecated")


# --- preprocessing -------------------------------------------------------------------

def blank_frame(grey=87):
    return np.full((210, 160), grey, dtype=np.uint8)


def test_foreground_pixel_lights_its_grid_cell_and_the_score_area_is_cropped():
    prep = Preprocessor("pong", grid=16)
    frame = blank_frame()
    frame[10, 20] = 236  # in the score area (rows < 34): cropped away
    rows, cols = CROPS["pong"]
    frame[rows.start + 35, cols.start + 100] = 236  # one pixel of "ball"
    features = prep(frame)
    foreground, motion = features[:256].reshape(16, 16), features[256:]
    assert features.shape == (prep.n_features,) == (512,)
    # 160 x 160 crop -> 10 x 10 pixel cells: row 35 -> cell 3, column 100 -> cell 10
    assert foreground.sum() == 1 and foreground[3, 10] == 1
    assert motion.sum() == 0  # the first frame of an episode has no motion


def test_motion_channel_marks_where_the_frame_changed():
    prep = Preprocessor("pong", grid=16)
    rows, cols = CROPS["pong"]
    first, second = blank_frame(), blank_frame()
    first[rows.start + 5, 5] = 236
    second[rows.start + 5, 15] = 236  # the object moved one cell to the right
    prep(first)
    motion = prep(second)[256:].reshape(16, 16)
    assert motion[0, 0] == 1 and motion[0, 1] == 1 and motion.sum() == 2
    prep.reset()
    assert prep(second)[256:].sum() == 0


def test_on_off_motion_maps_carry_the_direction_of_movement():
    """motion="on_off": an object moving right lights its new cell in the ON map and
    its old cell in the OFF map; moving left swaps them, which the change map cannot
    tell apart."""
    prep = Preprocessor("pong", grid=16, motion="on_off")
    assert prep.n_features == 768
    rows, _ = CROPS["pong"]
    left, right = blank_frame(), blank_frame()
    left[rows.start + 5, 5] = 236    # cell (0, 0)
    right[rows.start + 5, 15] = 236  # cell (0, 1)
    first = prep(left)
    assert first[256:].sum() == 0  # the first frame of an episode has no motion
    maps = prep(right)
    on, off = maps[256:512].reshape(16, 16), maps[512:].reshape(16, 16)
    assert on[0, 1] == 1 and on.sum() == 1 and off[0, 0] == 1 and off.sum() == 1
    maps = prep(left)  # and back to the left
    on, off = maps[256:512].reshape(16, 16), maps[512:].reshape(16, 16)
    assert on[0, 0] == 1 and on.sum() == 1 and off[0, 1] == 1 and off.sum() == 1
    with pytest.raises(ValueError, match="motion must be one of"):
        Preprocessor("pong", motion="optic-flow")


def test_real_frames_of_each_game_give_sparse_binary_features():
    for game in GAMES:
        env = make_env(game, sticky=False)
        frame, _ = env.reset(seed=0)
        prep = Preprocessor(game)
        prep(frame)
        for _ in range(30):
            frame, *_ = env.step(1)  # FIRE: launches the ball / accelerates
        features = prep(frame)
        env.close()
        assert set(np.unique(features)) <= {0.0, 1.0}
        foreground = features[:256].mean()
        assert 0 < foreground < 0.6, (game, foreground)  # objects, not the background
        assert features[256:].sum() > 0, game  # something moved


def test_environment_settings():
    env = make_env("breakout", sticky=True)
    assert env.action_space.n == N_ACTIONS == 18
    assert env.unwrapped._frameskip == 4
    env.close()
    with pytest.raises(ValueError, match="unknown game"):
        from mtspark_bio.atari import check_games
        check_games(["pong", "tetris"])


@pytest.mark.runtime
def test_encoder_fires_regularly_at_the_feature_rate():
    """Input neurons fire at x * input_rate, regularly (deterministic phase
    oscillators), so a feature of 0 is silent and 1 gives the full rate."""
    from brian2 import Hz, Network, SpikeMonitor, ms

    from mtspark_bio.models.neurons import regular_encoder
    from mtspark_bio.network import make_neurons

    rates = np.array([0.0, 0.25, 0.5, 1.0]) * 200.0
    group = make_neurons(regular_encoder(), 4, "encoder")
    group.rate = rates * Hz
    group.phase = 0.3
    monitor = SpikeMonitor(group, name="encoder_spikes")
    Network(group, monitor).run(500 * ms)
    counts = np.bincount(monitor.i[:], minlength=4)
    np.testing.assert_allclose(counts, rates * 0.5, atol=1)
    for k in (1, 2, 3):
        intervals = np.diff(np.sort(monitor.t[monitor.i == k] / ms))
        assert np.ptp(intervals) <= 0.1 + 1e-9  # regular: intervals differ by at most one step
        assert intervals.mean() == pytest.approx(1000 / rates[k], abs=0.1)

@pytest.mark.runtime
def test_divisive_normalisation_equalises_the_frames_drive():
    """models.neurons.DivisiveNormalisation as the agent builds it: a frame lighting 12
    features (Pong) and one lighting 70 (Breakout), each at 200 Hz, end up driving the
    hidden layer with summed rates within a factor 1.4 of each other (5.8 without), and
    every encoder fires at drive * total / (semi-saturation + sum of drives)."""
    from brian2 import Hz, Network, SpikeMonitor, ms

    from mtspark_bio.agent import AgentConfig, AgentNetwork

    cfg = AgentConfig.from_overrides(n_features=80, n_games=1, n_hidden=8, n_inhibitory=2, input_total_hz=14_000,
                      input_semi_saturation_hz=1_000)
    summed = {}
    for n_active in (12, 70):
        agent = AgentNetwork(cfg, "point")
        drive = np.zeros(80)
        drive[:n_active] = 200.0
        agent.inputs.drive = drive * Hz
        monitor = SpikeMonitor(agent.inputs, name="normalised_input_spikes")
        Network(*agent.objects, monitor).run(200 * ms)
        counts = np.bincount(monitor.i[:], minlength=80)
        expected = 200.0 * 14_000 / (1_000 + 200.0 * n_active)
        np.testing.assert_allclose(counts[:n_active], expected * 0.2, atol=1)
        assert counts[n_active:].sum() == 0
        summed[n_active] = counts.sum() / 0.2
    ratio = summed[70] / summed[12]
    print(f"\n[divisive normalisation] summed input rate: 12 active {summed[12]:.0f} Hz, 70 active "
          f"{summed[70]:.0f} Hz (ratio {ratio:.2f}; {70 / 12:.2f} without normalisation)")
    assert ratio < 1.4


@pytest.mark.runtime
def test_output_scaling_keeps_each_output_neurons_summed_weight():
    """output_weight_total: after every agent step's consolidation each output neuron's
    incoming weights sum to the total again, whatever the learning did; the relative
    weights are kept (synaptic scaling, Turrigiano 2008)."""
    from brian2 import Network, ms

    from mtspark_bio.agent import AgentConfig, AgentNetwork

    cfg = AgentConfig.from_overrides(n_features=8, n_games=1, n_hidden=10, n_inhibitory=2, output_weight_total=2.0)
    agent = AgentNetwork(cfg, "point")
    before = np.array(agent.output_synapses.w[:])
    post = np.array(agent.output_synapses.j[:])
    Network(*agent.objects).run(25 * ms)  # one step boundary at 20 ms
    after = np.array(agent.output_synapses.w[:])
    np.testing.assert_allclose(np.bincount(post, weights=after), 2.0, rtol=1e-9)
    for j in (0, 7):  # no modulator yet: only the scale changed
        np.testing.assert_allclose(after[post == j] / after[post == j].sum(),
                                   before[post == j] / before[post == j].sum(), rtol=1e-9)


# --- dueling readout and TD modulator ---------------------------------------------

PARAMS = DuelingParams(n_value=2, n_per_action=2, value_gain=0.5, value_baseline=1.0, advantage_gain=0.25)


def test_q_is_value_plus_advantage_minus_mean_advantage():
    counts = np.zeros(2 + N_ACTIONS * 2)
    counts[:2] = [3, 1]            # V: mean 2 spikes -> V = 0.5 * (2 - 1) = 0.5
    counts[2 + 2 * 4: 2 + 2 * 5] = [4, 4]  # action 4: mean 4 -> A = 1.0
    counts[2 + 2 * 7] = 2          # action 7: mean 1 -> A = 0.25
    V, A, Q = q_values(counts, PARAMS, N_ACTIONS)
    assert V == pytest.approx(0.5)
    assert A[4] == pytest.approx(1.0) and A[7] == pytest.approx(0.25) and A[0] == 0
    mean_A = 1.25 / 18
    assert Q[4] == pytest.approx(0.5 + 1.0 - mean_A)
    assert Q[0] == pytest.approx(0.5 - mean_A)
    assert Q.mean() == pytest.approx(V)  # the advantage is centred
    assert greedy_action(Q, np.random.default_rng(0), epsilon=0.0) == 4
    with pytest.raises(ValueError, match="output counts"):
        q_values(counts[:-1], PARAMS, N_ACTIONS)


def test_td_error_sign_on_hand_made_transitions():
    p = DuelingParams(gamma=0.9, delta_clip=1.0)
    assert td_error(1.0, 0.2, 0.5, False, p) == pytest.approx(1.0)     # 1 + 0.45 - 0.2, clipped to 1
    assert td_error(1.0, 0.8, 0.5, False, p) == pytest.approx(0.65)    # reward better than expected
    assert td_error(0.0, 0.5, 0.5, False, p) == pytest.approx(-0.05)   # no reward, value as expected
    assert td_error(0.0, 0.0, 0.5, False, p) == pytest.approx(0.45)    # better state than expected
    assert td_error(-3.0, 0.0, 0.0, False, p) == pytest.approx(-1.0)   # reward clipped to its sign
    assert td_error(0.0, 0.3, 10.0, True, p) == pytest.approx(-0.3)    # terminal: no bootstrap
    assert np.all(broadcast(-0.3, PARAMS, N_ACTIONS) == -0.3)
    tag = action_tag(5, PARAMS, N_ACTIONS)  # V and the chosen action's population are marked
    assert np.all(tag[:2] == 1) and np.all(tag[2 + 10:2 + 12] == 1) and np.count_nonzero(tag) == 4
    assert np.count_nonzero(action_tag(None, PARAMS, N_ACTIONS)) == 2


def test_opponent_value_population_gives_a_signed_value_without_a_floor():
    """With V- (n_value_opponent), V = gain (mean V+ - mean V-): it goes below the
    baseline code's floor -gain * baseline, and V- is tagged -1 so it learns with -delta."""
    p = DuelingParams(n_value=2, n_value_opponent=2, n_per_action=2, value_gain=0.5, value_baseline=1.0)
    counts = np.zeros(4 + N_ACTIONS * 2)
    counts[2:4] = [4, 2]  # V+ silent, V- 3 spikes per neuron
    V, A, Q = q_values(counts, p, N_ACTIONS)
    assert V == pytest.approx(-1.5)  # the baseline code's floor is -0.5
    counts[:2] = [3, 3]
    assert q_values(counts, p, N_ACTIONS)[0] == pytest.approx(0.0)
    tag = action_tag(0, p, N_ACTIONS)
    np.testing.assert_array_equal(tag[:6], [1, 1, -1, -1, 1, 1])
    assert np.count_nonzero(tag) == 6


def test_differential_td_error_removes_a_steady_loss_rate():
    """AverageReward: with a point lost every 10th step and a critic that predicts
    nothing (V = 0), the plain TD error is negative on average (-0.1 per step); the
    differential one learns the rate (R -> -0.1) and its mean goes to 0, so an actor
    it modulates is no longer depressed whatever it does."""
    from mtspark_bio.models.actor_critic import AverageReward

    p = DuelingParams(gamma=0.99, delta_clip=1.0)
    rate = AverageReward(0.01)
    assert td_error(-1.0, 0.0, 0.0, False, p, average_reward=-0.25) == pytest.approx(-0.75)
    plain, differential = [], []
    for step in range(20_000):
        reward = -1.0 if step % 10 == 9 else 0.0
        plain.append(td_error(reward, 0.0, 0.0, False, p))
        differential.append(td_error(reward, 0.0, 0.0, False, p, rate.value))
        rate.update(differential[-1])
    assert np.mean(plain) == pytest.approx(-0.1)
    assert rate.value == pytest.approx(-0.1, abs=0.01)
    assert abs(np.mean(differential[-1000:])) < 1e-3
    assert AverageReward(0.0).update(-1.0) == 0.0  # rate 0: plain discounted TD


def test_epsilon_greedy_explores_and_breaks_ties_at_random():
    rng = np.random.default_rng(1)
    q = np.zeros(18)
    q[3] = q[9] = 1.0
    greedy = [greedy_action(q, rng, 0.0) for _ in range(200)]
    assert set(greedy) == {3, 9}
    explored = [greedy_action(q, rng, 1.0) for _ in range(500)]
    assert len(set(explored)) == 18


# --- closed loop: compiled vs runtime ---------------------------------------------

ROLLOUT_STEPS = 40
SMALL = dict(n_hidden=40, n_inhibitory=10, context_per_game=4)
#: every optional mechanism of issue 17 on at once: normalised inputs (a linked variable
#: and a summed pool), ON/OFF motion, V-, the tagged trace, pre-credit, the reward rate
#: and the output layer's scaling (a summed variable read in the 'end' slot)
MECHANISMS = dict(input_total_hz=3000.0, motion="on_off", n_value_opponent=4, trace_lambda=0.8, pre_credit=0.3,
                  average_reward_rate=0.05, output_weight_total=6.0)
ROLLOUT_CONFIGS = {"defaults": {}, "mechanisms": MECHANISMS}


def rollout(device, tmp_path_factory, setting="defaults"):
    """Train each variant for ROLLOUT_STEPS on breakout, then (compiled only) one short
    evaluation on each game; returns what the tests compare."""
    from mtspark_bio.agent import AgentConfig
    from mtspark_bio.closed_loop import AgentController, ClosedLoop

    extra = ROLLOUT_CONFIGS[setting]
    n_features = Preprocessor("breakout", motion=extra.get("motion", "change")).n_features
    config = AgentConfig.from_overrides(n_features=n_features, n_games=3, **SMALL, **extra).validate()
    loop = ClosedLoop(config, ["dendritic", "point"], device=device, chunk_steps=ROLLOUT_STEPS // 2 + 1,
                      build_dir=tmp_path_factory.mktemp(f"agent_{device}_{setting}"))
    out = {"build_s": loop.sim.timings["build_s"]}
    try:
        if device == "runtime":  # standalone values exist only after a run
            out["initial"] = {v: np.array(a.output_synapses.w[:]) for v, a in loop.agents.items()}
        controllers = {v: AgentController("breakout", config, np.random.default_rng(k), "train",
                                          frames=4 * ROLLOUT_STEPS, epsilon=0.1, env_seed=5, record_actions=True)
                       for k, v in enumerate(loop.agents)}
        loop.play(controllers, game=1)
        out["actions"] = {v: list(c.actions) for v, c in controllers.items()}
        out["deltas"] = {v: list(c.deltas) for v, c in controllers.items()}
        out["weights"] = {v: loop.state[v]["output_w"] for v in loop.agents}
        out["runs"] = loop.sim.runs
        out["games"] = {}
        for game_index, game in enumerate(("pong", "breakout", "enduro") if device == "cpp" else ()):
            c = AgentController(game, config, np.random.default_rng(9), "evaluate", episodes=1, epsilon=0.0,
                                env_seed=1, drive_amp=0.0, max_episode_frames=80, record_actions=True)
            loop.play({"dendritic": c}, game=game_index)
            out["games"][game] = {"steps": c.steps, "scores": list(c.log.scores),
                                  "output_spikes": loop.agents["dendritic"].output_spikes.num_spikes}
            c.close()
        for c in controllers.values():
            c.close()
    finally:
        loop.close()
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return rollout("cpp", tmp_path_factory)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    return rollout("runtime", tmp_path_factory)


@pytest.fixture(scope="module")
def compiled_mechanisms(tmp_path_factory):
    return rollout("cpp", tmp_path_factory, "mechanisms")


@pytest.fixture(scope="module")
def runtime_mechanisms(tmp_path_factory):
    return rollout("runtime", tmp_path_factory, "mechanisms")


@pytest.mark.standalone
@pytest.mark.runtime
@pytest.mark.slow
@pytest.mark.parametrize("setting", ["defaults", "mechanisms"])
def test_compiled_and_runtime_loops_take_the_same_actions(setting, request):
    suffix = "" if setting == "defaults" else "_mechanisms"
    compiled, runtime = request.getfixturevalue("compiled" + suffix), request.getfixturevalue("runtime" + suffix)
    for v in ("dendritic", "point"):
        assert len(compiled["actions"][v]) == ROLLOUT_STEPS
        assert compiled["actions"][v] == runtime["actions"][v]
        np.testing.assert_allclose(compiled["deltas"][v], runtime["deltas"][v], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(compiled["weights"][v], runtime["weights"][v], rtol=1e-9, atol=1e-12)
    # the greedy choices differ between the two networks: the actions come from them
    assert compiled["actions"]["dendritic"] != compiled["actions"]["point"]


@pytest.mark.standalone
@pytest.mark.runtime
@pytest.mark.slow
def test_training_moves_the_output_weights_and_spans_several_compiled_runs(compiled, runtime):
    assert compiled["runs"] >= 2  # ROLLOUT_STEPS needed more than one run of the binary
    for v in ("dendritic", "point"):
        assert any(d != 0 for d in compiled["deltas"][v])
        # the same seed gives the same initial wiring on both devices
        assert np.abs(compiled["weights"][v] - runtime["initial"][v]).max() > 0


@pytest.mark.standalone
@pytest.mark.slow
def test_a_short_closed_loop_rollout_on_each_game(compiled):
    for game, result in compiled["games"].items():
        assert result["steps"] == 20, game  # 80-frame episode cap at frame skip 4
        assert len(result["scores"]) == 1, game
        assert result["output_spikes"] > 0, game


# --- closed loop with the surrogate-trained head -----------------------------------

def surrogate_rollout(device, tmp_path_factory):
    """Both variants with the surrogate head train for ROLLOUT_STEPS on breakout; the
    weights each run acted with are kept, to replay its hidden trains through NumPy."""
    from mtspark_bio.agent import AgentConfig
    from mtspark_bio.closed_loop import ClosedLoop, SurrogateController

    config = AgentConfig.from_overrides(n_features=512, n_games=3, readout="surrogate", dqn_update_every=4,
                                        learn_start=1, **SMALL).validate()
    loop = ClosedLoop(config, ["dendritic", "point"], device=device, chunk_steps=ROLLOUT_STEPS // 2 + 1,
                      build_dir=tmp_path_factory.mktemp(f"surrogate_agent_{device}"))
    acted_with = {v: [] for v in loop.agents}
    try:
        controllers = {v: SurrogateController("breakout", config, np.random.default_rng(k), "train",
                                              frames=4 * ROLLOUT_STEPS, epsilon=0.2, env_seed=5,
                                              record_actions=True, record_readout=True)
                       for k, v in enumerate(loop.agents)}
        for v, c in controllers.items():
            learn = c.learn_from_run

            def spy(agent, state, n, learn=learn, v=v):
                acted_with[v].append(agent.head_init if state is None else
                                     {k: w.copy() for k, w in state.params.items()})
                return learn(agent, state, n)
            c.learn_from_run = spy
        loop.play(controllers, game=1)
        for c in controllers.values():
            c.close()
    finally:
        loop.close()
    return {"config": config, "controllers": controllers, "acted_with": acted_with, "final": dict(loop.state)}


@pytest.fixture(scope="module")
def surrogate_compiled(tmp_path_factory):
    return surrogate_rollout("cpp", tmp_path_factory)


@pytest.mark.standalone
@pytest.mark.slow
def test_surrogate_head_in_the_compiled_network_is_the_numpy_model(surrogate_compiled):
    """What the loop read from the compiled Brian2 head at every step equals the NumPy
    forward pass on the hidden spike trains recorded in the same run, with the weights
    that run carried: the head that acts is the model DQN trains. (The runtime device
    gave the same to 2e-14 and identical DQN losses when this was built; the head alone
    is compared on both devices in test_surrogate.py.)"""
    from mtspark_bio.surrogate import dueling_q

    result = surrogate_compiled
    model = result["config"].surrogate_head()
    for v, c in result["controllers"].items():
        read = np.array(c.readouts)
        assert len(read) == ROLLOUT_STEPS and len(c.runs) == 2
        numpy_y = []
        for trains, params in zip(c.runs, result["acted_with"][v]):
            acted = ROLLOUT_STEPS // 2  # per run: one delivering exchange, then the acted steps
            numpy_y.append(model.forward(params, trains)["y"][:acted])
        numpy_y = np.concatenate(numpy_y)
        np.testing.assert_allclose(read, numpy_y, rtol=1e-9, atol=1e-12)
        assert (dueling_q(read).argmax(axis=1) == dueling_q(numpy_y).argmax(axis=1)).all()
        assert read.std() > 0.01  # the head responds (its stream neurons fire)
        # DQN trained after the first run: the second run acted with other weights
        first, second = result["acted_with"][v]
        assert any(np.abs(first[k] - second[k]).max() > 0 for k in first)


@pytest.mark.standalone
@pytest.mark.slow
def test_surrogate_transitions_link_each_step_to_the_next_across_runs(surrogate_compiled):
    """Every acted step but the last is one stored transition whose next state is the
    following presentation; the one left pending at the end of run 0 ends at run 1's
    first presentation (the same observation, shown again)."""
    c = surrogate_compiled["controllers"]["dendritic"]
    assert len(c.transitions) == ROLLOUT_STEPS - 1
    acted = ROLLOUT_STEPS // 2
    for (state, action, reward, done, following), taken in zip(c.transitions, c.actions):
        run, sample = state
        assert following == ((run, sample + 1) if sample < acted - 1 else (run + 1, 0))
        assert action == taken and reward in (-1.0, 0.0, 1.0)


@pytest.mark.standalone
@pytest.mark.slow
def test_surrogate_replay_holds_the_runs_presentations_as_n_step_transitions(surrogate_compiled):
    """The learner carried as the agent's state keeps the block's steps as 3-step
    transitions between replay numbers, and a replayed presentation is the hidden
    layer's recorded response to that step (its spike trains, event for event)."""
    c = surrogate_compiled["controllers"]["dendritic"]
    learner = surrogate_compiled["final"]["dendritic"]
    replay = learner.replays["breakout"]
    head = c.config.readout
    # every step but the last (no next state) is stored once; the block's end cut the last n - 1
    assert len(replay) == ROLLOUT_STEPS - 1
    per_run = c.runs[0].n_samples
    gamma = head.gamma
    for k, (state, action, reward, done, following) in enumerate(c.transitions):
        number = state[0] * per_run + state[1]
        assert replay.state[k] == number and replay.action[k] == action
        window = c.transitions[k:k + head.n_step]
        ends = next((j for j, t in enumerate(window) if t[3]), None)
        window = window if ends is None else window[:ends + 1]
        assert replay.ret[k] == pytest.approx(sum(gamma ** j * t[2] for j, t in enumerate(window)))
        last = window[-1][4]
        assert replay.next_state[k] == last[0] * per_run + last[1]
        assert replay.discount[k] == pytest.approx(0.0 if ends is not None else gamma ** len(window))
    for run, trains in enumerate(c.runs):
        numbers = np.arange(trains.n_samples) + run * per_run
        np.testing.assert_array_equal(replay.store.trains(numbers).dense(), trains.dense())
    # one update per dqn_update_every steps played (learn_start 1: from the first run on)
    assert learner.updates == len(c.losses) == ROLLOUT_STEPS // head.dqn_update_every


def test_cuda_closed_loop_is_refused_with_the_reason():
    from mtspark_bio.agent import AgentConfig
    from mtspark_bio.closed_loop import ClosedLoop

    with pytest.raises(ValueError, match="no CUDA route"):
        ClosedLoop(AgentConfig(n_features=512, n_games=1), ["dendritic"], device="cuda")


# --- the protocol ---------------------------------------------------------------------

TINY = ["--games", "breakout,pong", "--frames", "160", "--switch-every", "80", "--eval-episodes", "1",
        "--final-eval-episodes", "3",
        "--eval-max-frames", "80", "--chunk-steps", "15", "--no-figure",
        "--agent", '{"n_hidden": 30, "n_inhibitory": 8, "context_per_game": 4}']


def read(path):
    with h5py.File(path, "r") as f:
        out = {"complete": bool(f.attrs["complete"]), "blocks_done": int(f.attrs["blocks_done"])}
        for a in f["agents"]:
            g = f["agents"][a]
            out[a] = {"S": g["score_matrix"][...], "episodes": g["episode_scores"][...],
                      "S_hns": g["score_matrix_hns"][...], "baseline": g["baseline_score"][...],
                      "metrics": {k: g.attrs[k] for k in ("acc", "bwt", "fwt", "forgetting")},
                      "raw_metrics": {k: g.attrs[f"raw_{k}"] for k in ("acc", "bwt", "fwt", "forgetting")},
                      "forgetting_per_game": g["forgetting_per_game"][...],
                      "final": g["final_episode_scores"][...], "p": g["final_p_vs_random"][...],
                      "bits": g["final_action_state_bits"][...]}
            if "state" in g:
                out[a]["w"] = g["state/output_w"][...]
        out["schedule"] = f["schedule"][...]
    return out


@pytest.mark.standalone
@pytest.mark.slow
def test_protocol_resume_after_interruption_gives_the_same_result(tmp_path, monkeypatch):
    from mtspark_bio.experiments import atari

    args = TINY + ["--build-dir", str(tmp_path / "build")]
    full = tmp_path / "full.h5"
    assert cli.main(["atari", "--out", str(full)] + args) == 0
    result = read(full)
    assert result["complete"] and result["blocks_done"] == 4
    assert result["dendritic"]["S"].shape == (4, 2) and np.isfinite(result["dendritic"]["S"]).all()
    assert np.isfinite(result["random"]["S"]).all() and "w" not in result["random"]
    assert all(np.isfinite(v) for v in result["dendritic"]["metrics"].values())
    # the metrics are on the human-normalised scale, the raw ones beside them (issue 17)
    from mtspark_bio.atari import human_normalised
    from mtspark_bio.metrics import continual_metrics, forgetting_per_task

    mine = result["dendritic"]
    np.testing.assert_allclose(mine["S_hns"], human_normalised(mine["S"], ["breakout", "pong"]))
    hns = continual_metrics(mine["S_hns"], result["schedule"], human_normalised(mine["baseline"], ["breakout", "pong"]))
    raw = continual_metrics(mine["S"], result["schedule"], mine["baseline"])
    assert mine["metrics"] == pytest.approx(hns) and mine["raw_metrics"] == pytest.approx(raw)
    np.testing.assert_array_equal(mine["forgetting_per_game"], forgetting_per_task(mine["S"], result["schedule"]))
    # the final evaluation: 3 episodes per game, agent and random agent, a p-value per game
    assert mine["final"].shape == (2, 3) and np.isfinite(mine["final"]).all()
    assert np.isfinite(result["random"]["final"]).all() and np.isnan(result["random"]["p"]).all()
    assert ((mine["p"] > 0) & (mine["p"] <= 1)).all()
    # state dependence per game for every agent (NaN only where no step had the ball in play)
    assert mine["bits"].shape == result["random"]["bits"].shape == (2,)

    interrupted = tmp_path / "interrupted.h5"
    original_train = atari.Runner.train

    def train_then_stop(self, block):
        if block == 2:
            raise KeyboardInterrupt
        return original_train(self, block)

    monkeypatch.setattr(atari.Runner, "train", train_then_stop)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["atari", "--out", str(interrupted)] + args)
    partial = read(interrupted)
    assert partial["blocks_done"] == 2 and not partial["complete"]
    assert np.isnan(partial["dendritic"]["S"][2:]).all()
    assert not list(tmp_path.glob("*.tmp-*"))
    monkeypatch.setattr(atari.Runner, "train", original_train)
    assert cli.main(["atari", "--out", str(interrupted), "--resume"] + args) == 0
    resumed = read(interrupted)
    assert resumed["complete"]
    for a in ("dendritic", "random"):
        np.testing.assert_array_equal(result[a]["episodes"], resumed[a]["episodes"])
        np.testing.assert_array_equal(result[a]["final"], resumed[a]["final"])
        np.testing.assert_array_equal(result[a]["bits"], resumed[a]["bits"])
    np.testing.assert_array_equal(result["dendritic"]["w"], resumed["dendritic"]["w"])

    # interrupted during the final evaluation: every block is kept, the file is not
    # complete, and --resume plays only the final evaluation, with the same result
    in_final = tmp_path / "in_final.h5"
    original_evaluate = atari.Runner.evaluate

    def evaluate_but_not_the_final_one(self, block, episodes=None):
        if block == len(self.plan.schedule):
            raise KeyboardInterrupt
        return original_evaluate(self, block, episodes)

    monkeypatch.setattr(atari.Runner, "evaluate", evaluate_but_not_the_final_one)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["atari", "--out", str(in_final)] + args)
    partial = read(in_final)
    assert partial["blocks_done"] == 4 and not partial["complete"] and np.isnan(partial["dendritic"]["final"]).all()
    monkeypatch.setattr(atari.Runner, "evaluate", original_evaluate)
    monkeypatch.setattr(atari.Runner, "train", lambda *_: pytest.fail("a finished block was trained again"))
    assert cli.main(["atari", "--out", str(in_final), "--resume"] + args) == 0
    resumed = read(in_final)
    assert resumed["complete"]
    for a in ("dendritic", "random"):
        np.testing.assert_array_equal(result[a]["final"], resumed[a]["final"])


@pytest.mark.runtime
def test_protocol_with_the_surrogate_readout_resumes_exactly(tmp_path, monkeypatch):
    """--readout surrogate end to end (runtime device): the head's learner (weights,
    target, Adam's moments, the replay memories) is saved per block and a resumed run
    equals an uninterrupted one."""
    from mtspark_bio.experiments import atari

    # shorter than TINY: the runtime device runs ~10 agent steps per second
    args = TINY + ["--frames", "80", "--switch-every", "40", "--eval-max-frames", "40", "--readout", "surrogate",
                   "--device", "runtime", "--agents", "dendritic", "--agent",
                   '{"n_hidden": 30, "n_inhibitory": 8, "context_per_game": 4, "learn_start": 4, "dqn_update_every": 2}']
    full = tmp_path / "full.h5"
    assert cli.main(["atari", "--out", str(full)] + args) == 0
    with h5py.File(full, "r") as f:
        state = read_arrays(f["agents/dendritic/state"])
        assert f.attrs["complete"] and np.isfinite(f["agents/dendritic/score_matrix"][...]).all()
    assert sorted(state) == ["adam", "head", "replay", "target", "updates"]

    interrupted = tmp_path / "interrupted.h5"
    original_train = atari.Runner.train
    monkeypatch.setattr(atari.Runner, "train", lambda self, block: (_ for _ in ()).throw(KeyboardInterrupt)
                        if block == 2 else original_train(self, block))
    with pytest.raises(KeyboardInterrupt):
        cli.main(["atari", "--out", str(interrupted)] + args)
    monkeypatch.setattr(atari.Runner, "train", original_train)
    assert cli.main(["atari", "--out", str(interrupted), "--resume"] + args) == 0
    with h5py.File(full, "r") as a, h5py.File(interrupted, "r") as b:
        np.testing.assert_array_equal(a["agents/dendritic/episode_scores"][...], b["agents/dendritic/episode_scores"][...])
        stored = read_arrays(b["agents/dendritic/state"])
        assert (stored["replay"]["breakout"]["action"].size > 0 and stored["updates"] > 0
                and stored["adam"]["t"] == stored["updates"])

        def same(x, y):
            if isinstance(x, dict):
                assert sorted(x) == sorted(y)
                for key in x:
                    same(x[key], y[key])
            else:
                np.testing.assert_array_equal(x, y)
        same(read_arrays(a["agents/dendritic/state"]), stored)


@pytest.mark.parametrize("extra, message", [
    (["--games", "pong,tetris"], "unknown game"),
    (["--agents", "dendritic,monkey"], "unknown agent"),
    (["--device", "cuda"], "no CUDA route"),
    (["--frames", "0"], "--frames must be >= 1"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--agent", '{"n_hiden": 3}'], "unknown keys"),
    (["--agent", "{not json"], "not valid JSON"),
    (["--agent", '{"readout": "surrogate"}'], "--readout"),
    (["--agent", '{"n_stream": -1}'], "n_stream"),
    (["--readout", "surrogate", "--agent", '{"replay": "all"}'], "replay must be 'game' or 'block'"),
    (["--readout", "surrogate", "--agent", '{"n_step": 0}'], "n_step and replay_capacity must be >= 1"),
    (["--epsilon-start", "0.1", "--epsilon-end", "0.5"], "exploration needs 0 <= --epsilon-end <= --epsilon-start"),
    (["--epsilon-decay", "0"], "0 < --epsilon-decay <= 1"),
    (["--agent", '{"motion": "optic-flow"}'], "motion must be one of change, on_off"),
    (["--agent", '{"trace_lambda": 2}'], "trace_lambda must be in [0, 1]"),
    (["--agent", '{"input_total_hz": -5}'], "input_total_hz must be >= 0"),
])
def test_bad_input_fails_before_simulating(tmp_path, capsys, extra, message):
    out = tmp_path / "bad.h5"
    assert cli.main(["atari", "--out", str(out)] + TINY + extra) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
