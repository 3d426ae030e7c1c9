"""Figure of the capacity protocol: final average accuracy (ACC) and forgetting against
the number of tasks, per network variant, with the published active-dendrites curve
(Iyer et al. 2022) as a reference, and the wall time of each point. Layout read here::

    /                     attrs: protocol="capacity", config (JSON)
    /task_counts          int (n,)
    /variants/<name>/acc, forgetting, n_hidden, wall_s     float (n,) (wall_s: not in older files)
    /published/active_dendrites_iyer2022/task_counts, acc
"""

from __future__ import annotations

from pathlib import Path

from mtspark_bio.readers import load_capacity

from . import style
from .forgetting import VARIANT_COLORS

PROTOCOL = "capacity"


def plot_capacity(h5_path, out_stem=None) -> list[Path]:
    """ACC, forgetting and (where stored) each point's wall time against the number of
    tasks; writes ``<stem>.pdf/.png``."""
    result = load_capacity(h5_path)
    stem = Path(out_stem) if out_stem is not None else Path(h5_path).with_suffix("")
    wall = next(iter(result["variants"].values())).get("wall_s")
    with style.publication_style():
        fig = style.new_figure(columns=2 if wall is not None else 1, aspect=0.3 if wall is not None else 0.45)
        ax_acc, ax_f, *ax_wall = fig.subplots(1, 3 if wall is not None else 2)
        counts = result["task_counts"]
        for color, (name, values) in zip(VARIANT_COLORS, result["variants"].items()):
            ax_acc.plot(counts, values["acc"], "o-", color=color, label=name)
            ax_f.plot(counts, values["forgetting"], "o-", color=color, label=name)
        if result["published"] is not None:
            x, y = result["published"]
            keep = x <= counts.max()
            ax_acc.plot(x[keep], y[keep], "--", color="0.5", label="Iyer et al. 2022 (backprop)")
        for ax, label in ((ax_acc, "ACC"), (ax_f, "forgetting")):
            ax.set_xscale("log")
            ax.set_xticks(counts, [str(c) for c in counts])
            ax.minorticks_off()
            ax.set_xlabel("number of tasks")
            ax.set_ylabel(label)
            ax.set_ylim(0, 1)
        ax_acc.axhline(0.1, color="0.7", lw=0.6, ls=":")
        ax_acc.legend(frameon=False, fontsize="small", loc="lower left")
        style.panel_label(ax_acc, "a")
        style.panel_label(ax_f, "b")
        if ax_wall:  # one binary runs every variant, so one time per task count
            ax_wall[0].plot(counts, wall / 60, "o-", color="0.3")
            ax_wall[0].set_xscale("log")
            ax_wall[0].set_yscale("log")
            ax_wall[0].set_xticks(counts, [str(c) for c in counts])
            ax_wall[0].minorticks_off()
            ax_wall[0].set_xlabel("number of tasks")
            ax_wall[0].set_ylabel("wall time (min)")
            style.panel_label(ax_wall[0], "c")
        return style.save_figure(fig, stem)
