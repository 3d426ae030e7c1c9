"""mutual_information_bits against hand-computed contingency tables; the RAM state
variables on the real games."""

import math

import numpy as np
import pytest

from mtspark_bio.state_dependence import (STATE_VARIABLES, UNDEFINED, action_state_bits,
                                          action_state_information, enduro_road_offset,
                                          mutual_information_bits)


def table_to_sequences(table):
    """Sequences (actions, states) whose contingency table is ``table`` (rows: actions)."""
    actions, states = [], []
    for a, row in enumerate(table):
        for s, count in enumerate(row):
            actions += [a] * count
            states += [s] * count
    return np.array(actions), np.array(states)


def test_independent_sequences_give_zero_bits():
    # the table is the product of its margins: p(a, s) = p(a) p(s)
    actions, states = table_to_sequences([[2, 4, 2], [1, 2, 1]])
    assert mutual_information_bits(actions, states) == pytest.approx(0.0, abs=1e-12)
    assert mutual_information_bits(np.zeros(50), np.arange(50) % 3) == 0.0  # a constant policy


def test_action_equal_to_a_binary_equiprobable_state_gives_one_bit():
    states = np.array([0, 1] * 20)
    assert mutual_information_bits(states, states) == pytest.approx(1.0)
    assert mutual_information_bits(states + 7, np.where(states, "below", "above")) == pytest.approx(1.0)  # labels


def test_two_by_three_table_by_hand():
    # counts [[2, 1, 1], [0, 1, 3]], N = 8: p(a) = (1/2, 1/2), p(s) = (1/4, 1/4, 1/2);
    # terms p log2(p / p(a)p(s)): 1/4 log2 2 + 1/8 log2 1 + 1/8 log2(1/2) + 0 + 1/8 log2 1
    # + 3/8 log2(3/2) = 1/8 + 3/8 log2 1.5 = 0.344361 bits
    actions, states = table_to_sequences([[2, 1, 1], [0, 1, 3]])
    expected = 0.125 + 0.375 * math.log2(1.5)
    assert mutual_information_bits(actions, states) == pytest.approx(expected)
    assert mutual_information_bits(states, actions) == pytest.approx(expected)  # symmetric
    # Miller-Madow: occupied bins 5 (joint), 2, 3: I - (5 - 2 - 3 + 1) / (2 N ln 2)
    assert (mutual_information_bits(actions, states, correction="miller-madow")
            == pytest.approx(expected - 1 / (16 * math.log(2))))


def test_bad_arguments():
    with pytest.raises(ValueError):
        mutual_information_bits([0, 1], [0])
    with pytest.raises(ValueError):
        mutual_information_bits([0, 1], [0, 1], correction="jackknife")
    assert mutual_information_bits([], []) == 0.0


def play(game, actions, seed=0):
    """RAM after each step of ``actions`` on the real game (no sticky actions)."""
    from mtspark_bio.atari import make_env

    env = make_env(game, sticky=False)
    env.reset(seed=seed)
    rams = []
    for a in actions:
        env.step(int(a))
        rams.append(env.unwrapped.ale.getRAM().copy())
    env.close()
    return rams


@pytest.mark.parametrize("game", ["pong", "breakout", "enduro"])
def test_state_variable_range_on_real_ram(game):
    pytest.importorskip("ale_py")
    rng = np.random.default_rng(0)
    actions = rng.integers(18, size=400)
    actions[::25] = 1  # FIRE now and then, so Breakout serves
    rams = play(game, actions)
    variable = STATE_VARIABLES[game]
    states = np.array([variable(r) for r in rams])
    assert set(states) <= {UNDEFINED, *range(variable.n_states)}
    assert (states != UNDEFINED).sum() > 50
    info = action_state_information(game, actions, rams)
    assert 0.0 <= info["bits"] <= math.log2(variable.n_states) + 1e-9
    assert sum(info["state_counts"]) == info["steps"]


def test_breakout_paddle_x_moves_with_the_joystick():
    pytest.importorskip("ale_py")
    rams = play("breakout", [1] + [3] * 20 + [4] * 40)  # FIRE, RIGHT x 20, LEFT x 40
    paddle_x = np.array([r[72] for r in rams], dtype=int)
    assert paddle_x[20] > paddle_x[1] + 20 and paddle_x[-1] < paddle_x[20] - 40
    ball_y = np.array([r[101] for r in rams], dtype=int)
    assert ball_y[0] == 0 or ball_y[5] > 0  # served by FIRE


def test_enduro_lane_byte_follows_the_steering():
    pytest.importorskip("ale_py")
    rams = play("enduro", [1] * 20 + [12] * 100 + [11] * 150)  # FIRE, LEFTFIRE, RIGHTFIRE
    offset = np.array([enduro_road_offset(r) for r in rams])
    assert offset[119] > 8 and STATE_VARIABLES["enduro"](rams[119]) == 0  # steered left: left lane
    assert offset[-1] < -8 and STATE_VARIABLES["enduro"](rams[-1]) == 2  # then right


def test_the_protocols_recorder_reads_the_state_each_action_was_chosen_in():
    """The final evaluation's recorder (``closed_loop.play_random(record=...)``, the same
    ``state_dependence.state_of`` the agents' controllers use) on real Breakout: every step gets the state
    variable of the RAM it acted on; a policy that copies the state carries its entropy,
    a constant one nothing."""
    from mtspark_bio.closed_loop import play_random

    steps = []
    play_random("breakout", 2, np.random.default_rng(0), sticky=False, env_seed=0, max_episode_frames=4000,
                record=steps)
    actions, states = map(np.array, zip(*steps))
    assert set(np.unique(states)) <= {UNDEFINED, 0, 1} and (states != UNDEFINED).sum() > 50
    defined = states != UNDEFINED
    assert action_state_bits(np.zeros_like(actions), states) == pytest.approx(0, abs=1e-9)
    p = np.bincount(states[defined]) / defined.sum()
    entropy = -(p[p > 0] * np.log2(p[p > 0])).sum()
    assert action_state_bits(np.where(defined, states, 0), states) == pytest.approx(entropy, abs=0.02)
    assert action_state_bits(actions, states) < 0.1  # a uniformly random policy: about nothing
