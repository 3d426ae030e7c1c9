"""Figures of the physiology protocols (``protocols/stdp_window.py`` ... ``context_selectivity.py``).

Each renderer reads one result file — root attributes ``protocol``, ``config`` and
``published`` (JSON), the key numbers as float attributes, and the protocol's datasets —
and writes ``<stem>.pdf`` and ``<stem>.png``; nothing else is needed, so
``mtspark-bio figures PATH`` redraws a figure long after the run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtspark_bio.readers import PhysiologyResult

from . import style

C = style.OKABE_ITO


def _stem(h5_path, out_stem):
    return Path(out_stem) if out_stem is not None else Path(h5_path).with_suffix("")


def _save(fig, axes, h5_path, out_stem):
    for k, ax in enumerate(axes):
        style.panel_label(ax, k)
    return style.save_figure(fig, _stem(h5_path, out_stem))


# --- STDP window -------------------------------------------------------------------

def plot_stdp_window(h5_path, out_stem=None) -> list[Path]:
    """a: weight change per pairing against the delay (the selected preset), with the
    exponential fits; b: each preset's window and Bi & Poo's fit, each normalised to its
    LTP peak."""
    r = PhysiologyResult(h5_path, "stdp-window")
    d, dw = r["delay_ms"], r["dw_per_pairing"]
    n = r.numbers
    x = np.linspace(d.min(), d.max(), 400)

    def window(a_plus, tau_plus, a_minus, tau_minus):
        return np.where(x > 0, a_plus * np.exp(-x / tau_plus), -a_minus * np.exp(x / tau_minus))

    with style.publication_style():
        fig = style.new_figure(2, aspect=0.36)
        ax1, ax2 = fig.subplots(1, 2)
        ax1.axhline(0, color="0.6", lw=0.5)
        ax1.axvline(0, color="0.6", lw=0.5)
        ax1.plot(d, dw * 100, "o", ms=2.2, color=C["black"], label="model synapses")
        ax1.plot(x, window(n["A_plus"], n["tau_plus_ms"], n["A_minus"], n["tau_minus_ms"]) * 100,
                 color=C["vermillion"], label="exponential fits")
        ax1.set_xlabel(r"spike delay $t_{post} - t_{pre}$ (ms)")
        ax1.set_ylabel(r"$\Delta w$ per pairing (% of $w_{max}$)")
        ax1.text(0.98, 0.95, f"$\\tau_+$ = {n['tau_plus_ms']:.1f} ms\n$\\tau_-$ = {n['tau_minus_ms']:.1f} ms",
                 transform=ax1.transAxes, ha="right", va="top")
        ax1.legend(loc="lower right")
        bp = {k: r.published.get(k, {}).get("value") for k in
              ("A_plus_relative", "tau_plus_ms", "A_minus_relative", "tau_minus_ms")}
        ax2.axhline(0, color="0.6", lw=0.5)
        ax2.axvline(0, color="0.6", lw=0.5)
        presets = [(name, label) for name, label in (("song", "Song et al. preset"), ("bi_poo", "Bi & Poo preset"))
                   if f"{name}_tau_plus_ms" in n] or [("", "model")]
        for (name, label), color in zip(presets, (C["vermillion"], C["bluish_green"])):
            key = f"{name}_" if name else ""
            ax2.plot(x, window(1.0, n[key + "tau_plus_ms"], n[key + "A_minus"] / n[key + "A_plus"],
                               n[key + "tau_minus_ms"]), color=color, label=label)
        if all(isinstance(v, (int, float)) for v in bp.values()):
            ax2.plot(x, window(1.0, bp["tau_plus_ms"], bp["A_minus_relative"] / bp["A_plus_relative"],
                               bp["tau_minus_ms"]), color=C["blue"], ls="--",
                     label=f"Bi & Poo ($\\tau_+$ {bp['tau_plus_ms']}, $\\tau_-$ {bp['tau_minus_ms']} ms)")
        ax2.set_xlabel(r"spike delay $t_{post} - t_{pre}$ (ms)")
        ax2.set_ylabel(r"$\Delta w$ / LTP peak")
        ax2.legend(loc="upper left")
        return _save(fig, (ax1, ax2), h5_path, out_stem)


# --- dendritic integration ---------------------------------------------------------

def plot_dendritic_integration(h5_path, out_stem=None) -> list[Path]:
    """a, b: dendritic and somatic voltage for synapse counts around the plateau
    threshold; c: peak responses against the number of synapses (active and passive);
    d: the soma's input-output curve with the segment at rest and in plateau."""
    r = PhysiologyResult(h5_path, "dendritic-integration")
    n = r.numbers
    t = r["time_ms"]
    n_star = int(n["threshold_synapses"])
    synapses = r["synapses"]
    show = [k for k in (n_star // 2, n_star - 1, n_star, min(2 * n_star, len(synapses) - 1)) if k >= 1]
    show = sorted(set(show))
    colors = [C["sky_blue"], C["blue"], C["vermillion"], C["reddish_purple"]]
    with style.publication_style():
        fig = style.new_figure(2, aspect=0.62)
        axes = fig.subplots(2, 2)
        (ax_d, ax_s), (ax_p, ax_io) = axes
        for color, k in zip(colors, show):
            ax_d.plot(t, r["traces/v_d_mV"][k], color=color, label=f"{k} synapses")
            ax_s.plot(t, r["traces/v_s_mV"][k], color=color)
        v_th = r.config.get("V_plateau_threshold_mV")
        if v_th is not None:
            ax_d.axhline(v_th, color="0.5", ls=":", lw=0.7)
            ax_d.text(t[-1], v_th + 1, "plateau threshold", ha="right", va="bottom", color="0.4")
        ax_d.set_ylabel("segment voltage (mV)")
        ax_s.set_ylabel("somatic voltage (mV)")
        for ax in (ax_d, ax_s):
            ax.set_xlabel("time (ms)")
        ax_d.legend(loc="upper right", ncol=2)
        ax_s.text(0.98, 0.95, f"soma: {n['soma_plateau_mV']:.1f} mV, half-width {n['soma_halfwidth_ms']:.0f} ms",
                  transform=ax_s.transAxes, ha="right", va="top")
        ax_p.plot(synapses, r["peak_dendrite_mV"], "o-", ms=2, color=C["vermillion"], label="segment")
        ax_p.plot(synapses, r["peak_dendrite_passive_mV"], "--", color=C["vermillion"], lw=0.8,
                  label="segment, passive")
        ax_p.plot(synapses, r["peak_soma_mV"], "o-", ms=2, color=C["black"], label="soma")
        ax_p.plot(synapses, r["peak_soma_passive_mV"], "--", color=C["black"], lw=0.8, label="soma, passive")
        ax_p.axvline(n_star, color="0.6", ls=":", lw=0.7)
        ax_p.set_xlabel(f"synchronous synapses ({r.config.get('g_unit_nS', '?')} nS each)")
        ax_p.set_ylabel("peak depolarisation (mV)")
        ax_p.legend(loc="center right")
        rate_in = r["io/input_rate_hz"] / 1000
        out = r["io/output_rate_hz"]
        for row, label, color in ((0, "segment at rest", C["black"]), (1, "segment in plateau", C["vermillion"])):
            ax_io.plot(rate_in, out[row], "o-", ms=2, color=color, label=label)
        ax_io.set_xlabel("feed-forward input rate (kHz, all synapses)")
        ax_io.set_ylabel("somatic rate (Hz)")
        ax_io.legend(loc="upper left")
        ax_io.text(0.98, 0.05, f"shift {n['io_shift_hz'] / 1000:.2f} kHz\ngain x{n['io_gain_ratio']:.2f}",
                   transform=ax_io.transAxes, ha="right", va="bottom")
        return _save(fig, (ax_d, ax_s, ax_p, ax_io), h5_path, out_stem)


# --- coincidence -------------------------------------------------------------------

def plot_coincidence(h5_path, out_stem=None) -> list[Path]:
    """Somatic spikes against the delay of the feed-forward volley after the context
    volley; the shaded band is the model's plateau duration."""
    r = PhysiologyResult(h5_path, "coincidence")
    d, spikes = r["delay_ms"], r["spikes"]
    n = r.numbers
    with style.publication_style():
        fig = style.new_figure(1, aspect=0.62)
        ax = fig.add_subplot()
        duration = r.config.get("plateau_duration_param_ms")
        if duration:
            ax.axvspan(0, duration, color=C["sky_blue"], alpha=0.3, lw=0, label="plateau (model)")
        ax.step(d, spikes, where="mid", color=C["black"], label="feed-forward + context")
        ax.axhline(r["controls"][0], color=C["orange"], ls="--", lw=0.8, label="feed-forward alone")
        ax.axhline(r["controls"][1], color=C["bluish_green"], ls=":", lw=0.8, label="context alone")
        ax.set_xlabel(r"delay $t_{ff} - t_{context}$ (ms)")
        ax.set_ylabel("somatic spikes")
        ax.set_ylim(-0.1, max(1.0, float(spikes.max())) * 1.45)
        ax.legend(loc="upper right", fontsize=6)
        ax.text(0.02, 0.95, f"window {n['window_start_ms']:.0f} to {n['window_end_ms']:.0f} ms",
                transform=ax.transAxes, ha="left", va="top")
        return _save(fig, (ax,), h5_path, out_stem)


# --- distal reward: figures/distal_reward.py (one seed, and the time course over seeds)

# --- context selectivity -----------------------------------------------------------

def plot_context_selectivity(h5_path, out_stem=None) -> list[Path]:
    """a: winning segment of every gated neuron for each task context (after training);
    b: fraction of neurons gated and active per task; c: overlap between the tasks'
    sets against chance, before and after training; d: context weights onto segments
    wired to each task, after training."""
    r = PhysiologyResult(h5_path, "context-selectivity")
    n = r.numbers
    gated, winner = r["after/gated"].astype(bool), r["after/winner"]
    n_tasks, n_hidden = gated.shape
    tasks = [chr(ord("A") + k) for k in range(n_tasks)]
    with style.publication_style():
        fig = style.new_figure(2, aspect=0.62)
        grid = fig.add_gridspec(2, 3, width_ratios=[2.2, 1, 1])
        ax_map = fig.add_subplot(grid[:, 0])
        ax_frac = fig.add_subplot(grid[0, 1])
        ax_ov = fig.add_subplot(grid[0, 2])
        ax_w = fig.add_subplot(grid[1, 1:])
        order = np.lexsort((winner[0], *[~gated[k] for k in range(n_tasks)][::-1]))
        shown = order[gated[:, order].any(axis=0)]
        matrix = np.where(gated[:, shown], winner[:, shown], np.nan).T
        from matplotlib.colors import ListedColormap

        n_seg = int(r.config.get("n_segments", int(np.nanmax(matrix)) + 1 if matrix.size else 1))
        cmap = ListedColormap([style.PALETTE[k % len(style.PALETTE)] for k in range(n_seg)])
        style.heatmap(ax_map, matrix, vmin=-0.5, vmax=n_seg - 0.5, cmap=cmap, annotate=False)
        ax_map.set_xticks(range(n_tasks), [f"context {t}" for t in tasks])
        ax_map.set_ylabel(f"gated neurons ({len(shown)} of {n_hidden})")
        ax_map.set_yticks([])
        ax_map.set_title("winning segment (colour); grey: not gated")
        handles = [ax_map.plot([], [], "s", color=cmap(k), label=f"segment {k}")[0] for k in range(n_seg)]
        ax_map.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=min(n_seg, 4))
        x = np.arange(n_tasks)
        ax_frac.bar(x - 0.2, gated.mean(axis=1), 0.4, color=C["vermillion"], label="gated")
        ax_frac.bar(x + 0.2, r["after/active"].mean(axis=1), 0.4, color=C["blue"], label="active")
        ax_frac.set_xticks(x, tasks)
        ax_frac.set_xlabel("task")
        ax_frac.set_ylabel("fraction of neurons")
        ax_frac.legend(loc="upper right", fontsize=6)
        labels = ["gated", "active"]
        xs = np.arange(2)
        for k, (suffix, name, color) in enumerate((("_before", "before", C["sky_blue"]), ("", "after", C["blue"]))):
            ax_ov.bar(xs + (k - 0.5) * 0.3, [n.get(f"{lab}_overlap{suffix}", np.nan) for lab in labels], 0.3,
                      color=color, label=f"{name} training")
        ax_ov.plot(xs, [n.get(f"{lab}_overlap_chance", np.nan) for lab in labels], "_", ms=14, mew=1.2,
                   color=C["black"], label="chance")
        ax_ov.set_xticks(xs, labels)
        ax_ov.set_ylabel("overlap between tasks (Jaccard)")
        top = np.nanmax([n.get(f"{lab}_overlap{sfx}", 0) for lab in labels for sfx in ("", "_before", "_chance")])
        ax_ov.set_ylim(0, 1.8 * top if top > 0 else 1)
        ax_ov.legend(loc="upper left", fontsize=6, ncol=1)
        w, seg, post, task = (r[k] for k in ("context_w", "context_segment", "context_post", "context_task"))
        bins = np.linspace(0, 1, 26)
        for k in range(n_tasks):
            style.weight_histogram(ax_w, w[task == k], bins=bins, color=style.PALETTE[k % len(style.PALETTE)],
                                   label=f"context {tasks[k]}", xlabel="context weight (after training)")
        ax_w.set_ylabel("synapses")
        ax_w.legend(loc="upper left")
        ax_w.text(0.98, 0.95, f"segment selectivity {n['segment_selectivity']:.2f}", transform=ax_w.transAxes,
                  ha="right", va="top")
        return _save(fig, (ax_map, ax_frac, ax_ov, ax_w), h5_path, out_stem)


RENDERERS = {
    "stdp-window": plot_stdp_window,
    "dendritic-integration": plot_dendritic_integration,
    "coincidence": plot_coincidence,
    "context-selectivity": plot_context_selectivity,
}
