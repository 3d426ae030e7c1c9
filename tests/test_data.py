"""Loaders on small files written in each real format, and the task builders."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from mtspark_bio.data import (DataError, ImageDataset, load_cifar10, load_dataset, load_digits,
                              load_idx, permuted_tasks, split_tasks, subsample)

ROWS, COLS = 5, 4  # non-square, so a row/column swap would show


# ----------------------------------------------------------------------- IDX


def write_idx(path, array, magic, gz=False):
    """IDX: big-endian uint32 magic, one big-endian uint32 per dim, then uint8 data."""
    raw = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def make_idx_dir(d, gz=False, n_train=6, n_test=4):
    x_train = np.zeros((n_train, ROWS, COLS), np.uint8)
    x_train[0, 1, 3] = 255  # bright pixel at row 1, col 3 of image 0
    x_train[1, 4, 0] = 51  # 51 / 255 = 0.2 at row 4, col 0 of image 1
    x_test = np.zeros((n_test, ROWS, COLS), np.uint8)
    x_test[2, 0, 1] = 255
    write_idx(d / "train-images-idx3-ubyte", x_train, 0x803, gz)
    write_idx(d / "train-labels-idx1-ubyte", np.arange(n_train) % 10, 0x801, gz)
    write_idx(d / "t10k-images-idx3-ubyte", x_test, 0x803, gz)
    write_idx(d / "t10k-labels-idx1-ubyte", (np.arange(n_test) + 3) % 10, 0x801, gz)
    return d


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, gz):
    ds = load_idx(make_idx_dir(tmp_path, gz), "mnist")
    assert ds.name == "mnist" and ds.image_shape == (ROWS, COLS) and ds.n_classes == 10
    assert ds.x_train.shape == (6, ROWS * COLS) and ds.x_test.shape == (4, ROWS * COLS)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    # Row-major flattening: (row, col) -> row * COLS + col.
    assert ds.x_train[0, 1 * COLS + 3] == 1.0 and ds.x_train[0].sum() == 1.0
    assert ds.x_train[1, 4 * COLS + 0] == pytest.approx(0.2)
    assert ds.x_test[2, 0 * COLS + 1] == 1.0 and ds.x_test.sum() == 1.0
    np.testing.assert_array_equal(ds.y_train, [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(ds.y_test, [3, 4, 5, 6])


def test_load_dataset_dispatches_idx(tmp_path):
    ds = load_dataset("fashion-mnist", make_idx_dir(tmp_path))
    assert ds.name == "fashion-mnist" and ds.x_train.shape == (6, ROWS * COLS)


def test_idx_missing_file_lists_names(tmp_path):
    make_idx_dir(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte and t10k-labels-idx1-ubyte\.gz") as e:
        load_idx(tmp_path, "mnist")
    assert "pass data_dir pointing" in str(e.value) and "pass --data-dir pointing" in e.value.command_line()


def test_idx_fashion_hint_mentions_debian_package(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_idx(tmp_path, "fashion-mnist")


def test_idx_truncated(tmp_path):
    make_idx_dir(tmp_path)
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*truncated"):
        load_idx(tmp_path, "mnist")


def test_idx_truncated_gzip(tmp_path):
    make_idx_dir(tmp_path, gz=True)
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz"):
        load_idx(tmp_path, "mnist")


def test_idx_wrong_magic(tmp_path):
    make_idx_dir(tmp_path)
    # A label file where the image file should be.
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(6), 0x801)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*magic number 0x00000801"):
        load_idx(tmp_path, "mnist")


def test_idx_count_mismatch(tmp_path):
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5), 0x801)
    with pytest.raises(DataError, match="train-images-idx3-ubyte / train-labels-idx1-ubyte: 6 images but 5 labels"):
        load_idx(tmp_path, "mnist")


def test_idx_label_out_of_range(tmp_path):
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 12]), 0x801)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*0..12"):
        load_idx(tmp_path, "mnist")


def test_idx_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_idx(tmp_path / "nowhere", "mnist")


# ------------------------------------------------------------------ CIFAR-10


def write_cifar_batch(path, data, labels):
    # Same layout as the official python version: bytes keys, uint8 (n, 3072), list labels.
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"test", b"data": data, b"labels": list(labels)}, f)


def make_cifar_dir(parent, n=2):
    d = parent / "cifar-10-batches-py"
    d.mkdir()
    for b in range(1, 6):
        data = np.zeros((n, 3, 32, 32), np.uint8)
        if b == 1:
            data[0, 0, 2, 5] = 255  # pure red pixel at row 2, col 5
            data[1, 1, 10, 20] = 255  # pure green pixel at row 10, col 20
        write_cifar_batch(d / f"data_batch_{b}", data.reshape(n, -1), [b, b + 1])
    white = np.full((3, 3072), 255, np.uint8)
    write_cifar_batch(d / "test_batch", white, [0, 9, 4])
    return d


@pytest.mark.parametrize("use_parent", [True, False])
def test_cifar_grey32(tmp_path, use_parent):
    d = make_cifar_dir(tmp_path)
    ds = load_cifar10(tmp_path if use_parent else d, front_end="grey32")
    assert ds.name == "cifar10" and ds.image_shape == (32, 32)
    assert ds.x_train.shape == (10, 1024) and ds.x_test.shape == (3, 1024)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    # BT.601: red contributes 0.299, green 0.587, at the same (row, col).
    assert ds.x_train[0, 2 * 32 + 5] == pytest.approx(0.299)
    assert ds.x_train[0].sum() == pytest.approx(0.299)
    assert ds.x_train[1, 10 * 32 + 20] == pytest.approx(0.587)
    np.testing.assert_allclose(ds.x_test, 1.0, rtol=1e-6)
    assert ds.x_test.max() <= 1.0
    np.testing.assert_array_equal(ds.y_train, [1, 2, 2, 3, 3, 4, 4, 5, 5, 6])
    np.testing.assert_array_equal(ds.y_test, [0, 9, 4])


def test_cifar_grey16_default(tmp_path):
    make_cifar_dir(tmp_path)
    ds = load_dataset("cifar10", tmp_path)
    assert ds.image_shape == (16, 16) and ds.x_train.shape == (10, 256)
    # Pixel (2, 5) falls in 2x2 block (1, 2): its average is 0.299 / 4.
    assert ds.x_train[0, 1 * 16 + 2] == pytest.approx(0.299 / 4)
    assert ds.x_train[0].sum() == pytest.approx(0.299 / 4)
    assert ds.x_train[1, 5 * 16 + 10] == pytest.approx(0.587 / 4)


def test_cifar_missing_batch(tmp_path):
    d = make_cifar_dir(tmp_path)
    os.remove(d / "data_batch_3")
    with pytest.raises(DataError, match="missing file.*data_batch_3.*looked for"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("corrupt", ["truncate", "garbage"])
def test_cifar_corrupt_batch(tmp_path, corrupt):
    d = make_cifar_dir(tmp_path)
    p = d / "data_batch_2"
    p.write_bytes(p.read_bytes()[:100] if corrupt == "truncate" else b"not a pickle at all")
    with pytest.raises(DataError, match="data_batch_2"):
        load_cifar10(tmp_path)


def test_cifar_refuses_code_in_pickle(tmp_path):
    d = make_cifar_dir(tmp_path)
    with open(d / "test_batch", "wb") as f:
        pickle.dump({b"data": os.getcwd}, f)  # a callable global, not an array
    with pytest.raises(DataError, match="test_batch.*refusing"):
        load_cifar10(tmp_path)


def test_cifar_wrong_shape_and_counts(tmp_path):
    d = make_cifar_dir(tmp_path)
    write_cifar_batch(d / "data_batch_4", np.zeros((2, 100), np.uint8), [0, 1])
    with pytest.raises(DataError, match=r"data_batch_4.*\(n, 3072\)"):
        load_cifar10(tmp_path)
    write_cifar_batch(d / "data_batch_4", np.zeros((2, 3072), np.uint8), [0, 1, 2])
    with pytest.raises(DataError, match="data_batch_4: 2 images but 3 labels"):
        load_cifar10(tmp_path)


def test_cifar_unknown_front_end(tmp_path):
    with pytest.raises(DataError, match="front_end"):
        load_cifar10(make_cifar_dir(tmp_path), front_end="rgb")


# --------------------------------------------------------- dispatch, digits


def test_load_dataset_errors():
    with pytest.raises(DataError, match="unknown dataset 'svhn'"):
        load_dataset("svhn")
    for name in ("mnist", "fashion-mnist", "cifar10"):
        with pytest.raises(DataError, match="needs a data directory.*data_dir"):
            load_dataset(name)


def test_digits():
    ds = load_dataset("digits")
    assert ds.name == "digits" and ds.image_shape == (8, 8) and ds.n_classes == 10
    assert ds.x_train.shape == (1437, 64) and ds.x_test.shape == (360, 64)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    # Stratified: every class has 35-37 test images.
    assert set(np.bincount(ds.y_test)) <= {35, 36, 37}
    again = load_digits()
    np.testing.assert_array_equal(again.y_test, ds.y_test)


# ------------------------------------------------------------- task builders


def tiny_dataset(n_features=12, n_train=40, n_test=20):
    # Row 0 holds distinct values per column, so the column permutation can be read back.
    rng = np.random.default_rng(1)
    x_train = rng.random((n_train, n_features), dtype=np.float32)
    x_test = rng.random((n_test, n_features), dtype=np.float32)
    x_train[0] = x_test[0] = np.arange(n_features) / n_features
    return ImageDataset("tiny", x_train, np.arange(n_train) % 10, x_test, np.arange(n_test) % 10, (3, 4), 10)


def test_permuted_tasks():
    ds = tiny_dataset()
    tasks = permuted_tasks(ds, 3, seed=7)
    assert [t.index for t in tasks] == [0, 1, 2]
    np.testing.assert_array_equal(tasks[0].x_train, ds.x_train)
    perms = []
    for t in tasks:
        assert t.classes == tuple(range(10))
        np.testing.assert_array_equal(t.y_train, ds.y_train)
        np.testing.assert_array_equal(t.y_test, ds.y_test)
        perm = np.rint(t.x_train[0] * 12).astype(int)
        np.testing.assert_array_equal(np.rint(t.x_test[0] * 12).astype(int), perm)  # same for test
        np.testing.assert_array_equal(t.x_train, ds.x_train[:, perm])
        np.testing.assert_array_equal(t.x_test, ds.x_test[:, perm])
        perms.append(tuple(perm))
    assert len(set(perms)) == 3
    again = permuted_tasks(ds, 3, seed=7)
    np.testing.assert_array_equal(again[2].x_test, tasks[2].x_test)


def test_split_tasks():
    ds = tiny_dataset()
    tasks = split_tasks(ds, 5)
    for t, task in enumerate(tasks):
        assert task.classes == (2 * t, 2 * t + 1)
        assert set(task.y_train) == set(task.y_test) == {2 * t, 2 * t + 1}
        assert len(task.y_train) == np.isin(ds.y_train, task.classes).sum()
        np.testing.assert_array_equal(task.x_train, ds.x_train[np.isin(ds.y_train, task.classes)])
    with pytest.raises(ValueError, match="n_tasks"):
        split_tasks(ds, 6)


def test_subsample():
    task = permuted_tasks(tiny_dataset(n_train=100, n_test=50), 1, seed=0)[0]
    small = subsample(task, 30, 20, seed=3)
    assert len(small.y_train) == 30 and len(small.y_test) == 20
    np.testing.assert_array_equal(np.bincount(small.y_train, minlength=10), 3)  # balanced
    np.testing.assert_array_equal(np.bincount(small.y_test, minlength=10), 2)
    # Rows stay paired with their labels.
    idx = [np.flatnonzero((task.x_train == row).all(axis=1))[0] for row in small.x_train]
    np.testing.assert_array_equal(task.y_train[idx], small.y_train)
    again = subsample(task, 30, 20, seed=3)
    np.testing.assert_array_equal(again.x_train, small.x_train)
    everything = subsample(task, 10_000, None, seed=3)
    assert len(everything.y_train) == 100 and len(everything.y_test) == 50
