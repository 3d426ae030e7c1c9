"""Learning curves of one Atari setting over several seeds, drawn from their result files.

One panel per game: the evaluation score after every block against the training frames
played so far (all games together), one thin line per seed and the mean over seeds in
bold, the random agent's mean over seeds dashed, the blocks that trained the game shaded,
and the published human (Mnih et al. 2015) and MTSpark scores as reference lines. At the
right, the final evaluation (mean +/- s.d. of each seed's episode scores, agent and
random). ``mtspark-bio figures SEED0.h5 SEED1.h5 ... --over-seeds OUT`` writes it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from mtspark_bio.readers import load_atari

from . import style
from .atari import ANCHOR_STYLES, RANDOM_COLOR, _anchor_lines, _shade_trained, game_label


def _check_same_setting(results):
    keys = ("games", "frames", "switch_every", "sticky", "agent", "readout")
    first = results[0]
    for r in results[1:]:
        differ = [k for k in keys if r.config.get(k) != first.config.get(k)]
        if differ or list(r.schedule) != list(first.schedule):
            raise ValueError(f"{r.path} and {first.path} are not the same setting (they differ in "
                             f"{', '.join(differ) or 'schedule'}); draw one setting's seeds at a time")


def block_frames(result) -> np.ndarray:
    """Training frames (all games) played after each block: the curves' x."""
    from mtspark_bio.experiments.atari import frames_of_block

    return np.cumsum([frames_of_block(result.config, result.n_games, b) for b in range(result.n_blocks)],
                     dtype=float)


def plot_atari_seeds(paths, out_stem, learner: str = "dendritic") -> list[Path]:
    """Draw the seeds' learning curves of ``learner`` (see the module docstring)."""
    import h5py

    for p in paths:
        if not Path(p).is_file() or not h5py.is_hdf5(p):
            raise ValueError(f"{p} is not an HDF5 file (missing, or another format); give result files of "
                             "mtspark-bio atari")
    results = [load_atari(p) for p in paths]
    if not results:
        raise ValueError("give at least one Atari result file")
    for r in results:
        if r.config.get("protocol", "atari") != "atari" or learner not in r.agents:
            raise ValueError(f"{r.path} has no {learner!r} agent; draw a file of mtspark-bio atari")
    _check_same_setting(results)
    first = results[0]
    x = np.r_[0.0, block_frames(first)] / 1e6
    color = style.OKABE_ITO["blue"]
    fig = style.new_figure(columns=2, aspect=0.34)
    axes = fig.subplots(1, first.n_games, squeeze=False)[0]
    for g, ax in enumerate(axes):
        _shade_trained(ax, first, g, edges=x)
        _anchor_lines(ax, first.games[g])
        curves, randoms = [], []
        for r in results:
            agent, rand = r.agents[learner], r.agents.get("random")
            y = np.r_[agent.baseline[g] if agent.baseline is not None else np.nan, agent.score[:, g]]
            curves.append(y)
            ax.plot(x, y, color=color, linewidth=0.6, alpha=0.45, zorder=3)
            if rand is not None:
                randoms.append(np.r_[rand.baseline[g] if rand.baseline is not None else np.nan, rand.score[:, g]])
        curves = np.array(curves)
        with warnings.catch_warnings():  # blocks no seed has reached yet: NaN, not drawn
            warnings.simplefilter("ignore", RuntimeWarning)
            ax.plot(x, np.nanmean(curves, axis=0), color=color, linewidth=1.6, marker="o", markersize=2.2,
                    zorder=4, label=f"{learner} (mean of {len(results)} seeds)")
            if randoms:
                ax.plot(x, np.nanmean(randoms, axis=0), color=RANDOM_COLOR, linestyle=(0, (3, 1.5)),
                        linewidth=1.0, zorder=2, label="random agent")
        # the final evaluation, one point per seed just right of the last block
        x_final = x[-1] * 1.04 + 0.02
        for r in results:
            for name, c, dx in ((learner, color, 0.0), ("random", RANDOM_COLOR, 0.01 * x[-1] + 0.01)):
                a = r.agents.get(name)
                if a is None or a.final_scores is None or not np.isfinite(a.final_scores[g]).all():
                    continue
                scores = a.final_scores[g]
                ax.errorbar(x_final + dx, scores.mean(), yerr=scores.std(), color=c, marker="s", markersize=2.5,
                            linewidth=0.7, capsize=1.5, zorder=5)
        ax.set_xlim(-0.03 * x[-1], x_final + 0.06 * x[-1])
        ax.set_title(game_label(first.games[g]))
        if g == 0:
            ax.set_ylabel("evaluation score (raw)")
    axes[len(axes) // 2].set_xlabel("training frames so far, all games (millions)")
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.35", linestyle=ANCHOR_STYLES[k][1], linewidth=0.7) for k in ANCHOR_STYLES]
    labels += [ANCHOR_STYLES[k][0] for k in ANCHOR_STYLES]
    handles.append(Line2D([], [], color=color, marker="s", linestyle="none", markersize=3))
    labels.append("final evaluation per seed (mean +/- s.d.)")
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize="x-small")
    sticky = "sticky actions" if first.config.get("sticky", True) else "no sticky actions"
    fig.suptitle(f"{first.config['frames'] / 1e6:g} M training frames per game, switch every "
                 f"{first.config['switch_every'] / 1e3:g} k frames, {sticky}\n"
                 f"seeds {', '.join(str(r.config.get('seed')) for r in results)}; shaded: the game is trained",
                 fontsize="small")
    return style.save_figure(fig, out_stem)
