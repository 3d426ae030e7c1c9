"""Result files survive damage and concurrency (issue 26).

* One writer per file: a second run on the same ``--out`` exits 2 at once naming the
  process that holds it; a lock left by a killed process blocks nobody.
* Every command that reads a result file refuses a damaged, truncated, foreign or empty
  one with exit 2, the file named, no traceback, and no output written.
* Damage is detected, not drawn: a flipped byte inside a dataset gives "checksum
  mismatch"; a fuzz over a few hundred corruptions is refused or read as before.
* Files written before sealing still read, with a warning that they cannot be verified.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from mtspark_bio import readers
from mtspark_bio.front import cli, sweep
from mtspark_bio.errors import ConfigError, ResultFileError
from mtspark_bio.nwb import read_result
from mtspark_bio.results import USERBLOCK_BYTES, exclusive_writer, lock_path

SMALL = ["--n-tasks", "2", "--train-samples", "10", "--test-samples", "5", "--chunk", "10",
         "--circuit", json.dumps({"n_hidden": 12, "n_inhibitory": 4, "context_per_task": 4}),
         "--device", "runtime", "--variants", "dendritic,point"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A real, small forgetting result file (runtime device, spikes sampled)."""
    path = tmp_path_factory.mktemp("good") / "run.h5"
    assert cli.main(["forgetting", "--out", str(path), "--no-figure", *SMALL]) == 0
    return path


def _dataset_offset(path: Path, name: str) -> int:
    with h5py.File(path, "r") as f:
        return f[name].id.get_offset()


def corpus(good: Path, folder: Path) -> dict[str, Path]:
    """Damaged and foreign files made from ``good``: name -> path."""
    data = good.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(26)
    files = {}

    def write(name, content):
        files[name] = folder / f"{name}.h5"
        files[name].write_bytes(content)

    for fraction in (0.01, 0.3, 0.5, 0.9, 0.999):
        write(f"truncated-{fraction}", data[:int(len(data) * fraction)])
    middle = len(data) // 2
    write("zeroed-block", data[:middle] + bytes(4096) + data[middle + 4096:])
    write("zeroed-header", bytes(USERBLOCK_BYTES) + data[USERBLOCK_BYTES:])
    write("random-middle", data[:middle] + rng.integers(0, 256, 64, dtype=np.uint8).tobytes() + data[middle + 64:])
    offset = _dataset_offset(good, "variants/dendritic/accuracy_matrix")
    write("flipped-in-dataset", data[:offset + 3] + bytes([data[offset + 3] ^ 0xFF]) + data[offset + 4:])
    write("empty", b"")
    write("text", b"not a result file\n" * 100)
    files["other-layout"] = folder / "other-layout.h5"
    with h5py.File(files["other-layout"], "w") as f:
        f["x"] = np.arange(10)
    return files


def _folder_listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# ------------------------------------------------------------------ one writer

def test_lock_names_its_holder_and_dies_with_a_killed_process(tmp_path):
    """A second writer is refused at once with the holder's pid; after SIGKILL (no
    clean-up ran) the next writer takes the lock."""
    out = tmp_path / "held.h5"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from mtspark_bio.results import exclusive_writer
        with exclusive_writer({str(out)!r}):
            print("locked", flush=True)
            time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        with pytest.raises(ConfigError, match=f"being written by another run \\(pid {holder.pid} "):
            with exclusive_writer(out):
                pass
        assert time.perf_counter() - started < 5  # refused at once, not after waiting
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock_path(out).exists()  # the killed process could not remove it ...
    with exclusive_writer(out):  # ... and it blocks nobody
        assert str(os.getpid()) in lock_path(out).read_text()
    assert not lock_path(out).exists()


def test_a_writer_refused_just_after_the_lock_was_taken_still_names_the_holder(tmp_path):
    """The holder writes its line a moment after taking the lock (CI once caught a second
    run in that moment and printed no pid): the refusal waits for the line."""
    import fcntl
    import threading
    out = tmp_path / "fresh.h5"
    fd = os.open(lock_path(out), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # locked, nothing written yet
        late_line = threading.Timer(0.3, os.pwrite, (fd, b"pid 4242 on here since now: a run\n", 0))
        late_line.start()
        with pytest.raises(ConfigError, match=r"being written by another run \(pid 4242 on here"):
            with exclusive_writer(out):
                pass
        late_line.join()
    finally:
        os.close(fd)


@pytest.mark.slow
@pytest.mark.runtime
def test_two_runs_started_together_on_one_file_give_one_result(tmp_path):
    """Two real runs on one --out, started together: exactly one succeeds, the other
    exits 2 saying which process writes the file, and the file is the winner's, complete."""
    out = tmp_path / "same.h5"
    command = [sys.executable, "-m", "mtspark_bio.front.cli", "forgetting", "--out", str(out), "--no-figure", *SMALL]
    runs = {seed: subprocess.Popen([*command, "--seed", str(seed)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=tmp_path) for seed in (2, 3)}
    finished = {seed: (run.wait(timeout=600), run.stderr.read()) for seed, run in runs.items()}
    codes = sorted(code for code, _ in finished.values())
    assert codes == [0, 2], finished
    winner = next(seed for seed, (code, _) in finished.items() if code == 0)
    loser_message = next(err for code, err in finished.values() if code == 2)
    assert "Traceback" not in loser_message
    assert "being written by another run (pid" in loser_message or "exists" in loser_message
    result = readers.load_forgetting(out)
    assert result.config["seed"] == winner
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["complete"])
    assert not lock_path(out).exists()


# ------------------------------------------------------------------ damaged files

COMMANDS = {
    "figures": lambda path, work: ["figures", str(path)],
    "nwb": lambda path, work: ["nwb", str(path), "--out", str(work / "out.nwb")],
    "forgetting --resume": lambda path, work: ["forgetting", "--out", str(path), "--resume", *SMALL],
    "atari --resume": lambda path, work: ["atari", "--out", str(path), "--resume"],
    "capacity --resume": lambda path, work: ["capacity", "--out", str(path), "--resume"],
}


def test_every_command_refuses_a_damaged_file_cleanly(good, tmp_path, capsys):
    """Each command on each file of the corpus: exit 2, an error naming the file, no
    traceback, and nothing written (the folder is byte for byte as before)."""
    for name, path in corpus(good, tmp_path / "corpus").items():
        for command, argv in COMMANDS.items():
            work = tmp_path / "work" / f"{name}-{command.split()[0]}"
            work.mkdir(parents=True)
            damaged = work / path.name
            shutil.copy(path, damaged)
            before = _folder_listing(work)
            status = cli.main(argv(damaged, work))
            err = capsys.readouterr().err
            assert status == 2, (name, command, err)
            assert str(damaged) in err and err.startswith("error: "), (name, command, err)
            assert "Traceback" not in err
            assert _folder_listing(work) == before, (name, command)


def test_a_resumed_sweep_refuses_a_damaged_run_file_before_running(good, tmp_path, capsys):
    settings = ["--set", "n_tasks=2", "--set", "train_samples=10", "--set", "test_samples=5"]
    folder = tmp_path / "sweep"
    [spec] = sweep.plan_runs("forgetting", [0], {}, {"n_tasks": "2", "train_samples": "10", "test_samples": "5"},
                             folder)
    Path(spec.out).parent.mkdir(parents=True)
    data = good.read_bytes()
    Path(spec.out).write_bytes(data[:len(data) // 2])
    status = cli.main(["sweep", "forgetting", "--seeds", "0", *settings, "--out", str(folder), "--resume"])
    err = capsys.readouterr().err
    assert status == 2
    assert "truncated" in err and spec.out in err and "delete it" in err
    assert sorted(p.name for p in folder.iterdir()) == ["runs"]  # no sweep.json, logs or tables


def test_a_flipped_byte_inside_a_dataset_is_a_checksum_mismatch(good, tmp_path, capsys):
    files = corpus(good, tmp_path)
    with pytest.raises(ResultFileError, match="checksum mismatch"):
        readers.load_forgetting(files["flipped-in-dataset"])
    assert cli.main(["figures", str(files["flipped-in-dataset"])]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert not list(tmp_path.glob("flipped-in-dataset.p*"))  # no figure drawn
    with pytest.raises(ResultFileError, match="truncated"):
        readers.load_forgetting(files["truncated-0.5"])
    with pytest.raises(ResultFileError, match="empty"):
        readers.load_forgetting(files["empty"])
    with pytest.raises(ResultFileError, match="checksum header"):
        readers.load_forgetting(files["zeroed-header"])


def test_fuzz_random_corruptions_are_refused_or_read_as_before(good, tmp_path):
    """A few hundred random corruptions (flipped bytes, zeroed runs, truncations,
    appended bytes): each is a ResultFileError or reads back exactly as the original."""
    data = good.read_bytes()
    original = readers.load_forgetting(good)
    rng = random.Random(26)
    path = tmp_path / "fuzzed.h5"
    outcomes = {"refused": 0, "same": 0}
    signal.alarm(180)  # never a hang
    try:
        for trial in range(400):
            damaged = bytearray(data)
            kind = trial % 4
            if kind == 0:
                for _ in range(rng.randint(1, 8)):
                    damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
            elif kind == 1:
                start = rng.randrange(len(damaged))
                end = min(len(damaged), start + rng.randint(1, 2048))
                damaged[start:end] = bytes(end - start)
            elif kind == 2:
                del damaged[rng.randrange(1, len(damaged)):]
            else:
                damaged += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
            path.write_bytes(bytes(damaged))
            try:
                result = readers.load_forgetting(path)
            except ResultFileError as error:
                assert str(path) in str(error)
                outcomes["refused"] += 1
                continue
            for name, variant in original.variants.items():
                np.testing.assert_array_equal(result.variants[name].accuracy, variant.accuracy)
            outcomes["same"] += 1
    finally:
        signal.alarm(0)
    assert outcomes["refused"] >= 300, outcomes  # only bytes outside the digest can leave it readable


def test_files_written_before_sealing_still_read_with_a_warning(good, tmp_path, capsys):
    """An unsealed file (as every file was before checksums) reads, with an
    UnverifiedResultWarning; the committed 1 M-frame Atari results are such files."""
    old = tmp_path / "old.h5"
    with h5py.File(good, "r") as source, h5py.File(old, "w") as copy:
        for key, value in source.attrs.items():
            copy.attrs[key] = value
        for key in source:
            source.copy(source[key], copy, name=key)
    with pytest.warns(readers.UnverifiedResultWarning, match="cannot be detected"):
        result = readers.load_forgetting(old)
    for name, variant in readers.load_forgetting(good).variants.items():
        np.testing.assert_array_equal(result.variants[name].accuracy, variant.accuracy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_result(good)  # a sealed file reads without a warning
    assert cli.main(["figures", str(old)]) == 0  # the command line says so in one line
    assert capsys.readouterr().err.strip() == f"warning: {old} was written before result files carried a " \
                                              f"checksum, so damage to it cannot be detected"
    committed = sorted((REPO / "benchmarks" / "results" / "atari_1M").glob("*/*.h5"))
    if committed:
        with pytest.warns(readers.UnverifiedResultWarning):
            assert readers.load_atari(committed[0]).n_blocks > 0
