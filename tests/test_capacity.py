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
