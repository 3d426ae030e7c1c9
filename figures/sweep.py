"""Figure of a sweep folder (``mtspark-bio sweep``): each metric against the grid values,
one colour per variant/agent, every seed as a point and the mean with its 95 %
bootstrap confidence interval as an error bar. Read from the folder alone::

    DIR/sweep.json     {"protocol", "seeds", "grid": {KEY: [values]}, "fixed", "runs"}
    DIR/runs.csv       one row per run and variant (seed, grid keys, variant, status, metrics)
    DIR/summary.csv    one row per setting and variant (n, <metric>_mean/_sd/_ci_low/_ci_high)

The x axis is the grid value when one key is swept, the combination of values when
several are, and a single position when only seeds are. Written to ``DIR/sweep.pdf``
and ``DIR/sweep.png``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import style
from mtspark_bio.readers import load_sweep, order_variants as _order_variants

from .forgetting import VARIANT_COLORS


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan




def plot_sweep(directory, out_stem=None) -> list[Path]:
    """Draw every metric of the sweep in ``directory``; returns the written paths."""
    sweep = load_sweep(directory)
    keys, runs, summary, metrics = sweep["keys"], sweep["runs"], sweep["summary"], sweep["metrics"]

    def setting(row) -> str:
        return ", ".join(f"{row[k]}" for k in keys) if keys else "all seeds"

    settings = list(dict.fromkeys(setting(r) for r in summary))
    numeric = len(keys) == 1 and all(np.isfinite(_float(s)) for s in settings)
    x_of = {s: (_float(s) if numeric else k) for k, s in enumerate(settings)}
    variants = _order_variants(list(dict.fromkeys(r["variant"] for r in summary)))
    colors = {v: VARIANT_COLORS[k % len(VARIANT_COLORS)] for k, v in enumerate(variants)}
    spread = (min(np.diff(sorted(x_of.values()))) if numeric and len(settings) > 1 else 1.0) * 0.25
    offset = {v: (k - (len(variants) - 1) / 2) * spread / max(len(variants), 1) for k, v in enumerate(variants)}
    n_cols = min(3, len(metrics))
    n_rows = math.ceil(len(metrics) / n_cols)
    with style.publication_style():
        fig = style.new_figure(2, height_mm=min(style.MAX_HEIGHT_MM, 45.0 * n_rows + 10))
        for m, metric in enumerate(metrics):
            ax = fig.add_subplot(n_rows, n_cols, m + 1)
            for v in variants:
                points = [(x_of[setting(r)] + offset[v], _float(r.get(metric))) for r in runs
                          if r["variant"] == v and r["status"] != "failed" and setting(r) in x_of]
                if points:
                    xs, ys = np.array(points).T
                    ax.plot(xs, ys, "o", ms=2.5, alpha=0.45, color=colors[v], mec="none")
                rows = [r for r in summary if r["variant"] == v]
                xs = np.array([x_of[setting(r)] + offset[v] for r in rows])
                mean = np.array([_float(r[f"{metric}_mean"]) for r in rows])
                low = np.array([_float(r[f"{metric}_ci_low"]) for r in rows])
                high = np.array([_float(r[f"{metric}_ci_high"]) for r in rows])
                ax.errorbar(xs, mean, yerr=[np.maximum(mean - low, 0), np.maximum(high - mean, 0)], fmt="s",
                            ms=3, capsize=1.5, color=colors[v], label=v or sweep["protocol"],
                            linestyle="-" if numeric else "none")
            ax.set_ylabel(metric.replace("_", " "))
            if numeric:
                ax.set_xlabel(keys[0])
            else:
                ax.set_xticks(range(len(settings)), settings, rotation=30 if len(settings) > 3 else 0)
                ax.set_xlim(-0.5, len(settings) - 0.5)  # one setting would otherwise span the axis
                if keys:
                    ax.set_xlabel(", ".join(keys))
            if m == 0 and any(variants):
                ax.legend(frameon=False)
            style.panel_label(ax, chr(ord("a") + m) if m < 26 else str(m))
        fig.suptitle(f"{sweep['protocol']}: mean and 95 % bootstrap CI, points = seeds")
        stem = out_stem if out_stem is not None else Path(directory) / "sweep"
        return style.save_figure(fig, stem)
