"""Figures of the distal-reward protocol (``protocols/distal_reward.py``): one seed's run,
and the chosen synapse's time course over seeds (Izhikevich 2007, Fig. 1).

Both read a result file alone (``distal-reward`` for one seed, ``distal-reward-seeds``
for the file ``mtspark-bio figures --combine`` writes from several seeds) and write
``<stem>.pdf`` and ``<stem>.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtspark_bio.readers import PhysiologyResult

from . import style
from .physiology import _save

C = style.OKABE_ITO


def plot_distal_reward(h5_path, out_stem=None) -> list[Path]:
    """a: the rewarded synapse's weight over time against percentiles of all others,
    rewards as ticks; b: final weight distribution; c: raster of the last seconds."""
    r = PhysiologyResult(h5_path, "distal-reward")
    config, a = r.config, r.data
    t_min = a["time_s"] / 60
    chosen, others_final = a["chosen_w"], a["others_final_w"]
    levels = [float(level) for level in a["others_percentile_levels"]]
    percentile = dict(zip(levels, a["others_percentiles"]))
    with style.publication_style():
        fig = style.new_figure(2, aspect=0.62)
        grid = fig.add_gridspec(2, 2, width_ratios=[2, 1])
        ax_w = fig.add_subplot(grid[0, :])
        ax_h = fig.add_subplot(grid[1, 0])
        ax_r = fig.add_subplot(grid[1, 1])
        ax_w.fill_between(t_min, percentile[5.0], percentile[95.0], color="0.8", lw=0, label="others, 5-95 %")
        ax_w.plot(t_min, percentile[50.0], color="0.4", lw=0.8, label="others, median")
        ax_w.plot(t_min, percentile[99.0], color="0.4", lw=0.6, ls=":", label="others, 99th percentile")
        ax_w.plot(t_min, chosen, color=C["vermillion"], lw=1.2, label="rewarded synapse")
        rewards = a["reward_times_s"] / 60
        ax_w.plot(rewards, np.full(len(rewards), 1.06), "|", color=C["blue"], ms=3, label="dopamine pulses")
        ax_w.set_ylim(-0.02, 1.12)
        ax_w.set_xlabel("time (min)")
        ax_w.set_ylabel(r"weight ($w_{max}$)")
        ax_w.legend(loc="center right", ncol=1, fontsize=6)
        style.weight_histogram(ax_h, others_final, bins=np.linspace(0, 1, 41), color="0.3", histtype="stepfilled",
                               xlabel=r"final weight ($w_{max}$)")
        ax_h.axvline(chosen[-1], color=C["vermillion"], lw=1.2)
        ax_h.set_yscale("log")
        ax_h.set_ylabel("synapses")
        ax_h.text(chosen[-1], ax_h.get_ylim()[1], " rewarded", color=C["vermillion"], ha="right", va="top")
        last = config.get("raster_last_s", 10)
        t0 = float(config.get("duration_s", a["time_s"][-1])) - last
        style.raster(ax_r, a["raster"]["exc"]["t"] - t0, a["raster"]["exc"]["i"], color=C["black"], marker_size=1.0)
        style.raster(ax_r, a["raster"]["inh"]["t"] - t0, a["raster"]["inh"]["i"], offset=int(config.get("n_exc", 0)),
                     color=C["blue"], marker_size=1.0)
        ax_r.set_xlabel(f"time in the last {last:.0f} s (ms)")
        ax_r.set_ylabel("neuron (exc, then inh)")
        return _save(fig, (ax_w, ax_h, ax_r), h5_path, out_stem)


def plot_distal_reward_seeds(h5_path, out_stem=None) -> list[Path]:
    """a: the rewarded synapse's weight over time, mean and s.d. over seeds (each seed
    thin), beside the others' mean and 99th percentile (mean over seeds), as Izhikevich
    2007 Fig. 1 shows for one run; b: each seed's final weight of the rewarded synapse
    against the others' 99th percentile."""
    r = PhysiologyResult(h5_path, "distal-reward-seeds")
    numbers, a = r.numbers, r.data
    t_min = a["time_s"] / 60
    chosen = a["chosen_w"]  # (seeds, samples)
    mean, sd = chosen.mean(axis=0), chosen.std(axis=0, ddof=1)
    with style.publication_style():
        fig = style.new_figure(2, aspect=0.4)
        ax_t, ax_f = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
        for row in chosen:
            ax_t.plot(t_min, row, color=C["vermillion"], lw=0.4, alpha=0.35)
        ax_t.fill_between(t_min, np.clip(mean - sd, 0, 1), np.clip(mean + sd, 0, 1), color=C["vermillion"],
                          alpha=0.25, lw=0)
        ax_t.plot(t_min, mean, color=C["vermillion"], lw=1.4,
                  label=f"rewarded synapse (mean $\\pm$ s.d., {len(chosen)} seeds)")
        ax_t.plot(t_min, a["others_p99"].mean(axis=0), color="0.3", ls=":", lw=0.9, label="others, 99th percentile")
        ax_t.plot(t_min, a["others_mean"].mean(axis=0), color="0.3", lw=0.9, label="others, mean")
        ax_t.axhline(0.9, color="0.6", lw=0.5, ls="--")
        ax_t.set_ylim(-0.02, 1.05)
        ax_t.set_xlabel("time (min)")
        ax_t.set_ylabel(r"weight ($w_{max}$)")
        ax_t.legend(loc="lower right", bbox_to_anchor=(1.0, 0.22), fontsize=6)
        per_seed = a["per_seed"]
        x = np.arange(len(a["seeds"]))
        ax_f.bar(x, per_seed["chosen_w_final"], 0.6, color=C["vermillion"], label="rewarded")
        ax_f.plot(x, per_seed["others_p99_final"], "_", ms=9, mew=1.4, color=C["black"], label="others, 99th pct.")
        ax_f.axhline(0.9, color="0.6", lw=0.5, ls="--")
        ax_f.set_xticks(x, [str(int(s)) for s in a["seeds"]])
        ax_f.set_xlabel("seed")
        ax_f.set_ylabel(r"final weight ($w_{max}$)")
        ax_f.set_ylim(0, 1.4)
        ax_f.set_title(f"{numbers.get('n_wins', 0):.0f} of {len(chosen)} seeds win", fontsize=7)
        ax_f.legend(loc="upper center", ncol=2, fontsize=6)
        return _save(fig, (ax_t, ax_f), h5_path, out_stem)


RENDERERS = {"distal-reward": plot_distal_reward, "distal-reward-seeds": plot_distal_reward_seeds}
