"""Figure of the capacity protocol: final average accuracy (ACC) and forgetting against
the number of tasks, per network variant, with the published active-dendrites curve
(Iyer et al. 2022) as a reference. Layout read here::

    /                     attrs: protocol="capacity", config (JSON)
    /task_counts          int (n,)
    /variants/<name>/acc, forgetting, n_hidden     float (n,)
    /published/active_dendrites_iyer2022/task_counts, acc
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from . import style
from .forgetting import VARIANT_COLORS, _order_variants, _text_attr

PROTOCOL = "capacity"


def load_capacity(h5_path) -> dict:
    """Read a capacity result file (ValueError on a malformed one)."""
    path = Path(h5_path)
    with h5py.File(path, "r") as f:
        if _text_attr(f, "protocol") != PROTOCOL:
            raise ValueError(f"{path} holds protocol {_text_attr(f, 'protocol')!r}, not {PROTOCOL!r}")
        if "task_counts" not in f or "variants" not in f:
            raise ValueError(f"{path} lacks /task_counts or /variants")
        counts = np.asarray(f["task_counts"][()])
        variants = {name: {key: np.asarray(f["variants"][name][key][()], dtype=float)
                           for key in ("acc", "forgetting")} for name in _order_variants(list(f["variants"]))}
        for name, values in variants.items():
            if any(len(v) != len(counts) for v in values.values()):
                raise ValueError(f"{path}: variant {name!r} does not have one value per task count")
        ref = f.get("published/active_dendrites_iyer2022")
        published = (np.asarray(ref["task_counts"][()]), np.asarray(ref["acc"][()])) if ref is not None else None
    return {"task_counts": counts, "variants": variants, "published": published}


def plot_capacity(h5_path, out_stem=None) -> list[Path]:
    """ACC and forgetting against the number of tasks; writes ``<stem>.pdf/.png``."""
    result = load_capacity(h5_path)
    stem = Path(out_stem) if out_stem is not None else Path(h5_path).with_suffix("")
    with style.publication_style():
        fig = style.new_figure(columns=1, aspect=0.45)
        ax_acc, ax_f = fig.subplots(1, 2)
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
        return style.save_figure(fig, stem)
