"""Figures of the forgetting (continual-learning) protocol.

One result file holds, for each network variant, the accuracy matrix ``R``
(``R[b, j]`` = test accuracy on task ``j`` after training block ``b``; rows of
blocks not yet run are NaN), the continual-learning metrics and optionally
sample spike trains and synaptic weights. Layout read here::

    /                 attrs: protocol="forgetting", config (JSON), versions (JSON)
    /schedule         int (n_blocks,): task trained in each block
    /variants/<name>  attrs: acc, bwt, fwt, forgetting
        accuracy_matrix     float (n_blocks, n_tasks)
        baseline_accuracy   float (n_tasks,)               optional
        spikes/<pop>/t, i   spike times (s), neuron indices  optional
        weights/<name>      synaptic weights                optional
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from mtspark_bio.readers import METRICS, ForgettingResult, Variant, blocks_done, load_forgetting, order_variants

from . import style
from .style import metrics_text, thin_ticks

PROTOCOL = "forgetting"
METRIC_LABELS = {"acc": "ACC", "bwt": "BWT", "fwt": "FWT", "forgetting": "F"}
#: Variant colours, distinct from the task colours of the default cycle.
VARIANT_COLORS = tuple(style.OKABE_ITO[k] for k in (
    "black", "orange", "sky_blue", "reddish_purple", "bluish_green", "yellow"))
POPULATION_COLORS = tuple(style.OKABE_ITO[k] for k in ("black", "vermillion", "blue", "bluish_green"))


# --- formatting helpers ------------------------------------------------------

def task_names(n_tasks: int) -> list[str]:
    """A, B, C, ... (numbers 1..n beyond 26 tasks)."""
    if n_tasks <= 26:
        return [chr(ord("A") + j) for j in range(n_tasks)]
    return [str(j + 1) for j in range(n_tasks)]


def _short_fmt(value: float) -> str:
    """Two decimals without the leading zero: 0.93 -> ".93", 1.0 -> "1.00"."""
    text = f"{value:.2f}"
    return text[1:] if text.startswith("0.") else text


def _title(result: ForgettingResult) -> str:
    c = result.config
    parts = []
    if c.get("dataset") or c.get("tasks"):
        parts.append(" ".join(str(c[k]) for k in ("tasks", "dataset") if c.get(k)))
    parts.append(f"{result.n_tasks} tasks")
    if c.get("schedule"):
        parts.append(f"{c['schedule']} schedule ({result.n_blocks} blocks)")
    if "seed" in c:
        parts.append(f"seed {c['seed']}")
    done = max(blocks_done(v.accuracy) for v in result.variants.values())
    if done < result.n_blocks:
        parts.append(f"incomplete: {done} of {result.n_blocks} blocks run")
    return "Forgetting: " + ", ".join(parts)


def _readout(weights: dict[str, np.ndarray]):
    """The readout weight matrix: named *readout*, else *..output*, else the only/first one."""
    if not weights:
        return None
    names = sorted(weights)
    for test in (lambda n: "readout" in n.lower(), lambda n: n.lower().endswith("output"),
                 lambda n: "output" in n.lower()):
        hits = [n for n in names if test(n)]
        if hits:
            return hits[0], weights[hits[0]]
    return names[0], weights[names[0]]


# --- panels ------------------------------------------------------------------

TASK_MARKERS = ("o", "s", "^", "D", "v")


def _task_style(j: int) -> tuple[str, str]:
    """Colour and marker of task ``j``: the palette, then again with another marker shape."""
    n = len(style.PALETTE)
    return style.PALETTE[j % n], TASK_MARKERS[(j // n) % len(TASK_MARKERS)]


def _accuracy_heatmap(ax, result: ForgettingResult, variant: Variant, tasks, block_labels,
                      annot_size, annot_fmt, first: bool):
    R = variant.accuracy
    trained = np.zeros_like(R, dtype=bool)
    trained[np.arange(result.n_blocks), result.schedule] = True
    im = style.heatmap(ax, R, vmin=0.0, vmax=1.0, fontsize=annot_size, fmt=annot_fmt, bold=trained)
    ax.set_xticks(range(result.n_tasks), tasks)
    step = thin_ticks(result.n_blocks, 14)
    rows = range(0, result.n_blocks, step)
    ax.set_yticks(list(rows), [block_labels[b] for b in rows])
    ax.set_xlabel("test task")
    if first:
        ax.set_ylabel("training block (task trained)")
    done = blocks_done(R)
    if done < result.n_blocks:
        ax.text((result.n_tasks - 1) / 2, (done + result.n_blocks - 1) / 2, "not run yet",
                ha="center", va="center", color="0.4", fontstyle="italic")
    ax.set_title(variant.name, fontweight="bold")
    return im


def _accuracy_lines(ax, result: ForgettingResult, variant: Variant, tasks, first: bool, has_init: bool):
    R = variant.accuracy
    n_blocks = result.n_blocks
    x = np.arange(1, n_blocks + 1, dtype=float)
    # task switches: dotted line between blocks that train different tasks
    for b in range(1, n_blocks):
        if result.schedule[b] != result.schedule[b - 1]:
            ax.axvline(b + 0.5, color="0.6", linestyle=":", linewidth=0.7, zorder=0)
    for j in range(result.n_tasks):
        c, marker = _task_style(j)
        xs, ys = x, R[:, j]
        if variant.baseline is not None:
            xs, ys = np.r_[0.0, x], np.r_[variant.baseline[j], ys]
        ax.plot(xs, ys, color=c, marker=marker, markerfacecolor="white", markeredgewidth=0.8,
                markersize=3, linewidth=1.0, zorder=2)
        on = result.schedule == j
        ax.plot(x[on], R[on, j], linestyle="none", marker=marker, color=c, markersize=3.2, zorder=3)
    ax.set_ylim(0, 1.03)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "", "0.5", "", "1"])
    lo = 0 if has_init else 1
    ax.set_xlim(lo - 0.5, n_blocks + 0.5)
    step = thin_ticks(n_blocks + has_init, 12)
    # thinned: multiples of step, so no label crowds "init" at 0
    ticks = list(range(1, n_blocks + 1)) if step == 1 else list(range(step, n_blocks + 1, step))
    labels = [f"{b}\n{tasks[result.schedule[b - 1]]}" for b in ticks]
    if has_init:
        ticks, labels = [0] + ticks, ["init\n"] + labels
    ax.set_xticks(ticks, labels)
    ax.set_xlabel("training block (task trained)")
    if first:
        ax.set_ylabel("test accuracy")
    ax.set_title(metrics_text(variant.metrics), linespacing=1.3)


def _task_legend(ax, tasks, has_init: bool):
    handles = [Line2D([], [], color=_task_style(j)[0], marker=_task_style(j)[1], markersize=3.2)
               for j in range(len(tasks))]
    labels = [f"task {t}" for t in tasks]
    handles += [Line2D([], [], color="0.4", marker="o", linestyle="none", markersize=3.2),
                Line2D([], [], color="0.4", marker="o", linestyle="none", markersize=3,
                       markerfacecolor="white", markeredgewidth=0.8),
                Line2D([], [], color="0.6", linestyle=":", linewidth=0.7)]
    labels += ["trained\nin block", "not trained", "task switch"]
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(0, 0.5), borderaxespad=0,
              handlelength=1.4, labelspacing=0.5)
    ax.axis("off")


def _spike_raster(ax, variant: Variant):
    offset = 0
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    t_max = 0.0
    for k, (pop, (t, i)) in enumerate(variant.spikes.items()):
        size = int(i.max()) + 1 if i.size else 0
        style.raster(ax, t, i, offset=offset, color=POPULATION_COLORS[k % len(POPULATION_COLORS)],
                     marker_size=2.0 if i.size < 20000 else 1.0)
        if size:
            ax.text(1.01, offset + size / 2, pop, transform=trans, ha="left", va="center",
                    color=POPULATION_COLORS[k % len(POPULATION_COLORS)], clip_on=False)
            if offset:
                ax.axhline(offset - 0.5, color="0.7", linewidth=0.4, zorder=0)
        if t.size:
            t_max = max(t_max, float(t.max()) * 1e3)
        offset += size
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    if t_max > 0:
        ax.set_xlim(0, t_max * 1.01)
    ax.set_title(f"sample spikes ({variant.name})")


def _weight_panel(ax, variants: list[Variant], colors: dict[str, str]):
    picked = [(v, _readout(v.weights)) for v in variants]
    picked = [(v, r) for v, r in picked if r is not None]
    finite = [w[np.isfinite(w)] for _, (_, w) in picked]
    allw = np.concatenate([w.ravel() for w in finite]) if finite else np.array([])
    names = sorted({name for _, (name, _) in picked})
    if allw.size == 0:
        bins = 40
    elif allw.min() == allw.max():
        bins = np.linspace(allw.min() - 0.5, allw.max() + 0.5, 11)
    else:
        bins = np.histogram_bin_edges(allw, bins=40)
    for v, (name, w) in picked:
        style.weight_histogram(ax, w, bins=bins, color=colors[v.name], label=v.name)
    ax.set_title("readout weights" + (f" ({names[0]})" if len(names) == 1 else ""))


# --- figures -----------------------------------------------------------------

def plot_forgetting(h5_path, out_stem=None, *, title: bool = True) -> list[Path]:
    """Continual-learning figure of one forgetting result file (double column).

    Row 1: accuracy matrix per variant (bold value = task trained in that
    block; grey = block not run yet) with a shared 0..1 colour bar. Row 2:
    per-task test accuracy across blocks per variant (filled markers: block
    trained that task; dotted lines: task switches; "init": accuracy before
    training, when the file has it), with ACC/BWT/FWT/F in the title. Row 3,
    only when the file has them: sample spike raster of the first variant with
    spikes and readout-weight histograms of all variants.

    Writes ``<out_stem>.pdf`` and ``<out_stem>.png`` (default stem: ``h5_path``
    without its suffix) and returns their paths.
    """
    result = load_forgetting(h5_path)
    stem = Path(out_stem) if out_stem is not None else Path(h5_path).with_suffix("")
    variants = list(result.variants.values())
    n_var = len(variants)
    tasks = task_names(result.n_tasks)
    block_labels = [f"{b + 1} ({tasks[s]})" for b, s in enumerate(result.schedule)]
    has_init = any(v.baseline is not None for v in variants)
    spiking = next((v for v in variants if v.spikes), None)
    weighted = [v for v in variants if _readout(v.weights) is not None]
    row3 = spiking is not None or bool(weighted)

    heat_mm = float(np.clip(5.0 * result.n_blocks + 24, 42, 100))
    heights = [heat_mm, 52.0] + ([42.0] if row3 else [])
    total_mm = sum(heights) + (7 if title else 0)

    annot, annot_fmt = _cell_labels(result, n_var, heat_mm)
    colors = {v.name: VARIANT_COLORS[k % len(VARIANT_COLORS)] for k, v in enumerate(variants)}
    with style.publication_style():
        fig = style.new_figure(2, height_mm=total_mm)
        side_ratio = 0.32 if n_var >= 2 else 0.5
        gs = fig.add_gridspec(len(heights), n_var + 1, height_ratios=heights,
                              width_ratios=[1.0] * n_var + [side_ratio])
        panels = []

        # row 1: accuracy matrices + one colour bar
        panels += _row_accuracy_matrices(fig, gs, result, variants, tasks, block_labels, annot, annot_fmt)

        # row 2: accuracy per task across blocks
        line_axes = []
        for k, v in enumerate(variants):
            ax = fig.add_subplot(gs[1, k], sharey=line_axes[0] if line_axes else None)
            _accuracy_lines(ax, result, v, tasks, first=k == 0, has_init=has_init)
            if k:
                ax.tick_params(labelleft=False)
            line_axes.append(ax)
        panels += line_axes
        _task_legend(fig.add_subplot(gs[1, -1]), tasks, has_init)

        # row 3: spikes and weights
        if row3:
            panels += _row_spikes_and_weights(fig, gs, n_var, spiking, weighted, colors)

        for k, ax in enumerate(panels):
            style.panel_label(ax, k)
        if title:
            fig.suptitle(_title(result), fontsize=style.PANEL_LABEL_SIZE)
        return style.save_figure(fig, stem)


def _cell_labels(result, n_var: int, heat_mm: float):
    """Size (pt, None: no labels) and format of the accuracy matrices' value labels:
    7 pt when the cells allow, down to 5 pt, none below that."""
    cell_w_pt = (style.DOUBLE_COLUMN_MM - 38) / n_var / result.n_tasks / style.MM_PER_INCH * 72
    cell_h_pt = (heat_mm - 20) / max(result.n_blocks, 1) / style.MM_PER_INCH * 72
    annot = min(style.FONT_SIZE, cell_w_pt / 2.6, cell_h_pt * 0.8)
    annot_fmt = "{:.2f}"
    if annot < style.FONT_SIZE and cell_w_pt / 2.6 < cell_h_pt * 0.8:
        # narrow cells: ".93" instead of "0.93" keeps the labels larger
        annot, annot_fmt = min(style.FONT_SIZE, cell_w_pt / 2.0, cell_h_pt * 0.8), _short_fmt
    return (annot if annot >= 5 else None), annot_fmt


def _row_accuracy_matrices(fig, gs, result, variants, tasks, block_labels, annot, annot_fmt) -> list:
    """Row 1: each variant's accuracy matrix and one shared colour bar."""
    heat_axes = []
    for k, v in enumerate(variants):
        ax = fig.add_subplot(gs[0, k])
        im = _accuracy_heatmap(ax, result, v, tasks, block_labels, annot, annot_fmt, first=k == 0)
        if k:
            ax.tick_params(labelleft=False)
        heat_axes.append(ax)
    side = fig.add_subplot(gs[0, -1])
    side.axis("off")
    cax = side.inset_axes([0.0, 0.08, 0.14, 0.84])
    cbar = fig.colorbar(im, cax=cax)
    cbar.set_label("accuracy")
    cbar.set_ticks([0, 0.25, 0.5, 0.75, 1.0], labels=["0", "", "0.5", "", "1"])
    cbar.outline.set_linewidth(style.LINE_WIDTH)
    return heat_axes


def _row_spikes_and_weights(fig, gs, n_var: int, spiking, weighted, colors) -> list:
    """Row 3: a sample spike raster and the readout-weight histograms, whichever the file has."""
    panels = []
    if spiking is not None and weighted:
        sub = gs[2, :n_var].subgridspec(1, 2, width_ratios=[1.7, 1.0])
        raster_spec, hist_spec = sub[0, 0], sub[0, 1]
    else:
        raster_spec = hist_spec = gs[2, :n_var]
    if spiking is not None:
        ax = fig.add_subplot(raster_spec)
        _spike_raster(ax, spiking)
        panels.append(ax)
    if weighted:
        ax = fig.add_subplot(hist_spec)
        _weight_panel(ax, weighted, colors)
        panels.append(ax)
        leg_ax = fig.add_subplot(gs[2, -1])
        leg_ax.axis("off")
        handles, labels = ax.get_legend_handles_labels()
        handles = [Line2D([], [], color=colors[lab]) for lab in labels]
        leg_ax.legend(handles, labels, loc="center left", bbox_to_anchor=(0, 0.5),
                      borderaxespad=0, title="variant", alignment="left")
    return panels


def _seed_of(result: ForgettingResult):
    return result.config.get("seed")


def plot_metrics_over_seeds(h5_paths: Sequence, out_stem, *,
                            metrics: Sequence[str] = ("acc", "bwt", "forgetting")) -> list[Path]:
    """Bar chart of ``metrics`` per variant over several result files (one per seed).

    Bars: mean over seeds; error bars: standard deviation (ddof=1, none with a
    single seed); dots: the individual seeds. NaN values are left out. The
    files must share their configuration apart from ``seed`` and ``device``
    (ValueError otherwise). Writes ``<out_stem>.pdf/.png``, returns the paths.
    """
    paths = [Path(p) for p in h5_paths]
    if not paths:
        raise ValueError("plot_metrics_over_seeds needs at least one result file")
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ValueError(f"unknown metric(s) {bad}; known: {list(METRICS)}")
    results = [load_forgetting(p) for p in paths]
    ref = {k: v for k, v in results[0].config.items() if k not in ("seed", "device")}
    for r in results[1:]:
        cfg = {k: v for k, v in r.config.items() if k not in ("seed", "device")}
        diff = sorted(k for k in ref.keys() | cfg.keys() if ref.get(k) != cfg.get(k))
        if diff:
            raise ValueError(f"{r.path} and {results[0].path} differ in config {diff}: "
                             "not seeds of one experiment")
    seeds = [_seed_of(r) for r in results]
    known = [s for s in seeds if s is not None]
    if len(set(map(str, known))) != len(known):
        warnings.warn(f"duplicate seeds among the result files: {seeds}", stacklevel=2)

    names = order_variants({n for r in results for n in r.variants})
    values = {(n, m): np.array([r.variants[n].metrics[m] for r in results if n in r.variants], dtype=float)
              for n in names for m in metrics}
    colors = {n: VARIANT_COLORS[k % len(VARIANT_COLORS)] for k, n in enumerate(names)}
    n_var = len(names)
    width = 0.8 / n_var
    rng = np.random.default_rng(0)

    with style.publication_style():
        fig = style.new_figure(1, aspect=0.62)
        ax = fig.add_subplot()
        ax.axhline(0, color="black", linewidth=style.LINE_WIDTH)
        for k, n in enumerate(names):
            for mi, m in enumerate(metrics):
                v = values[(n, m)]
                v = v[np.isfinite(v)]
                if v.size == 0:
                    continue
                x = mi + (k - (n_var - 1) / 2) * width
                mean = float(v.mean())
                sd = float(v.std(ddof=1)) if v.size > 1 else None
                ax.bar(x, mean, width=width * 0.9, color=to_rgba(colors[n], 0.35),
                       edgecolor=colors[n], linewidth=0.8, label=n if mi == 0 else None, zorder=1)
                if sd is not None:
                    ax.errorbar(x, mean, yerr=sd, color="black", linewidth=0.8, capthick=0.8, zorder=5)
                jitter = rng.uniform(-0.3, 0.3, v.size) * width
                ax.plot(x + jitter, v, linestyle="none", marker="o", markersize=2.4,
                        color=colors[n], markeredgecolor="black", markeredgewidth=0.3, zorder=4)
        ax.set_xticks(range(len(metrics)), [METRIC_LABELS[m] for m in metrics])
        ax.set_xlim(-0.5, len(metrics) - 0.5)
        ax.tick_params(axis="x", length=0)
        ax.set_ylabel("value")
        n_seeds = len(results)
        ax.set_title(f"mean \N{PLUS-MINUS SIGN} s.d. over {n_seeds} seed{'s' if n_seeds != 1 else ''}")
        fig.legend(loc="outside right upper", title="variant", alignment="left")
        return style.save_figure(fig, out_stem)
