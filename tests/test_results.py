"""Atomic HDF5 writes and exact round trips."""

import h5py
import numpy as np
import pytest

from mtspark_bio.results import (atomic_h5, package_versions, read_arrays, read_json_attr,
                                 write_arrays, write_json_attr)


def test_atomic_h5_writes_and_replaces(tmp_path):
    path = tmp_path / "run.h5"
    with atomic_h5(path) as f:
        f["v"] = 1
        assert not path.exists()  # nothing visible until the body finishes
    with atomic_h5(path) as f:
        f["v"] = 2
    with h5py.File(path, "r") as f:
        assert f["v"][()] == 2
    assert list(tmp_path.iterdir()) == [path]


def test_atomic_h5_keeps_old_file_when_body_raises(tmp_path):
    path = tmp_path / "run.h5"
    with atomic_h5(path) as f:
        f["v"] = 1
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_h5(path) as f:
            f["v"] = 2
            f["big"] = np.zeros(1000)
            raise RuntimeError("boom")
    with h5py.File(path, "r") as f:
        assert f["v"][()] == 1 and "big" not in f
    assert list(tmp_path.iterdir()) == [path]  # no temp file left


def test_atomic_h5_no_file_when_first_write_fails(tmp_path):
    path = tmp_path / "run.h5"
    with pytest.raises(KeyboardInterrupt):
        with atomic_h5(path):
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_arrays_round_trip_exactly(tmp_path):
    state = {
        "w": np.random.default_rng(0).random((4, 3)).astype(np.float32),
        "t": np.float64(0.1),
        "flags": np.array([True, False, True]),
        "empty": np.zeros((0, 5), np.int16),
        "net": {"exc": {"v": np.linspace(-0.07, -0.05, 7), "i": np.arange(7, dtype=np.int64)},
                "inh": {}},
    }
    path = tmp_path / "state.h5"
    with atomic_h5(path) as f:
        write_arrays(f.create_group("state"), state)
    with h5py.File(path, "r") as f:
        back = read_arrays(f["state"])

    def check(a, b):
        assert set(a) == set(b)
        for k in a:
            if isinstance(a[k], dict):
                check(a[k], b[k])
            else:
                assert isinstance(b[k], np.ndarray)
                assert b[k].dtype == np.asarray(a[k]).dtype and b[k].shape == np.shape(a[k])
                np.testing.assert_array_equal(b[k], a[k])

    check(state, back)


def test_write_arrays_rejects_slash_in_key(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f, pytest.raises(ValueError, match="'/'"):
        write_arrays(f, {"a/b": np.zeros(2)})


def test_json_attrs(tmp_path):
    value = {"seed": np.int64(3), "lr": 0.01, "schedule": [0, 1, 2], "R": np.eye(2), "name": "pmnist"}
    with atomic_h5(tmp_path / "x.h5") as f:
        write_json_attr(f, "config", value)
    with h5py.File(tmp_path / "x.h5", "r") as f:
        back = read_json_attr(f, "config")
    assert back == {"seed": 3, "lr": 0.01, "schedule": [0, 1, 2], "R": [[1.0, 0.0], [0.0, 1.0]], "name": "pmnist"}


def test_package_versions():
    v = package_versions()
    assert set(v) == {"python", "brian2", "brian2cuda", "numpy", "scipy", "h5py", "matplotlib",
                      "gymnasium", "ale_py", "mtspark_bio"}
    assert v["numpy"] == np.__version__ and v["h5py"] == h5py.__version__
    assert v["python"].count(".") == 2
