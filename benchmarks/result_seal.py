"""What sealing a result file costs: write time and size, sealed vs plain, side by side.

A sealed file (``mtspark_bio.results.atomic_h5``) carries a 512-byte user block with
the SHA-256 digest of the rest of the file, computed after HDF5 closes it; every read
(``mtspark_bio.readers.open_result``) hashes the file once more before HDF5 opens it.
This writes the same arrays both ways, at the size of the main job's result file and
at the size of a ``--record-spikes all`` file, and reads each back.

    python benchmarks/result_seal.py            # sizes 1, 100 MB; 5 repeats each
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import _common
import numpy as np


def write_plain(path: Path, arrays: dict) -> None:
    """What atomic_h5 did before sealing: temporary file, fsync, rename."""
    import h5py

    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)
    fd = os.open(tmp, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.replace(tmp, path)


def write_sealed(path: Path, arrays: dict) -> None:
    from mtspark_bio.results import atomic_h5

    with atomic_h5(path) as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)


def read_back(path: Path) -> None:
    from mtspark_bio.readers import UnverifiedResultWarning, open_result

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedResultWarning)  # the plain file is unsealed on purpose
        with open_result(path) as f:
            for key in f:
                f[key][()]


def best_of(repeats: int, call) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", default="1,100", help="array payloads in MB, comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    started_machine = _common.machine()
    _common.header("result files: sealed vs plain", started_machine)
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory(dir=_common.RESULTS) as folder:
        for size_mb in [float(s) for s in args.sizes_mb.split(",")]:
            arrays = {"spikes": rng.integers(0, 2**31, int(size_mb * 2**20) // 8, dtype=np.int64)}
            plain, sealed = Path(folder) / "plain.h5", Path(folder) / "sealed.h5"
            row = {"payload_mb": size_mb,
                   "write_plain_s": best_of(args.repeats, lambda: write_plain(plain, arrays)),
                   "write_sealed_s": best_of(args.repeats, lambda: write_sealed(sealed, arrays)),
                   "read_plain_s": best_of(args.repeats, lambda: read_back(plain)),
                   "read_sealed_s": best_of(args.repeats, lambda: read_back(sealed)),
                   "bytes_plain": plain.stat().st_size, "bytes_sealed": sealed.stat().st_size}
            row["write_ratio"] = row["write_sealed_s"] / row["write_plain_s"]
            row["read_ratio"] = row["read_sealed_s"] / row["read_plain_s"]
            row["extra_bytes"] = row["bytes_sealed"] - row["bytes_plain"]
            rows.append(row)
    print(_common.table(rows, [("payload_mb", "payload MB", ".0f"), ("write_plain_s", "write plain s", ".4f"),
                               ("write_sealed_s", "write sealed s", ".4f"), ("write_ratio", "sealed/plain", ".2f"),
                               ("read_plain_s", "read plain s", ".4f"), ("read_sealed_s", "read sealed s", ".4f"),
                               ("read_ratio", "sealed/plain", ".2f"), ("extra_bytes", "extra bytes", "d")]))
    print(f"results in {_common.write_result('result_seal', {'rows': rows}, started_machine)}")


if __name__ == "__main__":
    main()
