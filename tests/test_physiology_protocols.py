"""The physiology protocols (``protocols/stdp_window.py`` ... ``context_selectivity.py``):
each key number against the model parameter or published value it should reproduce,
each protocol once on cpp, the command line, and every figure from a small result file.

Run with ``-s`` to see the measured numbers.
"""

import json
import subprocess
import sys

import h5py
import matplotlib.image as mpimg
import numpy as np
import pytest

from mtspark_bio import figures
from mtspark_bio.protocols import coincidence, context_selectivity, dendritic_integration, distal_reward, physiology, stdp_window

pytestmark = pytest.mark.filterwarnings("ignore:'parseAll' argument is deprecated")

SMALL = {  # options that keep each protocol to seconds on the numpy runtime
    "stdp-window": {"pairings": 2, "period_s": 0.25, "max_delay_ms": 60.0},
    "dendritic-integration": {"n_max": 14, "ff_rates_hz": (0, 10, 20, 30, 40), "replicates": 1,
                              "io_duration_s": 0.5},
    "coincidence": {"delays_ms": np.arange(-20.0, 81.0, 4.0)},
    "distal-reward": {"preset": "quick", "duration_s": 6.0, "runtime_target": "numpy", "background_hz": 700.0,
                      "sample_s": 1.0},
    "context-selectivity": {"n_hidden": 40, "n_train": 6, "n_test": 3},
}


def show(name, m):
    print(f"\n[{name}] " + ", ".join(f"{k} = {v:.4g}" for k, v in m.numbers.items()))


# ---------------------------------------------------------------- key numbers (runtime)

@pytest.mark.runtime
def test_stdp_window_recovers_the_model_window():
    """The fit recovers the synapse model's parameters: tolerance 2 %, since the
    pairs are exact (scheduled spikes on the dt grid) and only the 0.1 ms step and the
    2-pairing repetition (traces decay 12 time constants between pairings) separate
    the measurement from A exp(-|dt|/tau)."""
    from mtspark_bio.models.plasticity import STDPParams

    params = STDPParams()
    m = stdp_window.measure(**SMALL["stdp-window"])
    show("stdp-window", m)
    n = m.numbers
    assert n["potentiated_fraction"] == 1 and n["depressed_fraction"] == 1
    assert n["A_plus"] == pytest.approx(params.A_plus, rel=0.02)
    assert n["A_minus"] == pytest.approx(params.A_minus, rel=0.02)
    assert n["tau_plus_ms"] == pytest.approx(20.0, rel=0.02)
    assert n["tau_minus_ms"] == pytest.approx(20.0, rel=0.02)
    assert n["balance"] == pytest.approx(params.A_minus / params.A_plus, rel=0.03)


@pytest.mark.runtime
def test_bi_poo_preset_has_the_published_asymmetry():
    """The Bi & Poo preset's measured window is asymmetric as the data are: depression
    lasts about twice as long as potentiation (tau- > tau+; fit 33.7 vs 16.8 ms, within
    2 %), its shape matches the published fit far better than the symmetric default
    does, and its balance is the fit's 0.70 (< 1) while the default's is 1.05."""
    m = stdp_window.measure(preset="bi-poo", **SMALL["stdp-window"])
    n = m.numbers
    assert m.config["preset"] == "bi-poo" and n["tau_minus_ms"] == n["bi_poo_tau_minus_ms"]
    assert n["tau_minus_ms"] > 1.5 * n["tau_plus_ms"]
    assert n["tau_plus_ms"] == pytest.approx(16.8, rel=0.02)
    assert n["tau_minus_ms"] == pytest.approx(33.7, rel=0.02)
    assert n["balance"] == pytest.approx(stdp_window.PUBLISHED["balance"]["value"], rel=0.03)
    assert n["song_tau_minus_ms"] == pytest.approx(n["song_tau_plus_ms"], rel=0.02)
    assert n["bi_poo_shape_error_vs_bi_poo"] < 0.2 * n["song_shape_error_vs_bi_poo"]
    with pytest.raises(ValueError, match="bi-poo"):
        stdp_window.measure(preset="bipoo", **SMALL["stdp-window"])


@pytest.mark.runtime
def test_dendritic_integration_threshold_duration_and_gain():
    """Plateau threshold at 10 synapses of 0.5 nS (the kick-size threshold measured in
    test_models lies between 4.5 and 4.75 nS, so 9 synapses fail and 10 succeed);
    plateau duration within 10 % of the 50 ms parameter (half-amplitude width includes
    the rise and the decay); somatic amplitude within Major et al.'s 3-23 mV range and
    the half-width within Schiller et al.'s 64 +- 20 ms (2 SD); the somatic half-width
    also lies between 1 and 1.25 times the plateau parameter (measured 56 ms for 50 ms;
    33 ms for a 25 ms plateau and 105 ms for a 100 ms one), so a plateau of half or
    twice the configured length fails; a plateau shifts the input-output curve to lower
    input and steepens it."""
    m = dendritic_integration.measure(**SMALL["dendritic-integration"])
    show("dendritic-integration", m)
    n = m.numbers
    plateau_ms = m.config["plateau_duration_param_ms"]  # models.neurons.SegmentParams: 50 ms
    assert n["threshold_synapses"] == 10 and n["all_or_none"] == 1
    assert n["dendritic_jump_mV"] > 10
    assert n["plateau_duration_ms"] == pytest.approx(plateau_ms, rel=0.1)
    assert 3 <= n["soma_plateau_mV"] <= 23
    assert 64.4 - 2 * 19.8 <= n["soma_halfwidth_ms"] <= 64.4 + 2 * 19.8
    assert plateau_ms <= n["soma_halfwidth_ms"] <= 1.25 * plateau_ms
    assert n["amplification_percent"] > 100
    assert n["io_threshold_plateau_hz"] < n["io_threshold_rest_hz"]
    assert n["io_gain_ratio"] > 1


@pytest.mark.runtime
def test_coincidence_window_is_the_plateau():
    """Neither input alone fires the soma; together they do when the feed-forward volley
    falls inside the plateau: the window opens after the context (the soma needs a few
    ms to depolarise) and closes before the plateau's 50 ms end (within 2 steps)."""
    m = coincidence.measure(**SMALL["coincidence"])
    show("coincidence", m)
    n = m.numbers
    assert n["ff_alone_spikes"] == 0 and n["context_alone_spikes"] == 0
    assert n["peak_spikes"] >= 1
    assert 0 <= n["window_start_ms"] <= 12
    assert 40 <= n["window_end_ms"] <= 50
    assert n["ff_epsp_mV"] < 20  # subthreshold on its own (threshold 20 mV above rest)


@pytest.mark.runtime
def test_distal_reward_loop_runs_on_runtime():
    """A short runtime run: the reward loop pairs, schedules and delivers rewards 1-3 s
    later, and no pairing is rewarded while a reward is pending (the long run that lets
    the synapse win is the cpp test below)."""
    m = distal_reward.measure(device="runtime", **SMALL["distal-reward"])
    show("distal-reward (short, runtime)", m)
    n = m.numbers
    assert 0.5 < n["rate_exc_hz"] < 50
    rewards, pairings = m.arrays["reward_times_s"], m.arrays["rewarded_pairing_times_s"]
    assert len(rewards) >= 1 and len(rewards) == n["n_rewards"] == len(pairings)
    delay = rewards - pairings
    dt_s = m.config["dt_ms"] / 1000  # the reward event fires on the first step at or after its time
    assert np.all((delay >= 1.0) & (delay <= 3.0 + dt_s)), delay
    # the next pairing counts only once the last reward was delivered
    assert np.all(pairings[1:] >= rewards[:-1])
    # every rewarded pairing was counted, and at most one more is still waiting for its reward
    assert len(rewards) <= n["n_pairings"] <= len(rewards) + 1


@pytest.mark.runtime
@pytest.mark.slow
def test_context_selectivity_on_runtime():
    """With the classifier's partition gating each of the 3 contexts gates its own third
    of the 40 neurons (13 or 14) and no other's, the gated neuron's winning segment is
    always one wired to that context, and plateauing segments serve one context."""
    m = context_selectivity.measure(**SMALL["context-selectivity"])
    show("context-selectivity", m)
    n = m.numbers
    assert 12 / 40 <= n["gated_fraction"] <= 15 / 40
    assert n["winner_is_task_segment"] == 1
    assert n["segment_selectivity"] >= 0.9
    assert n["gated_overlap"] < 0.05


# ----------------------------------------------------------------- cpp (one build each)

@pytest.mark.standalone
@pytest.mark.slow
def test_fast_protocols_on_cpp_match_runtime(tmp_path):
    """The deterministic protocols give the same key numbers on cpp as on runtime
    (three builds: 1-2 min each on this loaded 2-core machine)."""
    for module in (stdp_window, dendritic_integration, coincidence):
        options = SMALL[module.NAME]
        cpp = module.measure(device="cpp", directory=tmp_path / module.NAME, **options)
        show(f"{module.NAME} (cpp)", cpp)
        if module is dendritic_integration:  # Poisson input: the I-O part differs by noise
            keys = ["threshold_synapses", "dendritic_jump_mV", "soma_plateau_mV", "plateau_duration_ms"]
            assert cpp.numbers["io_gain_ratio"] > 1
        else:
            keys = list(cpp.numbers)
        runtime = module.measure(device="runtime", **options)
        for key in keys:
            assert cpp.numbers[key] == pytest.approx(runtime.numbers[key], rel=1e-3, abs=1e-6), key


@pytest.mark.standalone
@pytest.mark.slow
def test_distal_reward_synapse_wins_on_cpp(tmp_path):
    """Izhikevich 2007: the rewarded synapse grows to the maximum while the others stay
    low. Seed 0 of the quick preset (the compressed 100-neuron, 20 min run; the full
    scale is the documented command in docs/results.md): the synapse ends within 10 % of w_max and
    above 95 % of the other synapses, whose mean stays below the initial 0.25."""
    m = distal_reward.measure(device="cpp", seed=0, preset="quick", directory=tmp_path / "dr")
    show("distal-reward (cpp)", m)
    n = m.numbers
    assert n["chosen_w_final"] >= 0.9
    assert n["chosen_rank"] >= 0.95
    assert n["others_mean_final"] < 0.25
    assert n["n_rewards"] >= 30


@pytest.mark.standalone
@pytest.mark.slow
def test_context_selectivity_on_cpp(tmp_path):
    m = context_selectivity.measure(device="cpp", directory=tmp_path / "ctx", **SMALL["context-selectivity"])
    show("context-selectivity (cpp)", m)
    assert m.numbers["winner_is_task_segment"] == 1
    assert 0.05 <= m.numbers["gated_fraction"] <= 0.35


# ------------------------------------------------------------------ command line, files

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mtspark_bio.front.cli", *args], capture_output=True, text=True)


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "x.h5"
    for args, message in ((["protocol", "no-such", "--out", str(out)], "unknown protocol"),
                          (["protocol", "coincidence", "--out", str(out), "--device", "gpu"], "unknown --device 'gpu'"),
                          (["protocol", "coincidence", "--out", str(tmp_path / "x.txt")], ".h5"),
                          (["protocol", "coincidence", "--out", str(out), "--preset", "quick"], "unknown --preset 'quick'"),
                          (["protocol", "distal-reward", "--out", str(out), "--preset", "huge"], "full, quick")):
        result = run_cli(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error:") and message in result.stderr
        assert list(tmp_path.iterdir()) == []


@pytest.mark.runtime
def test_cli_protocol_writes_result_and_figure(tmp_path):
    from mtspark_bio.figures.style import DPI, SINGLE_COLUMN_MM

    out = tmp_path / "coincidence.h5"
    result = run_cli("protocol", "coincidence", "--out", str(out), "--seed", "3")
    assert result.returncode == 0, result.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["protocol"] == "coincidence"
        assert json.loads(f.attrs["config"])["seed"] == 3
        assert "Schiller" in json.loads(f.attrs["published"])["plateau_halfwidth_ms"]["source"]
        assert f.attrs["ff_alone_spikes"] == 0 and f.attrs["window_ms"] > 0
        assert "python" in json.loads(f.attrs["versions"])
    png = tmp_path / "coincidence.png"
    assert (tmp_path / "coincidence.pdf").is_file() and png.is_file()
    drawn = mpimg.imread(png)
    # the figure again from the file alone: a real image of the protocol figure's size
    png.unlink()
    assert run_cli("figures", str(out)).returncode == 0
    assert png.stat().st_size > 0
    redrawn = mpimg.imread(png)
    assert redrawn.shape == drawn.shape  # same pixel dimensions as the protocol's own figure
    assert abs(redrawn.shape[1] - SINGLE_COLUMN_MM / 25.4 * DPI) <= 1  # one journal column at DPI
    assert redrawn[..., :3].std() > 0.05  # not blank


def test_protocol_names_match_modules():
    assert set(physiology.PROTOCOLS) == {"stdp-window", "dendritic-integration", "coincidence",
                                         "distal-reward", "context-selectivity"}
    for name in physiology.PROTOCOLS:
        module = physiology.protocol_module(name)
        assert module.NAME == name and module.__doc__.startswith(module.__doc__.split("\n")[0])
        assert "Methods" in module.__doc__ and module.PUBLISHED
        assert name in figures.RENDERERS


# ------------------------------------------------------------------------- figures

@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    """One small result file per protocol (runtime); context selectivity from synthetic
    data, since its simulation takes minutes."""
    folder = tmp_path_factory.mktemp("physiology")
    paths = {}
    for module in (stdp_window, dendritic_integration, coincidence, distal_reward):
        m = module.measure(device="runtime", **SMALL[module.NAME])
        paths[module.NAME] = physiology.write_result(folder / f"{module.NAME}.h5", module.NAME, m)
    paths["context-selectivity"] = physiology.write_result(
        folder / "context-selectivity.h5", "context-selectivity", synthetic_selectivity())
    from conftest import reset_brian2

    reset_brian2()
    return paths


def synthetic_selectivity(n_tasks=3, n_hidden=50, seed=0):
    rng = np.random.default_rng(seed)
    task_segment = rng.random((n_hidden, n_tasks, n_tasks)) < 0.07
    arrays, numbers = {"task_segment": task_segment.astype(np.int8)}, {}
    post, seg, task = np.nonzero(task_segment)
    arrays.update(context_w=rng.uniform(0, 1, len(post)), context_segment=seg, context_post=post, context_task=task)
    for label in ("before", "after"):
        fraction = np.zeros((n_tasks, n_hidden, n_tasks))
        fraction[task, post, seg] = rng.uniform(0.1, 0.7, len(post))
        spikes = rng.poisson(3 * fraction.max(axis=2))
        result, gated, active, winner = context_selectivity.selectivity(fraction, spikes, task_segment)
        numbers.update({k + ("" if label == "after" else "_before"): v for k, v in result.items()})
        arrays[label] = {"plateau_fraction": fraction, "spikes_per_presentation": spikes,
                         "gated": gated.astype(np.int8), "active": active.astype(np.int8), "winner": winner}
    return physiology.Measurement(numbers, arrays, {"n_segments": n_tasks}, context_selectivity.PUBLISHED)


@pytest.mark.runtime
@pytest.mark.parametrize("name", list(physiology.PROTOCOLS))
def test_figure_from_result_file_alone(small_results, name, tmp_path):
    from mtspark_bio.figures.style import DPI, DOUBLE_COLUMN_MM, SINGLE_COLUMN_MM

    paths = figures.render(small_results[name], tmp_path / name)
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    pdf = next(p for p in paths if p.suffix == ".pdf")
    assert pdf.read_bytes()[:4] == b"%PDF"
    img = mpimg.imread(next(p for p in paths if p.suffix == ".png"))
    widths = [round(mm / 25.4 * DPI) for mm in (SINGLE_COLUMN_MM, DOUBLE_COLUMN_MM)]
    assert any(abs(img.shape[1] - w) <= 2 for w in widths), img.shape
    assert img[..., :3].std() > 0.05  # not blank


@pytest.mark.runtime
def test_distal_reward_seeds_combine_into_one_figure(small_results, tmp_path):
    """Two seeds' files become one file with each seed's time course as a row and the
    summary over seeds (what the results page's 10-seed table and the Fig. 1 time course are
    drawn from); ``mtspark-bio figures --combine`` draws it, and files that cannot be
    combined are refused with exit 2 before anything is written."""
    second = distal_reward.measure(device="runtime", seed=1, **SMALL["distal-reward"])
    seed1 = physiology.write_result(tmp_path / "seed1.h5", "distal-reward", second)
    first = small_results["distal-reward"]
    out = tmp_path / "seeds.h5"
    result = run_cli("figures", str(seed1), str(first), "--combine", str(out))
    assert result.returncode == 0, result.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["protocol"] == "distal-reward-seeds" and f.attrs["n_seeds"] == 2
        assert list(f["seeds"][()]) == [0, 1]  # sorted by seed
        assert f["chosen_w"].shape == (2, len(f["time_s"]))
        final = f["per_seed/chosen_w_final"][()]
        assert f.attrs["chosen_w_final_mean"] == pytest.approx(final.mean())
        assert f.attrs["chosen_w_final_sd"] == pytest.approx(final.std(ddof=1))
    assert (tmp_path / "seeds.png").stat().st_size > 0 and (tmp_path / "seeds.pdf").is_file()
    for paths, message in (([first, first], "repeated seeds"), ([first], "at least two"),
                           ([first, small_results["coincidence"]], "coincidence")):
        bad = tmp_path / "bad.h5"
        result = run_cli("figures", *map(str, paths), "--combine", str(bad))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert not bad.exists()


@pytest.mark.runtime
def test_figure_rejects_another_protocol(small_results, tmp_path):
    from mtspark_bio.figures import physiology as fig

    with pytest.raises(ValueError, match="coincidence"):
        fig.plot_stdp_window(small_results["coincidence"], tmp_path / "x")
