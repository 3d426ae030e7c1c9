"""Image data sets and continual-learning task builders.

Every loader returns an :class:`ImageDataset` with flattened float32 pixels in
[0, 1] (ready for rate coding) and int64 labels. Files are parsed with numpy
alone so that no download helper or deep-learning framework is needed; every
problem with the files raises :class:`DataError` with a message that says how
to fix it.
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtspark_bio.errors import ConfigError, option

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_IMAGES, _IDX_LABELS = 0x00000803, 0x00000801  # ubyte data, 3 or 1 dims
_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"
_CIFAR_HINT = f"pass {option('data_dir')} pointing at {_CIFAR_DIR} (or its parent) from the CIFAR-10 python version"
_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma weights


class DataError(ConfigError):
    """A data set is missing, corrupt or unknown; the message says how to fix it."""


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Train/test images, flattened to (n, n_features) float32 in [0, 1], labels int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...]
    n_classes: int


@dataclass(frozen=True, eq=False)
class Task:
    """One task of a continual-learning sequence; labels keep their original class ids."""

    index: int
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[int, ...]


# --------------------------------------------------------------------- loaders


def _to_unit(images: np.ndarray, max_value: float) -> np.ndarray:
    """Flatten to (n, n_features) float32 scaled to [0, 1]."""
    return (images.reshape(len(images), -1) / np.float32(max_value)).astype(np.float32)


def load_digits() -> ImageDataset:
    """scikit-learn's 8x8 digits (1797 images, ships with scikit-learn).

    Pixel values 0..16 are divided by 16. The split is stratified with test
    fraction 0.2 and ``random_state=0``: 1437 train / 360 test images.
    """
    from sklearn.datasets import load_digits as _sk_digits
    from sklearn.model_selection import train_test_split

    d = _sk_digits()
    x = _to_unit(d.data, 16)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return ImageDataset("digits", x_tr, y_tr, x_te, y_te, (8, 8), 10)


def _hint(name: str) -> str:
    hint = f"pass {option('data_dir')} pointing at the folder that holds {IDX_FILES['x_train']}[.gz]"
    if name == "fashion-mnist":
        hint += ("; Debian ships the real files: `apt-get install dataset-fashion-mnist`, "
                 "then `dpkg -L dataset-fashion-mnist` shows the folder")
    return hint


def _read_bytes(path: Path, hint: str) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read {path}: {e} (truncated or corrupt download?); {hint}") from e


def _parse_idx(raw: bytes, path: Path, magic: int, hint: str) -> np.ndarray:
    """Parse an IDX file: big-endian magic, then one uint32 per dimension, then uint8 data."""
    if len(raw) < 4:
        raise DataError(f"{path} is truncated ({len(raw)} bytes, no IDX header); {hint}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"{path} has IDX magic number 0x{found:08x}, expected 0x{magic:08x}: "
                        f"not an IDX {'image' if magic == _IDX_IMAGES else 'label'} file; {hint}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its IDX header; {hint}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{path} has {len(raw)} bytes but its header dims {dims} need {expected} "
                        f"(truncated or corrupt download?); {hint}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _check_labels(x: np.ndarray, y: np.ndarray, where: str, n_classes: int, hint: str) -> np.ndarray:
    if len(x) != len(y):
        raise DataError(f"{where}: {len(x)} images but {len(y)} labels; {hint}")
    y = np.asarray(y, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{where}: labels span {y.min()}..{y.max()}, expected 0..{n_classes - 1}; {hint}")
    return y


def load_idx(data_dir, name: str) -> ImageDataset:
    """MNIST or Fashion-MNIST from the four standard IDX files (plain or ``.gz``).

    Parameters
    ----------
    data_dir : str or Path
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each may
        end in ``.gz``).
    name : {"mnist", "fashion-mnist"}
    """
    if name not in ("mnist", "fashion-mnist"):
        raise DataError(f"load_idx reads 'mnist' or 'fashion-mnist', not {name!r}")
    hint = _hint(name)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{name}: data directory {data_dir} does not exist; {hint}")
    arrays, paths = {}, {}
    for key, stem in IDX_FILES.items():
        candidates = [data_dir / stem, data_dir / f"{stem}.gz"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise DataError(f"{name}: missing file in {data_dir}: looked for "
                            f"{' and '.join(p.name for p in candidates)}; {hint}")
        magic = _IDX_IMAGES if key.startswith("x") else _IDX_LABELS
        arrays[key], paths[key] = _parse_idx(_read_bytes(path, hint), path, magic, hint), path

    x_tr, x_te = arrays["x_train"], arrays["x_test"]
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DataError(f"{name}: train images are {x_tr.shape[1:]} but test images {x_te.shape[1:]}; {hint}")
    y_tr, y_te = (_check_labels(arrays[f"x_{s}"], arrays[f"y_{s}"],
                                f"{paths[f'x_{s}'].name} / {paths[f'y_{s}'].name}", 10, hint)
                  for s in ("train", "test"))
    return ImageDataset(name, _to_unit(x_tr, 255), y_tr, _to_unit(x_te, 255), y_te, tuple(x_tr.shape[1:]), 10)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays: a data file must not run code."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
                ("_codecs", "encode")}  # how protocol-2 pickles from Python 3 store bytes

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _load_cifar_batch(path: Path, hint: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            # encoding="bytes": the official batches are Python 2 pickles with bytes keys.
            d = _ArrayUnpickler(f, encoding="bytes").load()
        data = np.asarray(d[b"data"], dtype=np.uint8)
        labels = d[b"labels"]
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as e:
        raise DataError(f"cannot read CIFAR-10 batch {path}: {type(e).__name__}: {e} "
                        f"(truncated or corrupt download?); {hint}") from e
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: b'data' has shape {data.shape}, expected (n, 3072); {hint}")
    return data, _check_labels(data, labels, str(path), 10, hint)


def load_cifar10(data_dir, front_end: str = "grey16") -> ImageDataset:
    """CIFAR-10 from the "python version" pickled batches.

    The colour images are reduced to luminance (ITU-R BT.601 weights
    0.299 R + 0.587 G + 0.114 B) and, with ``front_end="grey16"``, averaged
    over 2x2 blocks to 16x16 = 256 features. This keeps the rate-coded input
    layer (one Poisson neuron per feature) at a third of MNIST's size instead
    of 3072 neurons, which bounds synapse count and simulation time; the cost
    is colour and fine texture, so accuracies are not comparable with
    full-resolution colour results.

    Parameters
    ----------
    data_dir : str or Path
        ``cifar-10-batches-py`` itself or the folder containing it.
    front_end : {"grey16", "grey32"}
        ``"grey16"``: 16x16 luminance (256 features); ``"grey32"``: 32x32
        luminance (1024 features).
    """
    if front_end not in ("grey16", "grey32"):
        raise DataError(f"unknown CIFAR-10 front_end {front_end!r}; choose 'grey16' or 'grey32'")
    hint = _CIFAR_HINT
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"cifar10: data directory {data_dir} does not exist; {hint}")
    if (data_dir / _CIFAR_DIR).is_dir():
        data_dir = data_dir / _CIFAR_DIR
    names = (*_CIFAR_TRAIN, _CIFAR_TEST)
    missing = [n for n in names if not (data_dir / n).is_file()]
    if missing:
        raise DataError(f"cifar10: missing file(s) {', '.join(missing)} in {data_dir} "
                        f"(looked for {', '.join(names)}); {hint}")
    train = [_load_cifar_batch(data_dir / n, hint) for n in _CIFAR_TRAIN]
    x_te, y_te = _load_cifar_batch(data_dir / _CIFAR_TEST, hint)
    x_tr = np.concatenate([b[0] for b in train])
    y_tr = np.concatenate([b[1] for b in train])

    def grey(data: np.ndarray) -> np.ndarray:
        rgb = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255  # channel-major R, G, B
        g = np.tensordot(_BT601, rgb, axes=(0, 1))  # (n, 32, 32)
        if front_end == "grey16":
            g = g.reshape(-1, 16, 2, 16, 2).mean(axis=(2, 4))
        # Weights sum to 1, but float rounding may step just past 1.
        return np.clip(g.reshape(len(g), -1), 0, 1).astype(np.float32)

    side = 16 if front_end == "grey16" else 32
    return ImageDataset("cifar10", grey(x_tr), y_tr, grey(x_te), y_te, (side, side), 10)


def load_dataset(name: str, data_dir=None, front_end: str = "grey16") -> ImageDataset:
    """Load a data set by name: "digits", "mnist", "fashion-mnist" or "cifar10".

    ``digits`` ships with scikit-learn and ignores ``data_dir``; the others
    need it. ``front_end`` applies to CIFAR-10 only (see :func:`load_cifar10`).
    """
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "digits":
        return load_digits()
    if data_dir is None:
        hint = _CIFAR_HINT if name == "cifar10" else _hint(name)
        raise DataError(f"dataset {name!r} needs a data directory; {hint}")
    if name == "cifar10":
        return load_cifar10(data_dir, front_end)
    return load_idx(data_dir, name)


# --------------------------------------------------------------- task builders


def permuted_tasks(dataset: ImageDataset, n_tasks: int, seed: int) -> list[Task]:
    """Permuted-pixel tasks: task 0 is the identity, tasks 1.. fixed random permutations.

    The same permutation is applied to train and test images; every task keeps
    all classes, so a shared output population is used (domain-incremental).
    """
    if n_tasks < 1:
        raise ConfigError(f"{option('n_tasks')} must be >= 1, got {n_tasks}")
    rng = np.random.default_rng(seed)
    n_features = dataset.x_train.shape[1]
    classes = tuple(range(dataset.n_classes))
    tasks = []
    for t in range(n_tasks):
        perm = np.arange(n_features) if t == 0 else rng.permutation(n_features)
        tasks.append(Task(t, f"{dataset.name}-perm{t}", dataset.x_train[:, perm], dataset.y_train,
                          dataset.x_test[:, perm], dataset.y_test, classes))
    return tasks


def split_tasks(dataset: ImageDataset, n_tasks: int) -> list[Task]:
    """Split tasks: task ``t`` holds classes ``(2t, 2t+1)`` with their original labels."""
    if not 1 <= n_tasks <= dataset.n_classes // 2:
        raise ConfigError(f"{option('n_tasks')} must be in 1..{dataset.n_classes // 2} for {dataset.n_classes} "
                          f"classes split in pairs, got {n_tasks}")
    tasks = []
    for t in range(n_tasks):
        classes = (2 * t, 2 * t + 1)
        tr, te = np.isin(dataset.y_train, classes), np.isin(dataset.y_test, classes)
        tasks.append(Task(t, f"{dataset.name}-split{classes[0]}{classes[1]}", dataset.x_train[tr],
                          dataset.y_train[tr], dataset.x_test[te], dataset.y_test[te], classes))
    return tasks


def _balanced_indices(y: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Pick n indices, taking classes in turn (random within a class) so counts stay balanced."""
    if n is None or n >= len(y):
        return np.arange(len(y))
    if n < 0:
        raise ValueError(f"subset size must be >= 0, got {n}")
    order = rng.permutation(len(y))
    rank = np.empty(len(y), dtype=np.int64)  # position of each sample within its class
    for c in np.unique(y):
        members = order[y[order] == c]
        rank[members] = np.arange(len(members))
    chosen = order[np.argsort(rank[order], kind="stable")][:n]
    return np.sort(chosen)  # keep the original order of the data


def subsample(task: Task, n_train: int | None, n_test: int | None, seed: int) -> Task:
    """Deterministic class-balanced subset of a task, for fast runs.

    Classes are drawn round-robin, so each class gets ``n // n_classes`` samples
    (or all it has). ``None`` or a size larger than available keeps everything.
    """
    rng = np.random.default_rng(seed)
    tr = _balanced_indices(task.y_train, n_train, rng)
    te = _balanced_indices(task.y_test, n_test, rng)
    return Task(task.index, task.name, task.x_train[tr], task.y_train[tr],
                task.x_test[te], task.y_test[te], task.classes)
