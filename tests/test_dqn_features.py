"""benchmarks/dqn_features.py: n-step returns, the dueling aggregation, the MLP's
backward pass against finite differences, Adam against its textbook form."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def dqn():
    sys.path.insert(0, str(BENCHMARKS))  # the script imports its sibling _common
    try:
        spec = importlib.util.spec_from_file_location("dqn_features", BENCHMARKS / "dqn_features.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def states(n, n_in=4):
    return [np.full(n_in, i, dtype=np.uint8) for i in range(n)]


def test_n_step_returns_with_a_terminal_inside_the_window(dqn):
    gamma = 0.5
    memory = dqn.Replay(capacity=10, n_in=4, n_step=3, gamma=gamma)
    s = states(5)
    rewards = [1.0, -2.0, 0.0, 5.0]  # clipped to their sign: 1, -1, 0, 1
    for t, r in enumerate(rewards):
        memory.add(s[t], t, r, s[t + 1], terminal=t == 3)
    assert memory.size == 4 and not memory.pending
    # t=0: 1 - 0.5 + 0 = 0.5, bootstrapped from s3 with gamma^3; t=1: -1 + 0 + 0.25 = -0.75,
    # t=2: 0 + 0.5 = 0.5, t=3: 1; the episode ended within their windows: nothing bootstrapped
    np.testing.assert_allclose(memory.r[:4], [0.5, -0.75, 0.5, 1.0])
    np.testing.assert_allclose(memory.discount[:4], [0.125, 0, 0, 0])
    np.testing.assert_array_equal(memory.a[:4], [0, 1, 2, 3])
    np.testing.assert_array_equal(memory.s[:4, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(memory.s_next[:4, 0], [3, 4, 4, 4])


def test_n_step_returns_cut_off_by_the_frame_cap_bootstrap(dqn):
    memory = dqn.Replay(capacity=10, n_in=4, n_step=3, gamma=0.5)
    s = states(3)
    memory.add(s[0], 0, 1.0, s[1], terminal=False)
    memory.add(s[1], 1, 1.0, s[2], terminal=False, truncated=True)
    np.testing.assert_allclose(memory.r[:2], [1.5, 1.0])
    np.testing.assert_allclose(memory.discount[:2], [0.25, 0.5])  # gamma^k after the k steps it has
    np.testing.assert_array_equal(memory.s_next[:2, 0], [2, 2])


def test_replay_wraps_around(dqn):
    memory = dqn.Replay(capacity=3, n_in=4, n_step=1, gamma=0.9)
    s = states(6)
    for t in range(5):
        memory.add(s[t], t, 0.0, s[t + 1], terminal=False)
    assert memory.size == 3 and memory.next == 2
    np.testing.assert_array_equal(memory.a, [3, 4, 2])


def test_dueling_aggregation(dqn):
    value = np.array([[1.0], [2.0]])
    advantage = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 3.0]])
    np.testing.assert_allclose(dqn.DuelingMLP.dueling(value, advantage), [[0, 1, 2], [1, 1, 4]])


def tiny_net(dqn, n_in=6, hidden=(5, 4), n_actions=3, seed=1):
    rng = np.random.default_rng(seed)
    net = dqn.DuelingMLP(n_in, hidden, rng, n_actions=n_actions)
    net.params = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(np.float64) for k, v in net.params.items()}
    return net, rng


def test_backward_matches_finite_differences(dqn):
    net, rng = tiny_net(dqn)
    x = rng.standard_normal((3, 6))
    dq = rng.standard_normal((3, 3))  # loss L = sum(dq * Q): dL/dQ = dq
    q, cache = net.forward(x)
    grads = net.backward(cache, dq)
    h = 1e-6
    for name, param in net.params.items():
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            keep = param[i]
            param[i] = keep + h
            up = (dq * net.forward(x)[0]).sum()
            param[i] = keep - h
            down = (dq * net.forward(x)[0]).sum()
            param[i] = keep
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_sparse_forward_equals_dense(dqn):
    net, rng = tiny_net(dqn, n_in=12)
    x = (rng.random(12) < 0.3).astype(np.uint8)
    np.testing.assert_allclose(net.q_binary(x), net.forward(x[None].astype(float))[0][0])


def test_adam_matches_its_textbook_form(dqn):
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal(5).astype(np.float32)}
    reference = params["w"].astype(np.float64).copy()
    adam = dqn.Adam(params, lr=0.01, eps=1e-3)
    m = v = np.zeros(5)
    for t in range(1, 4):
        g = rng.standard_normal(5)
        adam.step(params, {"w": g.astype(np.float32)})
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        reference -= 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-3)
    np.testing.assert_allclose(params["w"], reference, rtol=1e-5)


def test_defaults_are_the_issue_set_up(dqn):
    args = dqn.parse_args(["--games", "breakout", "--frames", "1000000"])
    assert (args.hidden1, args.hidden2, args.replay, args.n_step, args.lr, args.target_every) == (
        1024, 256, 100_000, 3, 1e-4, 2_000)
    assert (args.batch, args.gamma, args.update_every, args.epsilon_end, args.epsilon_frames) == (
        32, 0.99, 4, 0.01, 100_000)
    assert args.context is False and args.eval_episodes == 30 and args.max_episode_frames == 108_000
    assert dqn.epsilon_at(0, args) == 1.0 and dqn.epsilon_at(50_000, args) == pytest.approx(0.505)
    assert dqn.epsilon_at(10 ** 6, args) == pytest.approx(0.01)


def test_learning_curve_bins(dqn):
    log = [{"game": "pong", "frame": 50_000, "return": -21.0}, {"game": "pong", "frame": 100_000, "return": -19.0},
           {"game": "pong", "frame": 150_000, "return": -10.0}, {"game": "enduro", "frame": 10, "return": 3.0}]
    curve = dqn.learning_curve(log, "pong", 250_000)
    assert [c["mean_return"] for c in curve] == [-20.0, -10.0, None]
    assert curve[-1]["frames_end"] == 250_000
