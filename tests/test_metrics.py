"""Continual-learning metrics against hand-computed matrices."""

import math

import numpy as np
import pytest

from mtspark_bio.metrics import continual_metrics, forgetting_per_task, sampled_entries, summarise_over_seeds


def test_sequential_3x3():
    # Rows: after training task 0, 1, 2. Columns: tasks 0, 1, 2.
    R = np.array([
        [0.90, 0.20, 0.10],
        [0.95, 0.80, 0.30],
        [0.60, 0.50, 0.95],
    ])
    baseline = [0.10, 0.10, 0.10]
    m = continual_metrics(R, [0, 1, 2], baseline)
    # ACC = (0.60 + 0.50 + 0.95) / 3 = 2.05 / 3
    assert m["acc"] == pytest.approx(2.05 / 3)
    # BWT = ((R20 - R00) + (R21 - R11)) / 2 = ((0.60 - 0.90) + (0.50 - 0.80)) / 2 = -0.30
    assert m["bwt"] == pytest.approx(-0.30)
    # FWT = ((R01 - b1) + (R12 - b2)) / 2 = ((0.20 - 0.10) + (0.30 - 0.10)) / 2 = 0.15
    assert m["fwt"] == pytest.approx(0.15)
    # f0 = max(0.90, 0.95) - 0.60 = 0.35; f1 = max(0.80) - 0.50 = 0.30; F = 0.325
    assert m["forgetting"] == pytest.approx(0.325)


def test_cycling_6_blocks_3_tasks():
    schedule = [0, 1, 2, 0, 1, 2]
    R = np.array([
        [0.90, 0.10, 0.20],  # block 0 trained A
        [0.60, 0.70, 0.30],  # block 1 trained B
        [0.50, 0.40, 0.75],  # block 2 trained C
        [0.85, 0.35, 0.50],  # block 3 trained A
        [0.70, 0.80, 0.45],  # block 4 trained B
        [0.65, 0.50, 0.90],  # block 5 trained C (final task: C)
    ])
    baseline = [0.10, 0.05, 0.15]
    m = continual_metrics(R, schedule, baseline)
    # ACC = (0.65 + 0.50 + 0.90) / 3 = 2.05 / 3
    assert m["acc"] == pytest.approx(2.05 / 3)
    # BWT over A, B from their LAST training block (3 and 4):
    # A: 0.65 - 0.85 = -0.20; B: 0.50 - 0.80 = -0.30; mean -0.25
    assert m["bwt"] == pytest.approx(-0.25)
    # FWT over B, C from the block before their FIRST training (0 and 1):
    # B: R[0,1] - 0.05 = 0.05; C: R[1,2] - 0.15 = 0.15; mean 0.10
    assert m["fwt"] == pytest.approx(0.10)
    # Forgetting over A, B, max over blocks first(j)..4:
    # A: max(0.90, 0.60, 0.50, 0.85, 0.70) - 0.65 = 0.25
    # B: max(0.70, 0.40, 0.35, 0.80) - 0.50 = 0.30; mean 0.275
    assert m["forgetting"] == pytest.approx(0.275)


def test_forgetting_per_task_is_what_the_mean_averages():
    schedule = [0, 1, 2, 0, 1, 2]
    R = np.array([[0.90, 0.10, 0.20], [0.60, 0.70, 0.30], [0.50, 0.40, 0.75],
                  [0.85, 0.35, 0.50], [0.70, 0.80, 0.45], [0.65, 0.50, 0.90]])
    # A: 0.90 - 0.65; B: 0.80 - 0.50 (from its first block, 1, on); C is the last block's task
    np.testing.assert_allclose(forgetting_per_task(R, schedule), [0.25, 0.30, np.nan])
    # a task never trained has no forgetting either
    np.testing.assert_allclose(forgetting_per_task(R[:2], [0, 0]), [np.nan] * 3)


def test_human_normalised_score_uses_mnih_2015_random_and_human():
    from mtspark_bio.atari import human_normalised

    # Pong: random -20.7 -> 0, human 9.3 -> 100; Breakout: (16.75 - 1.7) / (31.8 - 1.7) = 0.5
    np.testing.assert_allclose(human_normalised([[-20.7, 16.75], [9.3, 1.7]], ["pong", "breakout"]),
                               [[0.0, 50.0], [100.0, 0.0]])
    np.testing.assert_allclose(human_normalised([154.8], ["enduro"]), [50.0])


def test_forgetting_ignores_accuracy_before_first_training():
    # Task 1 scores 0.90 zero-shot (block 0), peaks at 0.60 once trained, ends at 0.50.
    R = np.array([
        [0.80, 0.90, 0.10],
        [0.80, 0.60, 0.10],
        [0.80, 0.50, 0.90],
    ])
    m = continual_metrics(R, [0, 1, 2])
    # f0 = 0.80 - 0.80 = 0; f1 = 0.60 - 0.50 = 0.10 (not 0.90 - 0.50); F = 0.05
    assert m["forgetting"] == pytest.approx(0.05)


def test_fwt_nan_without_baseline_and_single_task_nan():
    m = continual_metrics(np.eye(3), [0, 1, 2])
    assert math.isnan(m["fwt"])
    single = continual_metrics([[0.7]], [0])
    assert single["acc"] == pytest.approx(0.7)
    assert all(math.isnan(single[k]) for k in ("bwt", "fwt", "forgetting"))


def test_sampled_evaluation_metrics_match_hand_computed_values():
    """After each block only its task and the next are evaluated, every task after the
    last: the metrics come from those entries, by hand."""
    nan = np.nan
    R = np.array([[0.9, 0.2, nan, nan],
                  [nan, 0.8, 0.3, nan],
                  [nan, nan, 0.7, 0.1],
                  [0.6, 0.5, 0.4, 0.9]])
    baseline = [0.1, 0.1, 0.2, 0.1]
    needed = sampled_entries([0, 1, 2, 3], 4)
    np.testing.assert_array_equal(needed, np.isfinite(R))
    m = continual_metrics(R, [0, 1, 2, 3], baseline, sampled=True)
    assert m["acc"] == pytest.approx((0.6 + 0.5 + 0.4 + 0.9) / 4)
    assert m["bwt"] == pytest.approx(((0.6 - 0.9) + (0.5 - 0.8) + (0.4 - 0.7)) / 3)
    assert m["fwt"] == pytest.approx(((0.2 - 0.1) + (0.3 - 0.2) + (0.1 - 0.1)) / 3)
    assert m["forgetting"] == pytest.approx((0.3 + 0.3 + 0.3) / 3)  # from each task's own block
    np.testing.assert_allclose(forgetting_per_task(R, [0, 1, 2, 3], sampled=True), [0.3, 0.3, 0.3, nan])
    with pytest.raises(ValueError, match="NaN"):  # the full evaluation's matrix must be complete
        continual_metrics(R, [0, 1, 2, 3], baseline)
    incomplete = R.copy()
    incomplete[1, 1] = nan  # task 1 right after its own block
    with pytest.raises(ValueError, match=r"R\[1, 1\] is NaN"):
        continual_metrics(incomplete, [0, 1, 2, 3], baseline, sampled=True)


def test_untrained_task_counts_in_acc_only():
    # Task 2 is never trained: it enters ACC but no transfer metric.
    R = np.array([[0.8, 0.1, 0.3], [0.6, 0.9, 0.2]])
    m = continual_metrics(R, [0, 1], baseline=[0.1, 0.1, 0.1])
    assert m["acc"] == pytest.approx((0.6 + 0.9 + 0.2) / 3)
    assert m["bwt"] == pytest.approx(0.6 - 0.8)
    assert m["fwt"] == pytest.approx(0.1 - 0.1)
    assert m["forgetting"] == pytest.approx(0.8 - 0.6)


@pytest.mark.parametrize("R, schedule, baseline, match", [
    (np.ones(3), [0, 1, 2], None, "2-D"),
    (np.ones((3, 3)), [0, 1], None, "one task index per block"),
    (np.ones((3, 3)), [0, 1, 3], None, "out of range"),
    (np.ones((3, 3)), [0, -1, 2], None, "out of range"),
    (np.ones((3, 3)), [0.0, 1.0, 2.0], None, "integer"),
    (np.array([[1, np.nan], [1, 1]]), [0, 1], None, "NaN"),
    (np.ones((2, 2)), [0, 1], [0.1], "baseline"),
    (np.ones((2, 2)), [0, 1], [0.1, np.nan], "baseline"),
])
def test_invalid_inputs(R, schedule, baseline, match):
    with pytest.raises(ValueError, match=match):
        continual_metrics(R, schedule, baseline)


def test_summarise_over_seeds():
    s = summarise_over_seeds([
        {"acc": 0.5, "fwt": float("nan")},
        {"acc": 0.7, "fwt": float("nan")},
    ])
    # mean 0.6; sample std = sqrt((0.1^2 + 0.1^2) / 1) = sqrt(0.02)
    assert s["acc"] == pytest.approx((0.6, math.sqrt(0.02)))
    assert all(math.isnan(v) for v in s["fwt"])
    one = summarise_over_seeds([{"acc": 0.5}])
    assert one["acc"][0] == 0.5 and math.isnan(one["acc"][1])
    with pytest.raises(ValueError, match="at least one"):
        summarise_over_seeds([])
    with pytest.raises(ValueError, match="keys"):
        summarise_over_seeds([{"acc": 1.0}, {"bwt": 1.0}])


def test_hidden_activity_matches_hand_computed_shares():
    from mtspark_bio.metrics import hidden_activity

    # two tasks, four cells; task 0 gates cells 0-1, task 1 gates cells 2-3
    counts = np.array([[3.0, 1.0, 1.0, 0.0],
                       [0.0, 0.0, 2.0, 2.0]])
    gated = np.array([[True, True, False, False],
                      [False, False, True, True]])
    activity = hidden_activity(counts, gated)
    assert activity["spikes_per_presentation"].tolist() == [5.0, 4.0]
    assert activity["ungated_share"].tolist() == [0.2, 0.0]  # 1 of task 0's 5 spikes is ungated
    silent = hidden_activity(np.zeros((2, 4)), gated)["ungated_share"]
    assert np.isnan(silent).all()
    point = hidden_activity(counts, None)
    assert point["spikes_per_presentation"].tolist() == [5.0, 4.0] and np.isnan(point["ungated_share"]).all()


def test_synaptic_operations_count_each_spike_once_per_synapse_it_reaches():
    from mtspark_bio.metrics import rate_network_macs, synaptic_operations

    # two presentations; 3 inputs reaching 4, 0 and 2 cells; 2 hidden cells reaching 5 and 1
    counts = {"input": np.array([[1, 2, 0], [0, 0, 3]]), "hidden": np.array([[2, 0], [1, 1]])}
    degree = {"input": np.array([4, 0, 2]), "hidden": np.array([5, 1])}
    # 1*4 + 2*0 + 2*5 = 14; 3*2 + 1*5 + 1*1 = 12
    assert synaptic_operations(counts, degree).tolist() == [14.0, 12.0]
    assert rate_network_macs([64, 200, 10]) == 64 * 200 + 200 * 10
