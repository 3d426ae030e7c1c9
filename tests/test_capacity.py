"""The capacity protocol: one forgetting run per task count, collected into one file
whose numbers are those of the per-count runs, and a figure drawn from it alone."""

import json

import h5py
import numpy as np
import pytest

from mtspark_bio.front import cli

TINY = ["--train-samples", "20", "--test-samples", "10", "--device", "runtime",
        "--circuit", json.dumps({"hidden_per_task": 12, "n_inhibitory": 6, "context_per_task": 4})]


@pytest.mark.runtime
@pytest.mark.slow
def test_capacity_collects_the_per_count_runs_and_draws_them(tmp_path):
    out = tmp_path / "capacity.h5"
    assert cli.main(["capacity", "--out", str(out), "--task-counts", "1,2"] + TINY) == 0
    runs = tmp_path / "capacity-runs"
    with h5py.File(out, "r") as f:
        assert list(f["task_counts"][()]) == [1, 2]
        for variant in ("dendritic", "point"):
            acc = f[f"variants/{variant}/acc"][()]
            hidden = f[f"variants/{variant}/n_hidden"][()]
            for k, n in enumerate((1, 2)):
                with h5py.File(runs / f"tasks-{n:03d}.h5", "r") as run:
                    assert acc[k] == run[f"variants/{variant}"].attrs["acc"]
                    R = run[f"variants/{variant}/accuracy_matrix"][()]
                    assert acc[k] == pytest.approx(R[-1].mean())
            np.testing.assert_array_equal(hidden, [12, 24])  # hidden_per_task x tasks
    assert (tmp_path / "capacity.png").stat().st_size > 1000
    # a second call without --resume refuses to overwrite; with it, reads the runs back
    assert cli.main(["capacity", "--out", str(out), "--task-counts", "1,2"] + TINY) == 2
    assert cli.main(["capacity", "--out", str(out), "--task-counts", "1,2", "--resume", "--no-figure"] + TINY) == 0
    # redrawn from the HDF5 alone
    (tmp_path / "capacity.png").unlink()
    assert cli.main(["figures", str(out)]) == 0
    assert (tmp_path / "capacity.png").exists()


def test_capacity_rejects_bad_task_counts(tmp_path, capsys):
    assert cli.main(["capacity", "--out", str(tmp_path / "c.h5"), "--task-counts", "2,x"]) == 2
    assert "--task-counts must be a comma list of integers" in capsys.readouterr().err
    assert not (tmp_path / "c.h5").exists()


@pytest.mark.runtime
@pytest.mark.slow
def test_sampled_capacity_runs_evaluate_linearly_and_report_their_wall_time(tmp_path):
    """--evaluation sampled: after each block only its task and the next block's are
    tested, every task after the last block; the capacity file keeps each point's wall
    time, which the figure draws."""
    from mtspark_bio.metrics import sampled_entries

    out = tmp_path / "capacity.h5"
    assert cli.main(["capacity", "--out", str(out), "--task-counts", "3", "--evaluation", "sampled",
                     "--epochs", "2", "--no-figure"] + TINY) == 0
    with h5py.File(tmp_path / "capacity-runs" / "tasks-003.h5", "r") as run:
        assert json.loads(run.attrs["config"])["epochs"] == 2
        elapsed = run.attrs["elapsed_s"] + run.attrs["build_s"]
        for variant in ("dendritic", "point"):
            R = run[f"variants/{variant}/accuracy_matrix"][()]
            np.testing.assert_array_equal(np.isfinite(R), sampled_entries([0, 1, 2], 3))
            assert np.isfinite(run[f"variants/{variant}"].attrs["forgetting"])
    with h5py.File(out, "r") as f:
        wall = f["variants/dendritic/wall_s"][()]
    assert wall[0] == pytest.approx(elapsed) and wall[0] > 0
    assert cli.main(["figures", str(out)]) == 0
    assert (tmp_path / "capacity.png").stat().st_size > 1000
