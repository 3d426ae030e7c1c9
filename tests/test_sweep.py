"""``mtspark-bio sweep``: a tiny forgetting sweep on a 2-worker LocalCluster (a worker
killed mid-run, a run that always fails, --resume after an interruption, per-run files
equal to the same runs made one by one), bad input, the SLURM job script, and the
statistics against hand-computed values."""

import csv
import json
import os
import shutil

import h5py
import numpy as np
import pytest

from mtspark_bio.front import cli, sweep
from mtspark_bio.protocols import forgetting

# a forgetting run of a few seconds on the runtime device
TINY = ["--set", "n_tasks=2", "--set", "test_samples=4", "--set", "chunk=8", "--set", "device=runtime",
        "--set", "variants=dendritic,point", "--set", "circuit.n_hidden=24", "--set", "circuit.n_inhibitory=6",
        "--set", "circuit.context_per_task=4", "--set", "circuit.t_present_ms=40",
        "--set", "circuit.t_rest_ms=10"]
GRID = ["--grid", "train_samples=4,8"]


def run_sweep(directory, *extra, env=None):
    """``mtspark-bio sweep forgetting`` with the test hooks in ``env`` set for its workers
    (they inherit this process's environment when the cluster starts)."""
    env = env or {}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return cli.main(["sweep", "forgetting", "--out", str(directory), *TINY, *extra])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_run(path):
    with h5py.File(path, "r") as f:
        return {"complete": bool(f.attrs["complete"]), "blocks_done": int(f.attrs["blocks_done"]),
                **{v: {"R": g["accuracy_matrix"][...], "baseline": g["baseline_accuracy"][...],
                       "w": g["state/readout_w"][...]} for v, g in f["variants"].items()}}


def assert_same_run(a, b):
    assert a["complete"] and b["complete"]
    for v in ("dendritic", "point"):
        for key in ("R", "baseline", "w"):
            np.testing.assert_array_equal(a[v][key], b[v][key])


@pytest.fixture(scope="module")
def killed_sweep(tmp_path_factory):
    """2 seeds x 2 training-set sizes on 2 workers; the first run to finish a block kills
    its worker process (as a segfault or the OOM killer would)."""
    directory = tmp_path_factory.mktemp("sweep") / "out"
    marker = directory.parent / "killed"
    status = run_sweep(directory, *GRID, "--seeds", "0-1", "--workers", "2",
                       env={sweep.KILL_ONCE_ENV: str(marker)})
    return directory, status, marker


@pytest.mark.runtime
@pytest.mark.slow
def test_sweep_survives_a_killed_worker_and_writes_its_tables(killed_sweep, capsys):
    directory, status, marker = killed_sweep
    assert status == 0 and marker.exists()  # a worker was killed, and the sweep still finished
    table = rows(directory / "runs.csv")
    assert len(table) == 8 and {r["status"] for r in table} == {"done"}
    assert sorted({(r["seed"], r["train_samples"]) for r in table}) == [("0", "4"), ("0", "8"), ("1", "4"), ("1", "8")]
    logs = [p.read_text() for p in (directory / "logs").glob("*.log")]
    resumed = [log for log in logs if "--- resuming" in log]
    assert len(resumed) == 1 and "--- starting" in resumed[0]  # the killed run continued from its file
    summary = rows(directory / "summary.csv")
    assert [(r["train_samples"], r["variant"], r["n"]) for r in summary] == [
        ("4", "dendritic", "2"), ("4", "point", "2"), ("8", "dendritic", "2"), ("8", "point", "2")]
    for r in summary:  # the summary is that of the runs table
        values = [float(t["acc"]) for t in table if (t["train_samples"], t["variant"]) == (r["train_samples"], r["variant"])]
        assert float(r["acc_mean"]) == pytest.approx(np.mean(values))
    assert cli.main(["figures", str(directory)]) == 0
    assert (directory / "sweep.png").exists() and (directory / "sweep.pdf").exists()


@pytest.mark.runtime
@pytest.mark.slow
def test_sweep_files_equal_the_same_runs_one_by_one(killed_sweep, tmp_path):
    directory, _, _ = killed_sweep
    meta = json.loads((directory / "sweep.json").read_text())
    # the run whose worker was killed and which was resumed, and one that was not
    logs = {p.stem: p.read_text() for p in (directory / "logs").glob("*.log")}
    killed = next(name for name, log in logs.items() if "--- resuming" in log)
    other = next(name for name in logs if name != killed and meta["runs"][name]["seed"] != meta["runs"][killed]["seed"])
    for name in (killed, other):
        config = json.loads(h5py.File(directory / "runs" / f"{name}.h5", "r").attrs["config"])
        alone = tmp_path / f"{name}.h5"
        forgetting.run(config, alone, log=lambda *_: None)
        assert_same_run(read_run(directory / "runs" / f"{name}.h5"), read_run(alone))


@pytest.mark.runtime
@pytest.mark.slow
def test_a_run_that_always_fails_is_recorded_and_the_others_complete(killed_sweep, tmp_path, capsys):
    directory, _, _ = killed_sweep
    status = run_sweep(tmp_path / "failing", "--grid", "train_samples=4", "--seeds", "0-1", "--workers", "1",
                       env={sweep.FAIL_SEED_ENV: "1"})
    assert status == 1
    table = {r["seed"]: r for r in rows(tmp_path / "failing" / "runs.csv") if r["variant"] in ("dendritic", "")}
    assert table["0"]["status"] == "done" and table["1"]["status"] == "failed"
    assert "fails on purpose" in table["1"]["error"]
    # the run that did finish is the one the first sweep made
    done = next(r["run"] for r in rows(tmp_path / "failing" / "runs.csv") if r["status"] == "done")
    assert_same_run(read_run(tmp_path / "failing" / "runs" / f"{done}.h5"), read_run(directory / "runs" / f"{done}.h5"))
    assert "1 failed" in capsys.readouterr().out


@pytest.mark.runtime
@pytest.mark.slow
def test_resume_runs_only_what_was_missing(killed_sweep, tmp_path):
    directory, _, _ = killed_sweep
    out = tmp_path / "interrupted"
    # no retries: the killed run is recorded as failed, its file holds the first block
    status = run_sweep(out, "--grid", "train_samples=4", "--seeds", "0", "--workers", "1", "--retries", "0",
                       env={sweep.KILL_ONCE_ENV: str(tmp_path / "killed")})
    assert status == 1
    (interrupted,) = (out / "runs").glob("*.h5")
    partial = read_run(interrupted)
    assert partial["blocks_done"] == 1 and not partial["complete"]
    # the other seed's run, finished by the first sweep, joins the folder
    meta = json.loads((directory / "sweep.json").read_text())
    finished = next(n for n, r in meta["runs"].items() if r["seed"] == 1 and r["settings"]["train_samples"] == "4")
    shutil.copy2(directory / "runs" / f"{finished}.h5", out / "runs")
    before = (out / "runs" / f"{finished}.h5").stat().st_mtime_ns
    status = run_sweep(out, "--grid", "train_samples=4", "--seeds", "0-1", "--workers", "1", "--resume")
    assert status == 0
    assert (out / "runs" / f"{finished}.h5").stat().st_mtime_ns == before  # untouched
    statuses = {r["run"]: r["status"] for r in rows(out / "runs.csv")}
    assert statuses == {interrupted.stem: "done", finished: "skipped"}
    assert "--- resuming" in (out / "logs" / f"{interrupted.stem}.log").read_text()
    assert_same_run(read_run(interrupted), read_run(directory / "runs" / interrupted.name))


@pytest.mark.parametrize("argv, words", [
    (["sweep", "banana", "--seeds", "0"], "unknown protocol 'banana'"),
    (["sweep", "forgetting", "--seeds", "0", "--grid", "train_smaples=1,2"], "unknown key 'train_smaples'"),
    (["sweep", "forgetting", "--seeds", "0", "--grid", "train_samples="], "empty value"),
    (["sweep", "forgetting", "--seeds", "0", "--grid", "n_tasks=2,x"], "ForgettingConfig.n_tasks is of type int, not str"),
    (["sweep", "forgetting", "--seeds", "0", "--set", "circuit.n_hidden=1.5"], "HiddenParams.n_hidden is of type int, not float"),
    (["sweep", "forgetting", "--seeds", "0", "--set", "circuit.n_hiden=4"], "has no field 'n_hiden'"),
    (["sweep", "forgetting", "--seeds", "0", "--set", "variants=banana"], "unknown variant(s) ['banana']"),
    (["sweep", "forgetting", "--seeds", "0", "--grid", "seed=1,2"], "given by --seeds"),
    (["sweep", "forgetting", "--seeds", "4-2"], "--seeds '4-2'"),
    (["sweep", "stdp-window", "--seeds", "0", "--set", "circuit.n_hidden=3"], "stdp-window has no JSON overrides"),
    (["sweep", "forgetting", "--seeds", "0", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["sweep", "forgetting", "--seeds", "0", "--slurm"], "needs SLURM's sbatch"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, argv, words):
    out = tmp_path / "out"
    assert cli.main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and words in err, err
    assert not out.exists()


def test_slurm_job_script_carries_queue_walltime_cores_and_memory(capsys):
    assert cli.main(["sweep", "forgetting", "--seeds", "0", "--out", "unused", "--slurm", "--print-job-script",
                     "--slurm-queue", "short", "--slurm-walltime", "00:30:00", "--slurm-cores", "4",
                     "--slurm-memory", "8GB", "--slurm-extra=--qos=low"]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH -p short", "#SBATCH -t 00:30:00", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=8G",
                 "#SBATCH --qos=low"):
        assert line in script, script
    assert "--nthreads 1" in script and "--nworkers 4" in script  # one single-threaded worker per core


def test_statistics_match_hand_computed_values():
    table = [{"lr": "a", "variant": "x", "status": "done", "acc": v} for v in (0.2, 0.4, 0.6)]
    table += [{"lr": "b", "variant": "x", "status": "done", "acc": v} for v in (0.0, 1.0)]
    table += [{"lr": "b", "variant": "x", "status": "failed", "acc": ""},
              {"lr": "c", "variant": "x", "status": "done", "acc": 0.5}]
    a, b, c = sweep.summarize(table, ["lr", "variant"], ["acc"])
    assert (a["n"], b["n"], c["n"]) == (3, 2, 1)  # the failed run is not counted
    assert a["acc_mean"] == pytest.approx(0.4) and a["acc_sd"] == pytest.approx(0.2)  # sqrt(0.08 / 2)
    assert b["acc_mean"] == pytest.approx(0.5) and b["acc_sd"] == pytest.approx(np.sqrt(0.5))
    # resampling {0, 1} twice gives means 0, 0.5, 1 with p = 1/4, 1/2, 1/4: the 2.5 % and
    # 97.5 % points are 0 and 1
    assert (b["acc_ci_low"], b["acc_ci_high"]) == (0.0, 1.0)
    # {0, 0, 0, 1}: P(mean = 0) = 0.32 > 0.025, P(mean >= 0.75) = 0.051 > 0.025 > P(mean = 1) = 0.004
    assert sweep.bootstrap_ci([0, 0, 0, 1]) == (0.0, 0.75)
    assert c["acc_mean"] == 0.5 and np.isnan(c["acc_sd"]) and (c["acc_ci_low"], c["acc_ci_high"]) == (0.5, 0.5)
    assert sweep.bootstrap_ci([0.2, 0.4, 0.6]) == sweep.bootstrap_ci([0.2, 0.4, 0.6])  # fixed RNG seed


def test_seeds_and_assignments_parse():
    assert sweep.parse_seeds("0-2,7,1") == [0, 1, 2, 7]
    assert sweep.parse_assignments(["a=1,2", "b=x"], "--grid", True) == {"a": ["1", "2"], "b": ["x"]}
    assert sweep.parse_assignments(["variants=dendritic,point"], "--set", False) == {"variants": ["dendritic,point"]}


@pytest.mark.runtime
@pytest.mark.slow
def test_a_physiology_protocol_sweeps_with_its_key_numbers(tmp_path):
    out = tmp_path / "coincidence"
    assert cli.main(["sweep", "coincidence", "--seeds", "0-1", "--workers", "1", "--out", str(out)]) == 0
    table = rows(out / "runs.csv")
    assert [(r["seed"], r["status"]) for r in table] == [("0", "done"), ("1", "done")]
    with h5py.File(out / "runs" / f"{table[0]['run']}.h5", "r") as f:  # the protocol's own file and numbers
        assert f.attrs["protocol"] == "coincidence" and float(table[0]["window_ms"]) == f.attrs["window_ms"]
    (summary,) = rows(out / "summary.csv")
    assert summary["n"] == "2" and float(summary["window_ms_mean"]) == pytest.approx(
        np.mean([float(r["window_ms"]) for r in table]))


def test_runs_are_typed_configurations_named_as_the_command_line_names_them(tmp_path):
    """A run carries the API's typed configuration (no argument list), survives the trip
    to a worker, and is named by the same hash as the command line's configuration of
    the same options (so sweep folders made before keep their run names)."""
    import pickle

    from mtspark_bio.front import api, options

    runs = sweep.plan_runs("forgetting", [3], {}, {"train_samples": "8", "variants": "dendritic",
                                                   "circuit.n_hidden": "24"}, tmp_path)
    config = runs[0].config
    assert isinstance(config, api.ForgettingConfig)
    assert (config.seed, config.train_samples, config.variants, config.circuit) == (3, 8, ("dendritic",),
                                                                                    {"n_hidden": 24})
    assert pickle.loads(pickle.dumps(config)) == config
    args = cli.build_parser().parse_args(["forgetting", "--seed", "3", "--train-samples", "8", "--variants",
                                          "dendritic", "--circuit", '{"n_hidden": 24}'])
    assert runs[0].name == f"forgetting-{sweep.config_hash('forgetting', options.forgetting_config(args))}"
    atari = sweep.plan_runs("atari", [0], {"sticky": ["true", "false"]}, {}, tmp_path)
    assert [r.config.sticky for r in atari] == [True, False]
