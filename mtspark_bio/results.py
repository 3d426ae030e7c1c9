"""Safe HDF5 result files.

* Atomic: long simulations must never leave a half-written result file behind (a crash
  or Ctrl-C mid-write would otherwise corrupt the previous good result), so every file
  is written to a temporary sibling and atomically renamed into place.
* Sealed: every file starts with a 512-byte HDF5 user block (which HDF5 itself skips)
  holding the SHA-256 digest and length of the rest of the file, so a reader
  (:func:`mtspark_bio.readers.open_result`) detects truncation and any changed byte,
  in data, attributes or HDF5's own metadata, before HDF5 parses the file. HDF5's
  Fletcher-32 filter would cover chunked dataset data only, and this project keeps its
  metrics and configuration in attributes.
* One writer: a run holds :func:`exclusive_writer` on its output for its whole life, an
  OS lock (``flock``) that dies with the process, so two runs never write one file and
  a killed run leaves no stale lock.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import h5py
import numpy as np

from mtspark_bio.errors import ConfigError, option

#: The user block every result file starts with: SEAL_MAGIC, then the digest line.
USERBLOCK_BYTES = 512
SEAL_MAGIC = b"mtspark-bio result file\n"

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
    f = h5py.File(tmp, "w", userblock_size=USERBLOCK_BYTES)
    try:
        yield f
        if f:  # the body may already have closed it
            f.flush()
        f.close()
        seal(tmp)  # fsyncs: data on disk before the rename makes it visible
        os.replace(tmp, path)
    except BaseException:  # also KeyboardInterrupt: never leave the temp file behind
        f.close()
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def body_digest(handle) -> tuple[str, int]:
    """SHA-256 (hex) and length of what follows the user block in the open binary file
    ``handle``: what :func:`_seal` records and readers check."""
    handle.seek(USERBLOCK_BYTES)
    digest = hashlib.file_digest(handle, "sha256")
    return digest.hexdigest(), handle.tell() - USERBLOCK_BYTES


def seal_line(digest: str, length: int) -> bytes:
    return SEAL_MAGIC + f"sha256 {digest} bytes {length}\n".encode()


def seal(path) -> None:
    """Write the digest of the closed HDF5 file ``path`` into its user block, then fsync.
    Every result file is sealed as it is written; call this only on a file changed on
    purpose (with h5py in ``"a"`` mode, which keeps the user block), to make it readable
    again."""
    with open(path, "r+b") as handle:
        line = seal_line(*body_digest(handle))
        handle.seek(0)
        handle.write(line.ljust(USERBLOCK_BYTES, b"\0"))
        handle.flush()
        os.fsync(handle.fileno())


#: Result files whose one-writer lock this process holds.
_HELD: set[Path] = set()


def lock_path(path) -> Path:
    """The lock file beside result file ``path`` (``<name>.lock``)."""
    path = Path(path)
    return path.with_name(f"{path.name}.lock")


def _lock_holder(fd: int, patience_s: float = 2.0) -> str:
    """The line the lock holder wrote into the lock file. A holder that has just taken
    the lock writes its line a moment later, so an empty file is read again for a while
    before giving up."""
    deadline = time.monotonic() + patience_s
    while True:
        holder = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        if holder or time.monotonic() > deadline:
            return holder or "a process that has not said which"
        time.sleep(0.02)


@contextlib.contextmanager
def exclusive_writer(path) -> Iterator[Path]:
    """Hold the one-writer lock of result file ``path`` for the body.

    An exclusive ``flock`` on ``<path>.lock``, so the lock dies with the process (even
    by SIGKILL: no stale lock). A second writer gets a ConfigError at once that names
    the process holding it. The lock file records that process and is removed on a
    normal exit; one left by a killed process is simply taken over.
    """
    path = Path(path).absolute()  # a compiled run may change the working directory
    if path in _HELD:  # this process holds it already (a sweep's run calling the protocol)
        yield path
        return
    lock = lock_path(path)
    created = [folder for folder in (lock.parent, *lock.parent.parents) if not folder.exists()]
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            os.close(fd)  # the folder exists: the holder made it
            raise ConfigError(f"{path} is being written by another run ({holder}); wait for it to finish, "
                              f"or choose another {option('out')}") from None
        try:  # the holder before us may have removed the file after we opened it: lock the current one
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {started}: {' '.join(sys.argv)}\n".encode(), 0)
    _HELD.add(path)
    try:
        yield path
    finally:
        _HELD.discard(path)
        lock.unlink(missing_ok=True)  # while still locked: a waiter holding the old file retries
        os.close(fd)
        for folder in created:  # a run refused before it wrote anything leaves no empty folders
            try:
                folder.rmdir()
            except OSError:  # not empty: results are in it
                break


def writes_result(run):
    """Decorator for a protocol's ``run(config_or_name, out, ...)``: the whole call
    holds ``out``'s one-writer lock (:func:`exclusive_writer`), resume included."""
    @functools.wraps(run)
    def holding_the_lock(first, out, *args, **kwds):
        with exclusive_writer(out):
            return run(first, out, *args, **kwds)
    return holding_the_lock


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
    from mtspark_bio.readers import open_result

    with open_result(path) as f:
        return bool(f.attrs.get("complete", False))
