"""Figure code: publication style helpers and the forgetting and Atari figures on synthetic result files."""

import json
import math

import h5py
import matplotlib
import matplotlib.image as mpimg
import numpy as np
import pytest

from mtspark_bio import figures
from mtspark_bio.figures import atari, forgetting, style

PNG_WIDTH_DOUBLE = round(style.DOUBLE_COLUMN_MM / 25.4 * style.DPI)
PNG_WIDTH_SINGLE = round(style.SINGLE_COLUMN_MM / 25.4 * style.DPI)


def write_result(path, *, schedule=(0, 1, 2), n_tasks=3, variants=("dendritic", "point", "shuffled"),
                 done_blocks=None, spikes=False, weights=False, baseline=True, seed=0,
                 protocol="forgetting", nan_metrics=False, config_extra=None):
    """A small synthetic forgetting result file; blocks from ``done_blocks`` on are NaN rows."""
    rng = np.random.default_rng(seed)
    schedule = np.asarray(schedule, dtype=np.int64)
    n_blocks = len(schedule)
    done = n_blocks if done_blocks is None else done_blocks
    config = {"dataset": "mnist", "tasks": "permuted", "n_tasks": n_tasks,
              "schedule": "sequential" if n_blocks == n_tasks else "cycling",
              "seed": seed, "device": "runtime", **(config_extra or {})}
    with h5py.File(path, "w") as f:
        f.attrs["protocol"] = protocol
        f.attrs["config"] = json.dumps(config)
        f.attrs["versions"] = json.dumps({"python": "3.12", "brian2": "2.10.1"})
        f["schedule"] = schedule
        for k, name in enumerate(variants):
            R = np.full((n_blocks, n_tasks), np.nan)
            acc = 0.1 + 0.1 * rng.random(n_tasks)
            for b in range(done):
                acc = acc * (0.75 - 0.1 * k) + 0.05
                acc[schedule[b]] = 0.9 + 0.08 * rng.random()
                R[b] = acc
            g = f.create_group(f"variants/{name}")
            g["accuracy_matrix"] = R
            for m, v in zip(("acc", "bwt", "fwt", "forgetting"), (0.6, -0.2, 0.01, 0.25)):
                g.attrs[m] = math.nan if nan_metrics else v - 0.05 * k + 0.01 * seed
            if baseline:
                g["baseline_accuracy"] = np.full(n_tasks, 0.1)
            # group names and shapes as protocols/forgetting.py writes them (flat weight vectors)
            if spikes:
                for pop, n in (("hidden", 40), ("readout", 10)):
                    n_spk = 300 if pop == "hidden" else 60
                    g[f"spikes/{pop}/t"] = np.sort(rng.uniform(0, 0.35, n_spk))
                    g[f"spikes/{pop}/i"] = rng.integers(0, n, n_spk)
            if weights:
                g["weights/hidden_to_readout"] = rng.normal(0.5 + 0.1 * k, 0.15, 40 * 10)
                g["weights/context_to_segments"] = rng.normal(0.0, 1.0, 4 * n_tasks * 40)
    return path


def check_outputs(paths, width=PNG_WIDTH_DOUBLE):
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
        leftovers = [q.name for q in p.parent.iterdir() if ".tmp-" in q.name]
        assert not leftovers, leftovers
    pdf = next(p for p in paths if p.suffix == ".pdf")
    assert pdf.read_bytes()[:4] == b"%PDF"
    png = next(p for p in paths if p.suffix == ".png")
    img = mpimg.imread(png)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert abs(img.shape[1] - width) <= 2, img.shape  # exact journal width at 300 dpi
    assert 100 < img.shape[0] < round(style.MAX_HEIGHT_MM / 25.4 * style.DPI)
    assert img[..., :3].std() > 0.05  # not a blank page
    return img


# --- style -------------------------------------------------------------------

def test_figure_size_in_journal_columns():
    assert style.SINGLE_COLUMN_MM == 89 and style.DOUBLE_COLUMN_MM == 183
    w, h = style.figure_size(1, aspect=0.5)
    assert w == pytest.approx(89 / 25.4) and h == pytest.approx(w / 2)
    assert style.figure_size(2)[0] == pytest.approx(183 / 25.4)
    assert 89 / 25.4 < style.figure_size(1.5)[0] < 183 / 25.4
    with pytest.raises(ValueError):
        style.figure_size(3)
    with pytest.raises(ValueError):
        style.figure_size(1, aspect=0)


def test_style_has_no_global_side_effects():
    before = dict(matplotlib.rcParams)
    with style.publication_style():
        assert matplotlib.rcParams["font.size"] == 7
        assert matplotlib.rcParams["axes.spines.top"] is False
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [c.upper() for c in colors] == list(style.PALETTE)
        assert set(style.PALETTE) == set(style.OKABE_ITO.values())
    assert dict(matplotlib.rcParams) == before
    assert style.SEQUENTIAL_CMAP in ("viridis", "cividis")


def test_panel_label_sits_top_left_outside_axes():
    with style.publication_style():
        fig = style.new_figure(1, 0.8)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1])
        ax.set_ylabel("y label")
        lab = style.panel_label(ax, 0)
        assert lab.get_text() == "a" and lab.get_fontweight() == "bold"
        assert style.panel_label(ax, "B").get_text() == "b"
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        box, axbox = lab.get_window_extent(r), ax.get_window_extent(r)
        ylab = ax.yaxis.label.get_window_extent(r)
        assert box.x1 <= ylab.x0 + 0.5  # left of the y label, not on it
        assert box.y1 >= axbox.y1 - 1   # level with the top
        assert box.x0 >= 0  # room made by constrained layout


def test_raster_and_weight_histogram(tmp_path):
    with style.publication_style():
        fig = style.new_figure(1)
        ax1, ax2 = fig.subplots(1, 2)
        line = style.raster(ax1, [0.001, 0.002], [3, 4])
        assert np.allclose(line.get_xdata(), [1.0, 2.0])  # seconds -> ms
        assert ax1.get_xlabel() == "time (ms)"
        style.raster(ax1, [], [], offset=5)  # no spikes: no error
        with pytest.raises(ValueError):
            style.raster(ax1, [0.1], [1, 2])
        counts, edges = style.weight_histogram(ax2, np.array([[0.1, 0.2], [np.nan, 0.3]]), bins=3)
        assert counts.sum() == 3 and len(edges) == 4
        counts, _ = style.weight_histogram(ax2, [])
        assert counts.size == 0
        paths = style.save_figure(fig, tmp_path / "sub" / "helpers.pdf")
    assert [p.name for p in paths] == ["helpers.pdf", "helpers.png"]
    check_outputs(paths, width=PNG_WIDTH_SINGLE)


def test_save_figure_is_atomic(tmp_path, monkeypatch):
    with style.publication_style():
        fig = style.new_figure(1)
        fig.add_subplot().plot([0, 1])
        paths = style.save_figure(fig, tmp_path / "fig")
    old = {p: p.read_bytes() for p in paths}

    def broken(fname, **kw):
        with open(fname, "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError):
        style.save_figure(fig, tmp_path / "fig")
    assert {p: p.read_bytes() for p in paths} == old
    assert sorted(q.name for q in tmp_path.iterdir()) == ["fig.pdf", "fig.png"]


# --- forgetting figure -------------------------------------------------------

def test_sequential_with_spikes_and_weights(tmp_path):
    h5 = write_result(tmp_path / "seq.h5", spikes=True, weights=True)
    variant = forgetting.load_forgetting(h5).variants["dendritic"]
    assert list(variant.spikes) == ["hidden", "readout"]
    # the histogram shows the readout weights, not the context weights (first by name)
    assert forgetting._readout(variant.weights)[0] == "hidden_to_readout"
    paths = forgetting.plot_forgetting(h5, tmp_path / "out" / "seq_fig")
    assert {p.name for p in paths} == {"seq_fig.pdf", "seq_fig.png"}
    img_rows3 = check_outputs(paths)
    # the same file without spikes/weights draws two rows: a shorter figure
    h5b = write_result(tmp_path / "seq_plain.h5")
    img_rows2 = check_outputs(forgetting.plot_forgetting(h5b))
    assert img_rows3.shape[0] > img_rows2.shape[0]


def test_cycling_with_unfinished_blocks_default_stem(tmp_path):
    h5 = write_result(tmp_path / "cyc.h5", schedule=[0, 1, 2, 0, 1, 2, 0, 1, 2], done_blocks=5,
                      variants=("dendritic", "point"), baseline=False, nan_metrics=True)
    R = forgetting.load_forgetting(h5).variants["point"].accuracy
    assert np.isnan(R[5:]).all() and np.isfinite(R[:5]).all()
    paths = figures.render(h5)
    assert sorted(paths) == [tmp_path / "cyc.pdf", tmp_path / "cyc.png"]
    check_outputs(paths)


def test_weights_only_single_variant(tmp_path):
    h5 = write_result(tmp_path / "one.h5", variants=("dendritic",), weights=True)
    check_outputs(forgetting.plot_forgetting(h5))


def test_malformed_files_raise(tmp_path):
    h5 = write_result(tmp_path / "other.h5", protocol="xor")
    with pytest.raises(ValueError, match="xor"):
        forgetting.plot_forgetting(h5)
    h5 = write_result(tmp_path / "bad.h5")
    with h5py.File(h5, "a") as f:
        del f["schedule"]
        f["schedule"] = np.array([0, 1], dtype=np.int64)
    with pytest.raises(ValueError, match="accuracy_matrix"):
        forgetting.plot_forgetting(h5)


def test_metrics_over_seeds(tmp_path):
    files = [write_result(tmp_path / f"seed{s}.h5", seed=s) for s in range(3)]
    paths = forgetting.plot_metrics_over_seeds(files, tmp_path / "seeds")
    assert {p.name for p in paths} == {"seeds.pdf", "seeds.png"}
    check_outputs(paths, width=PNG_WIDTH_SINGLE)
    # one seed: no error bars, still a figure
    check_outputs(forgetting.plot_metrics_over_seeds(files[:1], tmp_path / "one_seed"),
                  width=PNG_WIDTH_SINGLE)
    other = write_result(tmp_path / "split.h5", seed=9, config_extra={"tasks": "split"})
    with pytest.raises(ValueError, match="tasks"):
        forgetting.plot_metrics_over_seeds(files + [other], tmp_path / "mixed")


# --- dispatch ----------------------------------------------------------------

def test_render_dispatch_and_registry(tmp_path, monkeypatch):
    assert figures.RENDERERS["forgetting"] is forgetting.plot_forgetting
    h5 = write_result(tmp_path / "x.h5", protocol="xor")
    with pytest.raises(ValueError) as e:
        figures.render(h5)
    assert "xor" in str(e.value) and "forgetting" in str(e.value)

    monkeypatch.setitem(figures.RENDERERS, "forgetting", forgetting.plot_forgetting)  # restore after
    calls = []
    monkeypatch.delitem(figures.RENDERERS, "xor", raising=False)
    figures.register("xor", lambda path, out_stem=None: calls.append((path, out_stem)) or [])
    try:
        assert figures.render(h5, tmp_path / "y") == []
        assert calls == [(h5, tmp_path / "y")]
    finally:
        figures.RENDERERS.pop("xor", None)


def test_many_tasks_long_cycling_schedule(tmp_path):
    # 10 tasks (more than the 8 palette colours) and 25 blocks (thinned tick labels)
    check_outputs(figures.render(write_result(tmp_path / "ten.h5", schedule=list(range(10)), n_tasks=10)))
    check_outputs(figures.render(write_result(tmp_path / "long.h5", schedule=list(range(5)) * 5, n_tasks=5,
                                              variants=("dendritic", "point"), spikes=True)))
    assert forgetting._short_fmt(0.934) == ".93" and forgetting._short_fmt(1.0) == "1.00"


# --- Atari figure ------------------------------------------------------------

def write_atari_result(path, *, games=("pong", "breakout"), schedule=(0, 1, 0, 1),
                       agents=("dendritic", "random"), done_blocks=None, training=True, seed=0,
                       final_episodes=0):
    """A small synthetic Atari result file (layout of protocols/atari.py); blocks from
    ``done_blocks`` on are NaN rows and the file is marked incomplete."""
    rng = np.random.default_rng(seed)
    schedule = np.asarray(schedule, dtype=np.int64)
    n_blocks, n_games = len(schedule), len(games)
    done = n_blocks if done_blocks is None else done_blocks
    floor = {"pong": -21.0, "breakout": 0.0, "enduro": 0.0}
    config = {"games": list(games), "sticky": True, "frames": 10_000 * n_blocks, "switch_every": 10_000,
              "eval_episodes": 3, "seed": seed}
    with h5py.File(path, "w") as f:
        f.attrs["protocol"] = "atari"
        f.attrs["config"] = json.dumps(config)
        f.attrs["versions"] = json.dumps({"python": "3.12", "brian2": "2.10.1"})
        f.attrs["blocks_done"] = done
        f.attrs["complete"] = done == n_blocks
        f["schedule"] = schedule
        for k, name in enumerate(agents):
            learns = name != "random"
            base = np.array([floor.get(g, 0.0) + rng.random() for g in games])
            S, SD = np.full((n_blocks, n_games), np.nan), np.full((n_blocks, n_games), np.nan)
            current, scores, blocks = base.copy(), [], []
            for b in range(done):
                if learns:
                    current[schedule[b]] += 5.0 / (k + 1)
                    n_ep = 3 + b
                    scores += list(current[schedule[b]] + rng.normal(0, 1, n_ep))
                    blocks += [b] * n_ep
                S[b] = current + rng.normal(0, 0.3, n_games)
                SD[b] = 1.0 + rng.random(n_games)
            g = f.create_group(f"agents/{name}")
            g["score_matrix"], g["score_std"], g["baseline_score"] = S, SD, base
            g["training_scores"] = np.asarray(scores if training else [], dtype=float)
            g["training_block"] = np.asarray(blocks if training else [], dtype=np.int64)
            for m, v in zip(("acc", "bwt", "fwt", "forgetting"), (0.4, -0.1, 0.02, 0.2)):
                g.attrs[m] = v if done == n_blocks else math.nan
            if final_episodes:
                g["final_episode_scores"] = current[:, None] + rng.normal(0, 1, (n_games, final_episodes))
    return path


def test_atari_learning_curves_over_seeds(tmp_path, capsys):
    """figures.atari_seeds: one setting's seeds as learning curves against the frames
    played so far (hand-computed x), from the files alone; files of another setting, or
    a path that is no result file, are refused with the reason (exit status 2)."""
    from mtspark_bio.front import cli
    from mtspark_bio.figures import atari_seeds

    paths = [write_atari_result(tmp_path / f"seed{s}.h5", seed=s, final_episodes=5) for s in range(3)]
    result = atari.load_atari(paths[0])
    assert result.agents["dendritic"].final_scores.shape == (2, 5)
    np.testing.assert_array_equal(atari_seeds.block_frames(result), [10_000, 20_000, 30_000, 40_000])
    check_outputs(atari_seeds.plot_atari_seeds(paths, tmp_path / "seeds"))
    other = write_atari_result(tmp_path / "other.h5", schedule=(0, 1), seed=3)
    with pytest.raises(ValueError, match="not the same setting"):
        atari_seeds.plot_atari_seeds([paths[0], other], tmp_path / "mixed")
    assert cli.main(["figures", str(paths[0]), str(tmp_path / "missing.h5"), "--over-seeds",
                     str(tmp_path / "x")]) == 2
    assert "missing.h5 is not an HDF5 file" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "mixed.png").exists()


def test_atari_complete_default_stem(tmp_path):
    assert figures.RENDERERS["atari"] is atari.plot_atari
    h5 = write_atari_result(tmp_path / "atari.h5")
    result = atari.load_atari(h5)
    assert list(result.agents) == ["dendritic", "random"] and result.games == ["pong", "breakout"]
    assert result.complete and result.blocks_done == 4
    paths = figures.render(h5)
    assert sorted(paths) == [tmp_path / "atari.pdf", tmp_path / "atari.png"]
    with_training = check_outputs(paths)
    # without training episodes there is no panel c: a shorter figure
    h5b = write_atari_result(tmp_path / "no_training.h5", training=False)
    without = check_outputs(figures.render(h5b, tmp_path / "out" / "no_training"))
    assert with_training.shape[0] > without.shape[0]


def test_atari_incomplete_nan_rows(tmp_path):
    h5 = write_atari_result(tmp_path / "partial.h5", done_blocks=2)
    result = atari.load_atari(h5)
    S = result.agents["dendritic"].score
    assert np.isnan(S[2:]).all() and np.isfinite(S[:2]).all()
    assert not result.complete and result.blocks_done == 2
    assert "incomplete: 2 of 4" in atari._title(result)
    check_outputs(figures.render(h5))
    # nothing run yet at all: still a figure
    check_outputs(figures.render(write_atari_result(tmp_path / "empty.h5", done_blocks=0)))


def test_atari_single_game_and_agent_order(tmp_path):
    h5 = write_atari_result(tmp_path / "one.h5", games=("pong",), schedule=(0, 0, 0),
                            agents=("random", "point", "dendritic", "other"))
    assert list(atari.load_atari(h5).agents) == ["dendritic", "point", "random", "other"]
    check_outputs(figures.render(h5))
    assert atari.score_fmt(345.2) == "345" and atari.score_fmt(-20.34) == "\N{MINUS SIGN}20.3"
    assert atari.score_fmt(1.234) == "1.23" and atari.score_fmt(math.nan) == ""


def test_atari_colour_scale_is_the_human_normalised_score(tmp_path):
    from mtspark_bio.atari import human_normalised

    result = atari.load_atari(write_atari_result(tmp_path / "h.h5"))
    scaled = atari._human_scale(result)
    np.testing.assert_allclose(scaled["dendritic"] * 100,
                               human_normalised(result.agents["dendritic"].score, ["pong", "breakout"]))
    # a game without published random and human scores: the per-game scale instead
    other = atari.load_atari(write_atari_result(tmp_path / "other.h5", games=("pong", "tetris")))
    assert atari._human_scale(other) is None
    check_outputs(figures.render(tmp_path / "other.h5"))


def test_atari_colour_scale_zero_is_random_one_is_best(tmp_path):
    result = atari.load_atari(write_atari_result(tmp_path / "n.h5", done_blocks=3))
    normed, zero, one = atari._normalised(result)
    rnd, den = result.agents["random"], result.agents["dendritic"]
    for j in range(result.n_games):
        ref = np.r_[rnd.baseline[j], rnd.score[:3, j]]
        assert zero[j] == pytest.approx(ref.mean())
        assert one[j] == pytest.approx(np.nanmax(den.score[:, j]))
    z = normed["dendritic"]
    assert np.isnan(z[3]).all() and np.nanmax(z, axis=0) == pytest.approx([1.0, 1.0])


def test_atari_malformed_files_raise(tmp_path):
    h5 = write_atari_result(tmp_path / "bad.h5")
    with h5py.File(h5, "a") as f:
        f.attrs["protocol"] = "forgetting"
    with pytest.raises(ValueError, match="forgetting"):
        atari.plot_atari(h5)
    h5 = write_atari_result(tmp_path / "short.h5")
    with h5py.File(h5, "a") as f:
        del f["schedule"]
        f["schedule"] = np.array([0, 1], dtype=np.int64)
    with pytest.raises(ValueError, match="score_matrix"):
        atari.plot_atari(h5)
    h5 = write_atari_result(tmp_path / "games.h5")
    with h5py.File(h5, "a") as f:
        f.attrs["config"] = json.dumps({"games": ["pong", "breakout", "enduro"]})
    with pytest.raises(ValueError, match="3 games"):
        atari.plot_atari(h5)
