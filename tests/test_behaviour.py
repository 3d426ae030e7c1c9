"""Behaviour no other test covered (issue 14): the figures command on bad files, the
figure drawn from a file the forgetting protocol itself wrote, the protocol's untried
options end to end, resume edge cases, and the closed loop's failure paths and seeds.

The simulations are the tiny runtime configuration of tests/test_forgetting_protocol.py.
"""

import json
import os
import threading
import time

import h5py
import matplotlib.image as mpimg
import numpy as np
import pytest

from mtspark_bio.figures import forgetting as forgetting_figure
from mtspark_bio import closed_loop
from mtspark_bio.front import cli
from mtspark_bio.devices import Simulation
from mtspark_bio.metrics import continual_metrics
from mtspark_bio.experiments import forgetting

TINY = ["--n-tasks", "2", "--train-samples", "20", "--test-samples", "10", "--chunk", "10",
        "--circuit", json.dumps({"n_hidden": 24, "n_inhibitory": 6, "context_per_task": 4}),
        "--device", "runtime"]
N_TEST = 10  # --test-samples: each accuracy is a multiple of 1 / N_TEST


def read(path):
    """What a forgetting result file holds, as plain values."""
    with h5py.File(path, "r") as f:
        out = {"complete": bool(f.attrs["complete"]), "blocks_done": int(f.attrs["blocks_done"]),
               "runs": int(f.attrs["runs"]), "config": json.loads(f.attrs["config"]),
               "schedule": f["schedule"][...].tolist(), "variants": sorted(f["variants"])}
        for v in f["variants"]:
            g = f["variants"][v]
            out[v] = {"R": g["accuracy_matrix"][...], "baseline": g["baseline_accuracy"][...],
                      "state": {k: g["state"][k][...] for k in g["state"]} if "state" in g else {},
                      "metrics": {k: float(g.attrs[k]) for k in ("acc", "bwt", "fwt", "forgetting")},
                      "overlap": float(g.attrs["mean_active_overlap"])}
    return out


def figure_files(directory):
    return sorted(p.name for p in directory.rglob("*") if p.suffix in (".pdf", ".png"))


def refuse_to_simulate(monkeypatch):
    monkeypatch.setattr(Simulation, "__init__", lambda *a, **k: pytest.fail("simulated despite bad input"))


# --- mtspark-bio figures on bad files -------------------------------------------------

def _write_bad_file(path, case):
    if case == "text":
        path.write_text("protocol = forgetting\n")  # not HDF5, despite the name
    elif case == "directory":
        path.mkdir()
    elif case != "missing":
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(3)
            if case == "unknown-protocol":
                f.attrs["protocol"] = "xor"
            elif case == "forgetting-without-data":
                f.attrs["protocol"] = "forgetting"


@pytest.mark.parametrize("case, message", [pytest.param(case, message, id=case) for case, message in [
    ("missing", "does not exist"),
    ("text", "is not an HDF5 file"),
    ("directory", "is a folder without runs.csv"),
    ("no-protocol", "has no root attribute 'protocol', so it is not a result file of mtspark-bio"),
    ("unknown-protocol", "no figure renderer for protocol 'xor'"),
    ("forgetting-without-data", "has no /schedule dataset"),
]])
def test_figures_command_on_a_bad_file_exits_2_and_draws_nothing(tmp_path, capsys, case, message):
    path = tmp_path / "r.h5"
    _write_bad_file(path, case)
    assert cli.main(["figures", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {path} ") and message in captured.err, captured.err
    assert captured.out == "" and figure_files(tmp_path) == []


def test_figures_command_draws_the_good_file_and_fails_on_the_bad_one(tmp_path, capsys):
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as f:
        f.attrs["protocol"] = "forgetting"
        f["schedule"] = np.array([0, 1])
        f["variants/dendritic/accuracy_matrix"] = np.array([[0.9, 0.1], [0.5, 0.8]])
    bad = tmp_path / "bad.h5"
    _write_bad_file(bad, "text")
    assert cli.main(["figures", str(bad), str(good)]) == 2
    captured = capsys.readouterr()
    assert captured.out.split() == [str(tmp_path / "good.pdf"), str(tmp_path / "good.png")]
    assert captured.err.count("error:") == 1 and str(bad) in captured.err
    assert figure_files(tmp_path) == ["good.pdf", "good.png"]


# --- the figure from the protocol's own output -----------------------------------------

@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A tiny forgetting run with its figure (no --no-figure), recording what the
    figure's raster and weight-histogram panels were drawn from. Also the uninterrupted
    reference of the resume test below."""
    out = tmp_path_factory.mktemp("real") / "forgetting.h5"
    drawn = {"raster": [], "weights": []}
    raster, weights = forgetting_figure._spike_raster, forgetting_figure._weight_panel

    def spy_raster(ax, variant):
        drawn["raster"].append((variant.name, {pop: len(t) for pop, (t, _) in variant.spikes.items()}))
        return raster(ax, variant)

    def spy_weights(ax, variants, colors):
        drawn["weights"].append([(v.name, forgetting_figure._readout(v.weights)[0]) for v in variants])
        return weights(ax, variants, colors)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forgetting_figure, "_spike_raster", spy_raster)
        patch.setattr(forgetting_figure, "_weight_panel", spy_weights)
        status = cli.main(["forgetting", "--out", str(out), "--variants", "dendritic"] + TINY)
    assert status == 0
    return out, drawn


@pytest.mark.runtime
def test_the_protocol_draws_its_figure_from_the_file_it_wrote(real_run):
    out, drawn = real_run
    pdf, png = out.with_suffix(".pdf"), out.with_suffix(".png")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    image = mpimg.imread(png)  # a readable PNG, not an empty page
    assert image.ndim == 3 and image.shape[0] > 500 and image[..., :3].std() > 0.05

    variant = forgetting_figure.load_forgetting(out).variants["dendritic"]
    assert list(variant.spikes) == ["hidden", "readout"]
    for population, size in (("hidden", 24), ("readout", 10)):
        t, i = variant.spikes[population]
        assert t.size > 0 and t.size == i.size and 0 <= i.min() and i.max() < size
    name, w = forgetting_figure._readout(variant.weights)
    assert name == "hidden_to_readout" and w.size == 24 * 10 and np.isfinite(w).all() and w.std() > 0
    # the figure's third row was drawn from these arrays
    spikes = {pop: len(t) for pop, (t, _) in variant.spikes.items()}
    assert drawn == {"raster": [("dendritic", spikes)], "weights": [[("dendritic", "hidden_to_readout")]]}


@pytest.mark.runtime
def test_the_result_reports_hidden_spikes_and_their_ungated_share_per_task(real_run):
    from mtspark_bio.readers import load_forgetting

    out, _ = real_run
    activity = load_forgetting(out).variants["dendritic"].activity
    assert activity["spikes_per_presentation"].shape == activity["ungated_share"].shape == (2,)
    assert (activity["spikes_per_presentation"] > 0).all()
    # partition gating: each task gates half the cells, and ungated cells fire less
    assert ((0 <= activity["ungated_share"]) & (activity["ungated_share"] < 0.5)).all()


@pytest.mark.runtime
def test_the_result_reports_synaptic_operations_beside_a_rate_networks_macs(real_run):
    """Every hidden spike reaches every readout neuron and part of the inhibitory pool,
    and every input spike the cells that sample its pixel: the operations per image
    exceed the hidden spikes times the classes, and the rate network's cost is its
    two dense layers."""
    import json

    import h5py

    from mtspark_bio.readers import load_forgetting

    out, _ = real_run
    activity = load_forgetting(out).variants["dendritic"].activity
    with h5py.File(out) as f:
        circuit = json.loads(f.attrs["circuit"])
    n_in, n_hidden, n_classes = circuit["n_features"], circuit["hidden"]["n_hidden"], circuit["n_classes"]
    assert (activity["rate_network_macs"] == n_in * n_hidden + n_hidden * n_classes).all()
    assert (activity["synaptic_operations"] > activity["spikes_per_presentation"] * n_classes).all()


# --- untried options end to end --------------------------------------------------------

@pytest.mark.runtime
@pytest.mark.parametrize("extra, variants, schedule", [
    pytest.param(["--variants", "dendritic,shuffled"], ["dendritic", "shuffled"], [0, 1], id="shuffled"),
    pytest.param(["--variants", "dendritic", "--schedule", "cycling", "--cycles", "2"], ["dendritic"],
                 [0, 1, 0, 1], id="cycling"),
    pytest.param(["--variants", "dendritic", "--tasks", "split"], ["dendritic"], [0, 1], id="split"),
])
def test_untried_options_end_to_end(tmp_path, extra, variants, schedule):
    out = tmp_path / "r.h5"
    assert cli.main(["forgetting", "--out", str(out), "--no-figure"] + TINY + extra) == 0
    result = read(out)
    assert result["complete"] and result["blocks_done"] == len(schedule)
    assert result["schedule"] == schedule and result["variants"] == sorted(variants)
    for v in variants:
        R, baseline = result[v]["R"], result[v]["baseline"]
        assert R.shape == (len(schedule), 2) and np.isfinite(R).all() and np.isfinite(baseline).all()
        np.testing.assert_allclose(R * N_TEST, np.round(R * N_TEST), atol=1e-9)  # fractions of the test set
        assert result[v]["metrics"] == pytest.approx(continual_metrics(R, schedule, baseline))
    config = result["config"]
    if "shuffled" in variants:
        # a random context per presentation gates both tasks' neurons for every task, so
        # the tasks' active hidden sets overlap more than under the true context
        # (measured: 0.92 against 0.62)
        assert result["shuffled"]["overlap"] > result["dendritic"]["overlap"] + 0.1
    if "--cycles" in extra:
        assert config["schedule"] == "cycling" and config["cycles"] == 2
    if "split" in extra:
        assert config["tasks"] == "split"
        plan = forgetting.Plan(config)  # the stored configuration gives the split tasks back
        assert [sorted(set(t.y_test.tolist())) for t in plan.tasks] == [[0, 1], [2, 3]]


def test_a_duplicate_variant_is_refused_before_simulating(tmp_path, capsys, monkeypatch):
    refuse_to_simulate(monkeypatch)
    out = tmp_path / "r.h5"
    assert cli.main(["forgetting", "--out", str(out), "--variants", "point,dendritic,point"] + TINY) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--variants" in err and "twice" in err, err
    assert list(tmp_path.iterdir()) == []


def test_the_duplicate_variant_error_names_the_variant(tmp_path, capsys, monkeypatch):
    refuse_to_simulate(monkeypatch)
    assert cli.main(["forgetting", "--out", str(tmp_path / "r.h5"), "--variants", "point,dendritic,point"]
                    + TINY) == 2
    err = capsys.readouterr().err
    assert "'point'" in err and "'dendritic'" not in err, err


# --- resume edge cases -----------------------------------------------------------------

@pytest.mark.runtime
def test_resume_after_interruption_in_the_untrained_evaluation(real_run, tmp_path, monkeypatch):
    reference = read(real_run[0])
    out = tmp_path / "interrupted.h5"
    args = ["forgetting", "--out", str(out), "--no-figure", "--variants", "dendritic"] + TINY
    original = forgetting.Runner._run_chunk
    chunks = []

    def stop_in_the_second_chunk(self, x, y, task, plastic):
        chunks.append(plastic)
        if len(chunks) == 2:
            raise KeyboardInterrupt  # as Ctrl-C would, between two test chunks
        return original(self, x, y, task, plastic)

    monkeypatch.setattr(forgetting.Runner, "_run_chunk", stop_in_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        cli.main(args)
    assert chunks == [False, False]  # stopped inside the untrained evaluation, before any training
    partial = read(out)  # a file to resume, holding nothing yet
    assert partial["blocks_done"] == -1 and partial["runs"] == 0 and not partial["complete"]
    assert np.isnan(partial["dendritic"]["baseline"]).all() and np.isnan(partial["dendritic"]["R"]).all()
    assert not list(tmp_path.glob("*.tmp-*"))

    monkeypatch.setattr(forgetting.Runner, "_run_chunk", original)
    assert cli.main(args + ["--resume"]) == 0
    resumed = read(out)
    assert resumed["complete"] and resumed["runs"] == reference["runs"]
    a, b = reference["dendritic"], resumed["dendritic"]
    assert np.isfinite(a["R"]).all() and np.isfinite(a["baseline"]).all()
    np.testing.assert_array_equal(a["baseline"], b["baseline"])
    np.testing.assert_array_equal(a["R"], b["R"])
    assert a["state"].keys() == b["state"].keys()
    for key in a["state"]:
        np.testing.assert_array_equal(a["state"][key], b["state"][key])
    assert a["metrics"] == b["metrics"]


@pytest.mark.runtime
def test_resume_refuses_changed_options_and_returns_at_once_when_complete(real_run, tmp_path, capsys,
                                                                          monkeypatch):
    """A 2-task result resumed with --n-tasks 3 used to be rebuilt and printed as it was:
    an option that differs from the stored configuration is now refused, naming each key
    with both values; a complete file resumed as it was is printed without a network."""
    out = tmp_path / "complete.h5"
    out.write_bytes(real_run[0].read_bytes())
    before = out.read_bytes()
    refuse_to_simulate(monkeypatch)
    args = ["forgetting", "--out", str(out), "--resume", "--no-figure", "--variants", "dendritic"] + TINY
    capsys.readouterr()
    assert cli.main(args + ["--n-tasks", "3", "--seed", "4"]) == 2
    err = capsys.readouterr().err
    assert "--n-tasks: stored 2, requested 3" in err and "--seed: stored 0, requested 4" in err, err
    assert "chunk" not in err  # options given as stored are not reported
    assert cli.main(args) == 0  # Simulation is never built for a complete file
    shown = capsys.readouterr().out
    reference = read(real_run[0])["dendritic"]["R"]
    assert " ".join(f"{a:7.3f}" for a in reference[-1]) in shown, shown
    assert out.read_bytes() == before


def _other_file(path, kind):
    if kind == "atari":
        with h5py.File(path, "w") as f:
            f.attrs["protocol"] = "atari"
            f.attrs["config"] = json.dumps({"games": ["pong"]})
            f.attrs["blocks_done"] = 1
    elif kind == "stdp-window":
        assert cli.main(["protocol", "stdp-window", "--out", str(path), "--no-figure"]) == 0
    elif kind == "no-protocol":
        with h5py.File(path, "w") as f:
            f.attrs["config"] = json.dumps({"n_tasks": 2})
    elif kind == "forgetting-without-config":
        with h5py.File(path, "w") as f:
            f.attrs["protocol"] = "forgetting"
    elif kind == "text":
        path.write_text("not a result file\n")


@pytest.mark.parametrize("command, kind, message", [
    pytest.param("forgetting", "atari", "is a result file of the 'atari' protocol, not one of the 'forgetting'",
                 id="atari-file"),
    pytest.param("forgetting", "stdp-window", "is a result file of the 'stdp-window' protocol, not one of the "
                 "'forgetting'", id="stdp-window-file", marks=pytest.mark.runtime),
    pytest.param("forgetting", "no-protocol", "has no 'protocol' attribute", id="no-protocol"),
    pytest.param("forgetting", "forgetting-without-config", "stores no configuration", id="no-config"),
    pytest.param("forgetting", "text", "cannot read", id="text-file"),
    pytest.param("atari", "forgetting-without-config", "is a result file of the 'forgetting' protocol, not one "
                 "of the 'atari'", id="atari-resumes-forgetting"),
])
def test_resume_refuses_another_protocols_file_and_leaves_it_untouched(tmp_path, capsys, monkeypatch,
                                                                        command, kind, message):
    path = tmp_path / "other.h5"
    _other_file(path, kind)
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path)))
    capsys.readouterr()
    refuse_to_simulate(monkeypatch)
    extra = TINY if command == "forgetting" else ["--device", "runtime"]
    assert cli.main([command, "--out", str(path), "--resume"] + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err, err
    assert (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path))) == before


# --- the closed loop's pipe: a peer that dies or never answers ----------------------------

N_OUT, N_IN = 3, 2


class FakeBinary:
    """The compiled network's side of the bridge (cpp/closed_loop_bridge.cpp) in Python:
    write [t, counts] to the server's FIFO, then read [modulator, tag, drive, observation].
    ``behaviour(self)`` is what it does; ``release`` lets a hanging one go on."""

    def __init__(self, server, behaviour):
        self.server, self.behaviour = server, behaviour
        self.release, self.done = threading.Event(), threading.Event()
        self.to_python = self.from_python = None
        self.replies = []

    def __call__(self):  # the run() that PipeServer.serve executes in its thread
        try:
            self.behaviour(self)
        finally:
            for fd in (self.to_python, self.from_python):
                if fd is not None:
                    os.close(fd)
            self.done.set()

    def connect(self):
        self.to_python = os.open(self.server.to_python, os.O_WRONLY)

    def send(self, t):
        os.write(self.to_python, np.r_[t, np.arange(N_OUT) + t].astype(np.float64).tobytes())

    def receive(self):
        if self.from_python is None:
            self.from_python = os.open(self.server.from_python, os.O_RDONLY)
        size, data = 8 * (3 * N_OUT + N_IN), b""
        while len(data) < size:
            chunk = os.read(self.from_python, size - len(data))
            if not chunk:
                raise RuntimeError("closed-loop bridge: the Python side closed the pipe")
            data += chunk
        self.replies.append(np.frombuffer(data, dtype=np.float64))

    def hang(self):
        self.release.wait(30)


def healthy(binary):
    binary.connect()
    for t in range(3):
        binary.send(t)
        binary.receive()


def dies_after_a_reply(binary):
    binary.connect()
    binary.send(0)
    binary.receive()
    raise RuntimeError("Project run failed (fake binary)")


def dies_before_reading_the_reply(binary):
    binary.connect()
    binary.send(0)
    raise RuntimeError("Project run failed (fake binary)")


def silent_after_connecting(binary):
    binary.connect()
    binary.hang()
    binary.send(1)  # its pipe is closed by now: BrokenPipeError, as SIGPIPE ends a binary


def never_connects(binary):
    binary.hang()
    binary.connect()  # the FIFO is gone by now: FileNotFoundError


def never_opens_the_reply_pipe(binary):
    binary.connect()
    binary.send(0)
    binary.hang()
    binary.receive()


def answer(counts):
    return counts, 2 * counts, -counts, np.full(N_IN, counts.sum())


def test_two_closed_loops_in_one_process_keep_their_own_pipes():
    """Each server's FIFOs reach only the runs it serves: a run's environment goes to
    its binary alone (Simulation.run(inputs, environment=server.environment)). Brian2
    hands it over through os.environ, where a second server's would overwrite the
    first's and outlive the run."""
    from brian2 import prefs

    from mtspark_bio.devices import binary_environment

    servers = [closed_loop.PipeServer(N_OUT, N_IN), closed_loop.PipeServer(N_OUT, N_IN)]
    seen = []

    def healthy_reading_its_environment(binary):
        seen.append(dict(prefs.devices.cpp_standalone.run_environment_variables))
        # what Brian2's device.run does before it starts the binary
        os.environ.update(prefs.devices.cpp_standalone.run_environment_variables)
        healthy(binary)

    def run_with_environment(server, binary):
        with binary_environment(server.environment):  # as Simulation.run does
            binary()

    try:
        for server in servers + servers[:1]:
            binary = FakeBinary(server, healthy_reading_its_environment)
            server.serve(lambda: run_with_environment(server, binary), answer)
    finally:
        for server in servers:
            server.close()
    assert servers[0].environment["MTSPARK_BRIDGE_TO_PY"] != servers[1].environment["MTSPARK_BRIDGE_TO_PY"]
    for server, environment in zip(servers + servers[:1], seen):
        assert server.environment.items() <= environment.items()
    assert "MTSPARK_BRIDGE_TO_PY" not in prefs.devices.cpp_standalone.run_environment_variables
    assert "MTSPARK_BRIDGE_TO_PY" not in os.environ


def test_closed_loop_pipe_answers_a_healthy_binary():
    server = closed_loop.PipeServer(N_OUT, N_IN)
    binary = FakeBinary(server, healthy)
    try:
        server.serve(binary, answer)
    finally:
        server.close()
    assert binary.done.is_set() and len(binary.replies) == 3
    for t, reply in enumerate(binary.replies):
        counts = np.arange(N_OUT) + t
        np.testing.assert_array_equal(reply, np.r_[counts, 2 * counts, -counts, np.full(N_IN, counts.sum())])


@pytest.mark.parametrize("behaviour, error, message", [pytest.param(*case, id=case[0].__name__) for case in [
    (dies_after_a_reply, RuntimeError, "Project run failed"),
    (dies_before_reading_the_reply, RuntimeError, "Project run failed"),  # hung in os.open before
    (silent_after_connecting, TimeoutError, "sent no message for 0.5 s"),  # hung forever before
    (never_connects, TimeoutError, "sent no message for 0.5 s"),
    (never_opens_the_reply_pipe, TimeoutError, "did not open the reply pipe for 0.5 s"),
]])
def test_closed_loop_pipe_fails_clearly_when_the_binary_dies_or_never_answers(behaviour, error, message):
    server = closed_loop.PipeServer(N_OUT, N_IN, timeout_s=0.5)
    server.RELEASE_S = 0.5
    binary = FakeBinary(server, behaviour)
    started = time.monotonic()
    try:
        with pytest.raises(error, match=message):
            server.serve(binary, answer)
        assert time.monotonic() - started < 10  # an error, not a hang
    finally:
        server.close()  # as ClosedLoop.close does: the FIFOs go
        binary.release.set()
    assert binary.done.wait(10)  # and the binary, let go, ends: nothing is left waiting on a pipe


# --- the Atari protocol: the random baseline plays the agent's environments ----------------

class FakeLoop:
    """ClosedLoop without a network: every controller is stepped with zero output counts."""

    def __init__(self, config, variants, **kwds):
        self.state = dict.fromkeys(variants)

    def play(self, controllers, game, progress=None):
        while not all(c.finished for c in controllers.values()):
            for c in controllers.values():
                if not c.finished:
                    c.step(np.zeros(c.n_out))

    def close(self):
        pass


def test_random_baseline_and_agent_are_evaluated_on_the_same_environment_seeds(monkeypatch):
    from mtspark_bio.closed_loop import controllers
    from mtspark_bio.experiments import atari

    resets, player = [], ["agent"]
    make_env, play_random = controllers.make_env, closed_loop.play_random

    def recording_make_env(game, **kwds):
        env = make_env(game, **kwds)
        reset = env.reset

        def recorded_reset(seed=None, **options):
            frame, info = reset(seed=seed, **options)
            resets.append((player[0], game, seed, frame.copy()))
            return frame, info

        env.reset = recorded_reset
        return env

    def recording_play_random(*args, **kwds):
        player[0] = "random"
        try:
            return play_random(*args, **kwds)
        finally:
            player[0] = "agent"

    monkeypatch.setattr(controllers, "make_env", recording_make_env)  # the agents' and the baseline's
    monkeypatch.setattr(closed_loop, "play_random", recording_play_random)
    monkeypatch.setattr(closed_loop, "ClosedLoop", FakeLoop)
    plan = atari.Plan({"games": ["pong", "breakout"], "agents": ["dendritic", "random"], "eval_episodes": 2,
                       "eval_max_frames": 40, "device": "runtime"})
    runner = atari.Runner(plan)
    seen = {}
    for block in (-1, 0):
        resets.clear()
        scores = runner.evaluate(block)
        assert {a: s.shape for a, s in scores.items()} == {"dendritic": (2, 2), "random": (2, 2)}
        for game in plan.games:
            agent = [(seed, frame) for who, g, seed, frame in resets if who == "agent" and g == game]
            rand = [(seed, frame) for who, g, seed, frame in resets if who == "random" and g == game]
            # one seeded reset, then the episodes that follow continue the same stream
            assert [s for s, _ in agent] == [s for s, _ in rand] and len(agent) >= 2
            assert agent[0][0] is not None and all(s is None for s, _ in agent[1:])
            np.testing.assert_array_equal(agent[0][1], rand[0][1])
            seen[block, game] = agent[0][0]
    assert len(set(seen.values())) == len(seen)  # a seed per block and game
    runner.close()
