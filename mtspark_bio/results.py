"""Safe HDF5 result files.

Long simulations must never leave a half-written result file behind (a crash
or Ctrl-C mid-write would otherwise corrupt the previous good result), so every
file is written to a temporary sibling and atomically renamed into place.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
from collections.abc import Iterator, Mapping
from pathlib import Path

import h5py
import numpy as np

# Key in the returned dict -> distribution name on PyPI.
_PACKAGES = {
    "brian2": "brian2", "brian2cuda": "brian2cuda", "numpy": "numpy", "scipy": "scipy",
    "h5py": "h5py", "matplotlib": "matplotlib", "gymnasium": "gymnasium", "ale_py": "ale-py",
    "mtspark_bio": "mtspark-bio",
}


@contextlib.contextmanager
def atomic_h5(path) -> Iterator[h5py.File]:
    """Write an HDF5 file atomically.

    Yields an open, writable ``h5py.File`` on ``<path>.tmp-<pid>`` in the same
    directory (so the final rename stays on one file system). On normal exit
    the file is flushed, closed, fsynced and ``os.replace``-d onto ``path``; if
    the body raises, the temporary file is deleted and the exception re-raised.
    Either way ``path`` holds a complete file: the old one or the new one.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    f = h5py.File(tmp, "w")
    try:
        yield f
        if f:  # the body may already have closed it
            f.flush()
        f.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # data on disk before the rename makes it visible
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:  # also KeyboardInterrupt: never leave the temp file behind
        f.close()
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Persist the rename itself; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages that shape results (None if not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for key, dist in _PACKAGES.items():
        try:
            versions[key] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[key] = None
    return versions


def _json_default(o):
    # numpy scalars and arrays appear in configs and metric dicts.
    if isinstance(o, (np.generic, np.ndarray)):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def write_json_attr(obj, name: str, value) -> None:
    """Store ``value`` as a JSON string in the HDF5 attribute ``name`` of ``obj``."""
    obj.attrs[name] = json.dumps(value, sort_keys=True, default=_json_default)


def json_roundtrip(value):
    """``value`` as :func:`read_json_attr` gives it back (tuples as lists, numpy as Python)."""
    return json.loads(json.dumps(value, sort_keys=True, default=_json_default))


def read_text_attr(obj, name: str, default=None) -> str | None:
    """A text attribute as ``str`` whether h5py gives it as str, bytes or a 0-d array
    (``default`` when ``obj`` has no attribute ``name``)."""
    if name not in obj.attrs:
        return default
    raw = obj.attrs[name]
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw[()]
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def read_json_attr(obj, name: str):
    """Read back an attribute written by :func:`write_json_attr`."""
    if name not in obj.attrs:
        raise KeyError(f"{obj.file.filename} has no attribute {name!r}")
    return json.loads(read_text_attr(obj, name))


def write_arrays(group, mapping: Mapping) -> None:
    """Write a nested dict of arrays: each dict becomes a subgroup, each array a dataset.

    Dtypes and shapes (0-d included) are kept, so :func:`read_arrays` gives
    back equal arrays, e.g. to restore a network's state exactly.
    """
    for key, value in mapping.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"array keys must be non-empty strings without '/', got {key!r}")
        if isinstance(value, Mapping):
            write_arrays(group.create_group(key), value)
        else:
            group.create_dataset(key, data=np.asarray(value))


def read_arrays(group) -> dict:
    """Read a group written by :func:`write_arrays` back into a nested dict of numpy arrays."""
    return {key: read_arrays(item) if isinstance(item, h5py.Group) else np.asarray(item[()])
            for key, item in group.items()}


def is_complete(path) -> bool:
    """Whether a protocol's result file says it finished (root attribute ``complete``)."""
    with h5py.File(path, "r") as f:
        return bool(f.attrs.get("complete", False))
