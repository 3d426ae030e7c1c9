"""NWB export (``mtspark-bio nwb``): a tiny forgetting run recorded with
``--record-spikes all`` converts to an NWB file that pynwb reads back equal to the
result file, that nwbinspector passes, and whose spikes reproduce the network's own
decisions; bad input exits 2 and writes nothing."""

import json
import shutil

import h5py
import numpy as np
import pytest

from mtspark_bio.front import cli
from mtspark_bio.circuit import predictions
from mtspark_bio.results import read_json_attr, seal

TINY = ["--n-tasks", "2", "--train-samples", "10", "--test-samples", "5", "--chunk", "10",
        "--circuit", json.dumps({"n_hidden": 12, "n_inhibitory": 4, "context_per_task": 4}),
        "--no-figure", "--device", "runtime", "--variants", "dendritic,point,shuffled"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A tiny runtime run that keeps every spike, and its NWB file."""
    folder = tmp_path_factory.mktemp("nwb")
    result, nwb_path = folder / "run.h5", folder / "run.nwb"
    assert cli.main(["forgetting", "--out", str(result), "--record-spikes", "all"] + TINY) == 0
    assert cli.main(["nwb", str(result), "--out", str(nwb_path)]) == 0
    return result, nwb_path


def _read_nwb(path):
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        units = nwbfile.units.to_dataframe()
        presentations = nwbfile.intervals["presentations"].to_dataframe() if "presentations" in nwbfile.intervals \
            else None
        epochs = nwbfile.epochs.to_dataframe() if nwbfile.epochs is not None else None
        session = {"notes": json.loads(nwbfile.notes), "subject": nwbfile.subject.species,
                   "start": nwbfile.session_start_time, "generated": [tuple(g) for g in nwbfile.was_generated_by],
                   "resolution": nwbfile.units.resolution}
    return units, presentations, epochs, session


def _recorded_spikes(result):
    """(variant, population) -> sorted (seconds, neuron) pairs from the result file itself."""
    with h5py.File(result, "r") as f:
        dt = f["spikes"].attrs["dt_s"]
        out = {}
        for part in f["spikes/parts"].values():
            for variant in ("dendritic", "point", "shuffled"):
                for population in ("hidden", "readout"):
                    g = part[f"{variant}/{population}"]
                    out.setdefault((variant, population), []).append(
                        np.stack([g["step"][...] * dt, g["i"][...]], axis=1))
    return {key: _sorted_rows(np.concatenate(v)) for key, v in out.items()}


def _sorted_rows(pairs):
    """(time, neuron) rows in order, duplicates kept (np.unique would hide them)."""
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


@pytest.mark.runtime
def test_spikes_and_presentations_read_back_from_nwb_equal_the_result_file(recorded):
    result, nwb_path = recorded
    units, presentations, epochs, session = _read_nwb(nwb_path)
    originals = _recorded_spikes(result)
    assert sum(len(v) for v in originals.values()) > 1000  # a real run's spikes, not an empty file
    for (variant, population), pairs in originals.items():
        rows = units[(units.variant == variant) & (units.population == population)]
        assert sorted(rows.neuron_index) == list(range(12 if population == "hidden" else 10))
        from_nwb = np.concatenate([np.stack([np.asarray(t), np.full(len(t), n)], axis=1)
                                   for t, n in zip(rows.spike_times, rows.neuron_index)])
        assert len(np.unique(pairs, axis=0)) == len(pairs)  # no spike recorded twice
        np.testing.assert_array_equal(_sorted_rows(from_nwb), pairs)  # every spike, each once
        for t in rows.spike_times:
            assert np.all(np.diff(t) > 0)
    # the context wiring: every dendritic hidden neuron gated by one task (partition gating)
    hidden = units[(units.variant == "dendritic") & (units.population == "hidden")]
    assert all(len(t) == 1 for t in hidden.gating_tasks)
    with h5py.File(result, "r") as f:
        wiring = {k: f[f"variants/dendritic/context_wiring/{k}"][...] for k in ("neuron", "task", "segment")}
        config = read_json_attr(f, "config")
        R = f["variants/dendritic/accuracy_matrix"][...]
        parts = [(int(g.attrs["block"]), {k: g[f"presentations/{k}"][...] for k in
                                          ("start_step", "stop_step", "task", "label", "train")})
                 for _, g in sorted(f["spikes/parts"].items())]
        dt = f["spikes"].attrs["dt_s"]
    for n, tasks in zip(hidden.neuron_index, hidden.gating_tasks):
        assert list(tasks) == list(wiring["task"][wiring["neuron"] == n])
    assert all(len(t) == 0 for t in units[units.variant == "point"].gating_tasks)
    # presentations: the same rows as the result file, in order
    stored = {k: np.concatenate([p[k] for _, p in parts]) for k in parts[0][1]}
    np.testing.assert_allclose(presentations.start_time, stored["start_step"] * dt, rtol=0, atol=1e-12)
    np.testing.assert_allclose(presentations.stop_time, stored["stop_step"] * dt, rtol=0, atol=1e-12)
    for k in ("task", "label", "train"):
        np.testing.assert_array_equal(presentations[k], stored[k])
    np.testing.assert_array_equal(presentations.block, np.concatenate([np.full(len(p["label"]), b) for b, p in parts]))
    assert (presentations.train.sum(), (~presentations.train).sum()) == (2 * 10, 3 * 2 * 5)
    # the last evaluation's correct column gives the accuracy matrix's last row
    last = presentations[(presentations.block == 1) & ~presentations.train]
    np.testing.assert_allclose(last.groupby("task").dendritic_correct.mean().to_numpy(), R[-1])
    # epochs: untrained evaluation, then train + test per block, with the block's task
    assert [list(tags) for tags in epochs.tags] == [["test", "untrained"], ["train", "task 0"],
                                                    ["test", "after block 0"], ["train", "task 1"],
                                                    ["test", "after block 1"]]
    assert np.all(np.diff(epochs.start_time) > 0)
    # the session: seed and configuration, versions, simulated subject, dt as resolution
    assert session["notes"]["seed"] == 0 and session["notes"]["config"] == config
    assert dict(session["generated"])["brian2"] and session["subject"].endswith("NCBITaxon_32630")
    assert session["resolution"] == pytest.approx(config["dt_ms"] * 1e-3)
    assert session["start"].tzinfo is not None


@pytest.mark.runtime
def test_the_nwb_spikes_give_back_each_readouts_decisions(recorded):
    """Binning the NWB readout spikes into the presentations' windows (rest + image)
    reproduces the predictions the network made during the run: spikes and intervals
    are on one clock, with the right neurons."""
    _, nwb_path = recorded
    units, presentations, _, session = _read_nwb(nwb_path)
    dt, circuit = session["resolution"], session["notes"]["circuit"]
    step = lambda seconds: np.round(np.asarray(seconds) / dt).astype(np.int64)  # noqa: E731
    # each presentation's window: its rest, then its image
    edges = np.stack([step(presentations.start_time) - round(circuit["t_rest_ms"] * 1e-3 / dt),
                      step(presentations.stop_time)], axis=1).ravel()
    for variant in ("dendritic", "point", "shuffled"):
        readout = units[(units.variant == variant) & (units.population == "readout")].sort_values("neuron_index")
        counts = np.stack([np.histogram(step(t), bins=edges - 0.5)[0][::2] for t in readout.spike_times], axis=1)
        np.testing.assert_array_equal(predictions(counts), presentations[f"{variant}_prediction"])
    assert presentations.shuffled_context.nunique() == 2  # the control saw both contexts


@pytest.mark.runtime
def test_nwbinspector_finds_no_critical_problem_or_best_practice_violation(recorded):
    from nwbinspector import Importance, inspect_nwbfile

    messages = list(inspect_nwbfile(nwbfile_path=str(recorded[1])))
    serious = [m for m in messages if m.importance in (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION)]
    assert not serious, [f"{m.importance.name} {m.check_function_name}: {m.message}" for m in serious]
    # What is left are suggestions, each expected: a simulation has no experimenter
    # or institution, and with 2 tasks the task, gating and label-free integer
    # columns happen to hold only 0 and 1 (they hold more with more tasks).
    allowed = {"check_experimenter_exists", "check_institution", "check_column_binary_capability"}
    assert {m.check_function_name for m in messages} <= allowed, [m.message for m in messages]


@pytest.mark.runtime
def test_a_sample_only_file_converts_its_spikes_onto_the_session_clock(recorded, tmp_path):
    """A --record-spikes sample file (here: the recorded file less its full record)
    converts to units only, and its spikes sit where the full record has them."""
    result, _ = recorded
    sample = tmp_path / "sample.h5"
    shutil.copy(result, sample)
    with h5py.File(sample, "a") as f:
        del f["spikes"]
    seal(sample)  # changed on purpose: otherwise refused as damaged
    out = tmp_path / "sample.nwb"
    assert cli.main(["nwb", str(sample), "--out", str(out)]) == 0
    units, presentations, epochs, _ = _read_nwb(out)
    assert presentations is None and epochs is None
    full = _recorded_spikes(result)
    for (variant, population), pairs in full.items():
        rows = units[(units.variant == variant) & (units.population == population)]
        got = np.concatenate([np.stack([np.asarray(t), np.full(len(t), n)], axis=1)
                              for t, n in zip(rows.spike_times, rows.neuron_index) if len(t)])
        assert len(got) > 0
        # each sampled spike is one of the full record's, at the same time (within float error)
        keys = {(round(t / 2.5e-4), int(n)) for t, n in pairs}
        assert all((round(t / 2.5e-4), int(n)) in keys for t, n in got)


def _not_ours(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    return path


def _another_protocol(tmp_path):
    path = tmp_path / "atari.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update({"protocol": "atari", "config": "{}", "circuit": "{}"})
    return path


def _without_spikes(tmp_path, recorded):
    path = tmp_path / "nospikes.h5"
    shutil.copy(recorded[0], path)
    with h5py.File(path, "a") as f:
        del f["spikes"]
        for v in f["variants"].values():
            del v["spikes"]
    seal(path)
    return path


def _text(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a result file")
    return path


@pytest.mark.runtime
@pytest.mark.parametrize("make, message", [
    (_not_ours, "not a result file of mtspark-bio"),
    (_text, "is not an HDF5 file"),
    (lambda tmp_path: tmp_path / "missing.h5", "does not exist"),
    (_another_protocol, "the 'atari' protocol, which records no spikes"),
    (_without_spikes, "holds no spikes"),
], ids=["hdf5-not-ours", "text", "missing", "atari", "no-spikes"])
def test_bad_input_exits_2_and_writes_nothing(recorded, tmp_path, capsys, make, message):
    source = make(tmp_path) if make is not _without_spikes else make(tmp_path, recorded)
    out = tmp_path / "out.nwb"
    before = set(tmp_path.iterdir())
    assert cli.main(["nwb", str(source), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert set(tmp_path.iterdir()) == before  # no NWB file, no temporary file


@pytest.mark.runtime
@pytest.mark.parametrize("where, message", [
    (lambda tmp_path: tmp_path / "no-such-folder" / "x.nwb", "does not exist"),
    (lambda tmp_path: tmp_path / "afile" / "x.nwb", "is not a folder"),
    (lambda tmp_path: tmp_path / "exists.nwb", "exists; delete it"),
], ids=["missing-folder", "parent-is-a-file", "exists"])
def test_an_unwritable_out_exits_2_and_writes_nothing(recorded, tmp_path, capsys, where, message):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "exists.nwb").write_text("keep me")
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert cli.main(["nwb", str(recorded[0]), "--out", str(where(tmp_path))]) == 2
    assert message in capsys.readouterr().err
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not (tmp_path / "no-such-folder").exists()


def test_a_recording_that_would_not_fit_is_refused_before_simulating(tmp_path, capsys):
    out = tmp_path / "big.h5"
    assert cli.main(["forgetting", "--out", str(out), "--record-spikes", "all", "--max-spike-mb", "0.01"] + TINY) == 2
    err = capsys.readouterr().err
    assert "--record-spikes all would store about" in err and "--max-spike-mb 0.01" in err
    assert "--record-spikes sample" in err  # the fix
    assert not list(tmp_path.iterdir())


@pytest.mark.runtime
def test_a_resumed_recording_keeps_every_spike_once(recorded, tmp_path, interrupt_training):
    """Interrupted in block 1 and resumed: the parts written before the interruption
    are carried over by each atomic rewrite, the interrupted block is recorded once,
    and the record equals the uninterrupted run's (runtime runs are seeded by run index)."""
    out = tmp_path / "resumed.h5"
    interrupt_training(1)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["forgetting", "--out", str(out), "--record-spikes", "all"] + TINY)
    with h5py.File(out, "r") as f:
        assert sorted(f["spikes/parts"]) == ["00", "01"]  # the untrained evaluation and block 0
    interrupt_training(None)
    assert cli.main(["forgetting", "--out", str(out), "--resume"] + TINY) == 0
    full, resumed = _recorded_spikes(recorded[0]), _recorded_spikes(out)
    for key, pairs in full.items():
        np.testing.assert_array_equal(resumed[key], pairs)
    with h5py.File(out, "r") as a, h5py.File(recorded[0], "r") as b:
        for part in b["spikes/parts"]:
            for name in ("run", "start_step", "label", "train"):
                np.testing.assert_array_equal(a[f"spikes/parts/{part}/presentations/{name}"][...],
                                              b[f"spikes/parts/{part}/presentations/{name}"][...])
