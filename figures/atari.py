"""Figures of the Atari (continual reinforcement learning) protocol.

One result file holds, for each agent, the mean raw evaluation score on every
game after each training block (rows of blocks not yet run are NaN), its
spread over the evaluation episodes, the score before any training and,
optionally, the raw score of every training episode. Layout read here::

    /                 attrs: protocol="atari", config (JSON: games, sticky, frames (training
                             frames per game), switch_every, eval_episodes, ...), versions (JSON),
                             blocks_done (int; -1 before the untrained evaluation), complete (bool)
    /schedule         int (n_blocks,): index into config["games"] of the game trained in each block
    /agents/<name>    attrs: acc, bwt, fwt, forgetting on the human-normalised score, in %
                             (NaN until complete); raw_acc, raw_bwt, ... on raw scores
                             (files before issue 17: only the plain names, on raw scores)
        score_matrix      float (n_blocks, n_games)  mean evaluation score after each block
        score_matrix_hns  float (n_blocks, n_games)  the same, human-normalised (%)   optional
        baseline_score_hns float (n_games,)          baseline, human-normalised (%)   optional
        forgetting_per_game float (n_games,)         best raw score since first trained
                                                     minus the final one (NaN: last game)  optional
        score_std         float (n_blocks, n_games)  s.d. over evaluation episodes   optional
        baseline_score    float (n_games,)           mean score before training      optional
        training_scores   float (n,)  raw score of each finished training episode    optional
        training_block    int (n,)    block (0-based index into /schedule) in which
                                      each of those episodes finished                optional

The ``random`` agent does not learn: it is drawn as the chance reference (dashed
grey). The heatmaps are coloured on the human-normalised score (0 = random play, 1 =
human; Mnih et al. 2015) for the games that have one, otherwise per game from the random
agent's mean (0) to the best learner (1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import Normalize, to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mtspark_bio.readers import RANDOM, Agent, AtariResult, load_atari

from . import style
from .style import metrics_text, thin_ticks

PROTOCOL = "atari"
#: Learning agents' colours: dendritic and point as in the forgetting figure; no sky blue
#: (the trained-block shading) and no yellow (faint on white).
AGENT_COLORS = tuple(style.OKABE_ITO[k] for k in (
    "black", "orange", "bluish_green", "reddish_purple", "vermillion", "blue"))
#: The random (chance) agent: dashed grey.
RANDOM_COLOR = "0.45"
#: Background of the blocks that trained the game of a subplot (a light tint, unlike the grey bands).
TRAINED_SHADE = to_rgba(style.OKABE_ITO["sky_blue"], 0.2)
#: Characters per line of the figure title (8 pt across a double column).
TITLE_CHARS = 105
#: Widest heatmap cell (mm): fewer cells leave the rest of the row empty.
MAX_CELL_MM = 32.0


# --- formatting helpers ------------------------------------------------------

def game_label(name: str) -> str:
    """"pong" -> "Pong"; other names unchanged apart from the first letter."""
    return name[:1].upper() + name[1:]


def score_fmt(value: float) -> str:
    """A raw score in at most ~4 significant characters: 345, 20.3, 1.25, −21.0."""
    if not np.isfinite(value):
        return ""
    a = abs(value)
    text = f"{value:.0f}" if a >= 99.95 else f"{value:.1f}" if a >= 9.995 else f"{value:.2f}"
    return text.replace("-", "\N{MINUS SIGN}")


def _count(n) -> str:
    """50000 -> "50k", 2000000 -> "2M"."""
    n = float(n)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:.0f}"


def _title(result: AtariResult) -> str:
    c = result.config
    parts = [", ".join(game_label(g) for g in result.games)]
    parts.append(f"{result.n_blocks} block{'s' if result.n_blocks != 1 else ''}")
    if c.get("frames"):  # config "frames": training frames per game
        parts.append(f"{_count(c['frames'])} training frames per game")
    if c.get("switch_every"):
        parts.append(f"game switch every {_count(c['switch_every'])} frames")
    if "sticky" in c:
        parts.append("sticky actions" if c["sticky"] else "no sticky actions")
    if c.get("eval_episodes"):
        n = int(c["eval_episodes"])
        parts.append(f"{n} evaluation episode{'s' if n != 1 else ''}")
    if "seed" in c:
        parts.append(f"seed {c['seed']}")
    if not result.complete:
        parts.append(f"incomplete: {result.blocks_done} of {result.n_blocks} blocks run")
    # wrap between the parts so a long title stays within the page width
    lines, line = [], "Atari: " + parts[0]
    for part in parts[1:]:
        if len(line) + len(part) + 2 > TITLE_CHARS:
            lines.append(line + ",")
            line = part
        else:
            line += ", " + part
    return "\n".join(lines + [line])


def _agent_colors(result: AtariResult) -> dict[str, str]:
    colors, k = {}, 0
    for name in result.agents:
        if name == RANDOM:
            colors[name] = RANDOM_COLOR
        else:
            colors[name] = AGENT_COLORS[k % len(AGENT_COLORS)]
            k += 1
    return colors


def _block_axis(ax, result: AtariResult, has_init: bool, xlabel: bool = True):
    """x from "init" (0) to the last block; blocks thinned to about 10 labels."""
    n = result.n_blocks
    ax.set_xlim((-0.5 if has_init else 0.5), n + 0.5)
    step = thin_ticks(n, 10)
    ticks = list(range(1, n + 1)) if step == 1 else list(range(step, n + 1, step))
    labels = [str(b) for b in ticks]
    if has_init:
        ticks, labels = [0] + ticks, ["init"] + labels
    ax.set_xticks(ticks, labels)
    if xlabel:
        ax.set_xlabel("training block")


def _shade_trained(ax, result: AtariResult, game: int, edges=None):
    """Grey background behind the blocks that trained ``game`` (merged over consecutive
    blocks); block b spans ``edges[b]`` to ``edges[b + 1]`` on x (default: b + 0.5 to
    b + 1.5, the block axis)."""
    edges = np.arange(result.n_blocks + 1) + 0.5 if edges is None else np.asarray(edges)
    on = np.r_[False, result.schedule == game, False]
    starts = np.flatnonzero(~on[:-1] & on[1:])      # 0-based first block of each run
    ends = np.flatnonzero(on[:-1] & ~on[1:])        # one past the last block
    for s, e in zip(starts, ends):
        ax.axvspan(edges[s], edges[e], color=TRAINED_SHADE, linewidth=0, zorder=0)


def _not_run(ax, result: AtariResult):
    """Mark the blocks not run yet: a dotted line and a note."""
    if result.blocks_done >= result.n_blocks:
        return
    x = result.blocks_done + 0.5
    ax.axvline(x, color="0.6", linestyle=":", linewidth=0.7, zorder=1)
    ax.text((x + result.n_blocks + 0.5) / 2, 0.5, "not run\nyet", transform=ax.get_xaxis_transform(),
            ha="center", va="center", color="0.5", fontstyle="italic")


# --- panels ------------------------------------------------------------------

#: reference lines of the learning curves: (label, line style) of each anchor
ANCHOR_STYLES = {"human": ("human (Mnih et al. 2015)", (0, (1, 1.2))),
                 "mtspark": ("MTSpark (Devkota et al. 2024)", (0, (4, 1.2, 1, 1.2)))}


def _anchor_lines(ax, game: str) -> bool:
    """The published human and MTSpark scores of ``game`` as horizontal lines (the
    random row of Mnih et al. 2015 is left to the random agent measured here); False
    when the game has none."""
    from mtspark_bio.atari import RANDOM_HUMAN
    from mtspark_bio.experiments.atari import MTSPARK

    if game not in RANDOM_HUMAN:
        return False
    for key, value in (("human", RANDOM_HUMAN[game][1]), ("mtspark", MTSPARK[game])):
        ax.axhline(value, color="0.35", linestyle=ANCHOR_STYLES[key][1], linewidth=0.7, zorder=1)
    return True


def _score_lines(ax, result: AtariResult, game: int, colors, has_init: bool) -> bool:
    """One game's evaluation scores after each block, with the published anchors;
    returns whether anchors were drawn."""
    x = np.arange(1, result.n_blocks + 1, dtype=float)
    _shade_trained(ax, result, game)
    anchored = _anchor_lines(ax, result.games[game])
    # random first (underneath), learners on top in order
    agents = sorted(result.agents.values(), key=lambda a: a.learns)
    for z, a in enumerate(agents):
        xs, ys = x, a.score[:, game]
        sd = a.std[:, game] if a.std is not None else None
        if has_init:
            b = a.baseline[game] if a.baseline is not None else np.nan
            xs, ys = np.r_[0.0, x], np.r_[b, ys]
            if sd is not None:
                sd = np.r_[np.nan, sd]
        c = colors[a.name]
        if sd is not None:
            lo, hi = ys - sd, ys + sd
            ax.fill_between(xs, lo, hi, color=to_rgba(c, 0.12 if a.learns else 0.1), linewidth=0,
                            zorder=2 + z)
        ax.plot(xs, ys, color=c, linestyle="-" if a.learns else (0, (3, 1.5)), linewidth=1.0,
                marker="o" if a.learns else None, markersize=2.4, zorder=3 + z)
        if not a.learns:
            # a lone value (no neighbour to draw a dash to, e.g. only "init" so far): a small mark
            ok = np.isfinite(ys)
            lone = ok & ~np.r_[False, ok[:-1]] & ~np.r_[ok[1:], False]
            ax.plot(xs[lone], ys[lone], linestyle="none", marker="_", markersize=5, markeredgewidth=1.0,
                    color=c, zorder=3 + z)
    _block_axis(ax, result, has_init)
    frames = result.config.get("switch_every")
    if frames:
        ax.set_xlabel(f"training block ({frames / 1000:g} k frames each)")
    _not_run(ax, result)
    ax.set_title(game_label(result.games[game]))
    return anchored


def _human_scale(result: AtariResult) -> dict[str, np.ndarray] | None:
    """The score matrices as fractions of the human-normalised score (0 = random play,
    1 = human, Mnih et al. 2015), the colour scale when every game has published random
    and human scores; None otherwise."""
    from mtspark_bio.atari import RANDOM_HUMAN, human_normalised

    if not all(g in RANDOM_HUMAN for g in result.games):
        return None
    return {a.name: human_normalised(a.score, result.games) / 100.0 for a in result.learners}


def _normalised(result: AtariResult) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per-game colour scale of the score matrices when the games have no published
    random and human scores: 0 = random agent's mean, 1 = best learner.

    Returns ``({agent: normalised matrix}, zero, one)`` with ``zero``/``one`` the raw
    scores (n_games,) that map to 0 and 1. Without a random agent the zero is the
    learners' lowest score; a game where no learner beats the zero maps to 0.
    """
    learners = result.learners
    zero = np.full(result.n_games, np.nan)
    one = np.full(result.n_games, np.nan)
    rnd = result.agents.get(RANDOM)
    with np.errstate(all="ignore"):
        for j in range(result.n_games):
            ref = []
            if rnd is not None:
                ref = [rnd.score[:, j]] + ([rnd.baseline[j:j + 1]] if rnd.baseline is not None else [])
            ref = np.concatenate(ref) if ref else np.zeros(0)
            ref = ref[np.isfinite(ref)]
            col = np.concatenate([a.score[:, j] for a in learners]) if learners else np.zeros(0)
            col = col[np.isfinite(col)]
            if ref.size:
                zero[j] = ref.mean()
            elif col.size:
                zero[j] = col.min()
            if col.size:
                one[j] = col.max()
        out = {}
        for a in learners:
            span = one - zero
            z = (a.score - zero) / np.where(span > 0, span, np.nan)
            flat = np.isfinite(a.score) & ~(span > 0)
            z[flat] = 0.0
            out[a.name] = z
    return out, zero, one


def _score_heatmap(ax, result: AtariResult, agent: Agent, norm_matrix, annot_size, first: bool,
                   narrow: bool = False):
    n_blocks, n_games = agent.score.shape
    shown = np.clip(norm_matrix, 0.0, 1.0)
    im = style.heatmap(ax, shown, vmin=0.0, vmax=1.0, annotate=False)
    cmap, norm = im.get_cmap(), Normalize(0.0, 1.0)
    if annot_size:
        for (r, c), v in np.ndenumerate(agent.score):
            if not np.isfinite(v):
                continue
            trained = result.schedule[r] == c
            ax.text(c, r, score_fmt(v), ha="center", va="center", fontsize=annot_size,
                    fontweight="bold" if trained else "normal",
                    color=style.text_color_for(cmap(norm(shown[r, c]))))
    ax.set_xticks(range(n_games), [game_label(g) for g in result.games])
    step = thin_ticks(n_blocks, 14)
    rows = list(range(0, n_blocks, step))
    ax.set_yticks(rows, [f"{b + 1} {game_label(result.games[result.schedule[b]])}" for b in rows])
    ax.set_xlabel("game evaluated")
    if first:
        ax.set_ylabel("training block (game trained)")
    done = result.blocks_done
    if done < n_blocks:
        ax.text((n_games - 1) / 2, (done + n_blocks - 1) / 2, "not run yet", ha="center", va="center",
                color="0.4", fontstyle="italic")
    metrics = agent.metrics
    if any(np.isfinite(v) for v in metrics.values()):
        # the metrics are on the human-normalised scale (%) when the file has raw ones beside
        text = metrics_text(metrics) + (" (HNS %)" if agent.raw_metrics else "")
        ax.set_title(text if narrow else text.replace("\n", "   "), linespacing=1.3)
        ax.annotate(agent.name, xy=(0.5, 1.0), xycoords=ax.title, xytext=(0, 1), textcoords="offset points",
                    ha="center", va="bottom", fontweight="bold", annotation_clip=False)
    else:
        ax.set_title(agent.name, fontweight="bold")
    return im


def _training_scores(ax, result: AtariResult, game: int, colors, has_init: bool):
    """Raw score of each training episode of ``game``, spread across its block; line: block mean."""
    _shade_trained(ax, result, game)
    learners = [a for a in result.learners if a.training_scores.size]
    n_l = max(len(learners), 1)
    drawn = False
    for k, a in enumerate(learners):
        c = colors[a.name]
        on = result.schedule[a.training_block] == game
        blocks, scores = a.training_block[on], a.training_scores[on]
        means_x, means_y = [], []
        for b in np.unique(blocks):
            s = scores[blocks == b]
            # episodes in order across the block, agents side by side
            lane = 0.8 / n_l
            x0 = b + 1 - 0.4 + k * lane
            xs = x0 + (np.arange(s.size) + 0.5) / s.size * lane
            ax.plot(xs, s, linestyle="none", marker="o", markersize=1.6, color=to_rgba(c, 0.45),
                    markeredgewidth=0, zorder=2, rasterized=s.size > 2000)
            if np.isfinite(s).any():
                means_x.append(b + 1)
                means_y.append(np.nanmean(s))
            drawn = True
        if means_x:
            # a break in the line wherever the game was not trained
            mx, my = np.asarray(means_x, float), np.asarray(means_y, float)
            gaps = np.flatnonzero(np.diff(mx) > 1)
            mx, my = np.insert(mx, gaps + 1, np.nan), np.insert(my, gaps + 1, np.nan)
            ax.plot(mx, my, color=c, marker="_", markersize=6, markeredgewidth=1.2, linewidth=0.8,
                    zorder=3)
    _block_axis(ax, result, has_init)
    _not_run(ax, result)
    ax.set_title(game_label(result.games[game]))
    if not drawn:
        ax.text(0.5, 0.5, "no training\nepisodes", transform=ax.transAxes, ha="center", va="center",
                color="0.5", fontstyle="italic")
        ax.set_yticks([])


def _legend(ax, handles, labels, title=None):
    ax.axis("off")
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(0, 0.5), borderaxespad=0,
              title=title, alignment="left", labelspacing=0.5, handlelength=1.6)


# --- figure ------------------------------------------------------------------

def plot_atari(h5_path, out_stem=None, *, title: bool = True) -> list[Path]:
    """Continual-learning figure of one Atari result file (double column).

    a: evaluation score (mean ± s.d. over evaluation episodes, shaded) of every
    agent on each game against the training block ("init": before training);
    grey background: the blocks that trained that game; random agent dashed grey.
    b: score matrix of each learning agent (rows: blocks, labelled with the game
    trained; columns: games evaluated), cells annotated with the raw mean score
    (bold: game trained in that block) and coloured per game from the random
    agent's mean (0) to the best learner's score (1). c, when the file has
    them: the raw score of every training episode (dots) and its mean per block
    (line), per game. Blocks not run yet are left empty and marked.

    Writes ``<out_stem>.pdf`` and ``<out_stem>.png`` (default stem: ``h5_path``
    without its suffix) and returns their paths.
    """
    result = load_atari(h5_path)
    stem = Path(out_stem) if out_stem is not None else Path(h5_path).with_suffix("")
    learners = result.learners
    n_l, n_b = len(learners), result.n_blocks
    has_init = any(a.baseline is not None for a in result.agents.values())
    has_training = any(a.training_scores.size for a in learners)
    colors = _agent_colors(result)

    heat_mm = float(np.clip(4.5 * n_b + 26, 44, 100)) if n_l else 0.0
    heights = [50.0] + ([heat_mm] if n_l else []) + ([42.0] if has_training else [])
    title_text = _title(result) if title else ""
    total_mm = sum(heights) + (4 + 3.5 * (title_text.count("\n") + 1) if title else 0)

    with style.publication_style():
        fig = style.new_figure(2, height_mm=total_mm)
        gs = fig.add_gridspec(len(heights), 1, height_ratios=heights)
        line_axes = _panel_scores(fig, gs[0, 0], result, colors, has_init)
        letters = [line_axes[0]]
        if n_l:
            letters.append(_panel_score_matrices(fig, gs[1, 0], result, heat_mm))
        if has_training:
            letters.append(_panel_training(fig, gs[len(heights) - 1, 0], result, colors, has_init, line_axes))
        for k, ax in enumerate(letters):
            style.panel_label(ax, k)
        if title:
            fig.suptitle(title_text, fontsize=style.PANEL_LABEL_SIZE)
        return style.save_figure(fig, stem)


#: width of a panel row's legend or colour-bar column, relative to one game's axes
SIDE_RATIO = 0.3


def _games_row(cell, n_games: int):
    """One axes per game and a legend column on the right."""
    return cell.subgridspec(1, n_games + 1, width_ratios=[1.0] * n_games + [SIDE_RATIO * max(n_games, 2) / 2])


def _panel_scores(fig, cell, result, colors, has_init) -> list:
    """a: evaluation scores per game against the block, with the agents' legend."""
    sub = _games_row(cell, result.n_games)
    line_axes, anchored = [], False
    for j in range(result.n_games):
        ax = fig.add_subplot(sub[0, j])
        anchored |= _score_lines(ax, result, j, colors, has_init)
        if j == 0:
            ax.set_ylabel("score (raw)")
        line_axes.append(ax)
    handles = [Line2D([], [], color=colors[a.name], linestyle="-" if a.learns else (0, (3, 1.5)),
                      marker="o" if a.learns else None, markersize=2.4) for a in result.agents.values()]
    labels = list(result.agents)
    if any(a.std is not None for a in result.agents.values()):
        handles.append(Patch(facecolor=to_rgba("0.3", 0.15), linewidth=0))
        labels.append("\N{PLUS-MINUS SIGN} s.d.")
    handles.append(Patch(facecolor=TRAINED_SHADE, linewidth=0))
    labels.append("game trained\nin block")
    if anchored:
        for label, dashes in ANCHOR_STYLES.values():
            handles.append(Line2D([], [], color="0.35", linestyle=dashes, linewidth=0.7))
            labels.append(label)
    _legend(fig.add_subplot(sub[0, -1]), handles, labels, title="agent")
    return line_axes


def _panel_score_matrices(fig, cell, result, heat_mm: float):
    """b: the score matrix of each learning agent and one colour bar; returns the first axes."""
    learners, n_g = result.learners, result.n_games
    n_l = len(learners)
    # raw-score labels: 7 pt when the cells allow, down to 5 pt, none below that
    unit_mm = (style.DOUBLE_COLUMN_MM - 45) / (n_l + SIDE_RATIO)
    heat_ratio = min(1.0, n_g * MAX_CELL_MM / unit_mm)  # < 1: cells capped, a spacer on the right
    cell_w_pt = unit_mm * heat_ratio / n_g / style.MM_PER_INCH * 72
    cell_h_pt = (heat_mm - 22) / max(result.n_blocks, 1) / style.MM_PER_INCH * 72
    annot = min(style.FONT_SIZE, cell_w_pt / 3.2, cell_h_pt * 0.8)
    annot = annot if annot >= 5 else None

    normed = _human_scale(result)
    human = normed is not None
    if not human:
        normed, _, _ = _normalised(result)
    spacer = n_l * (1.0 - heat_ratio)
    ratios = [heat_ratio] * n_l + [SIDE_RATIO] + ([spacer] if spacer > 0.05 else [])
    sub = cell.subgridspec(1, len(ratios), width_ratios=ratios)
    heat_axes = []
    for k, a in enumerate(learners):
        ax = fig.add_subplot(sub[0, k], sharey=heat_axes[0] if heat_axes else None)
        im = _score_heatmap(ax, result, a, normed[a.name], annot, first=k == 0, narrow=unit_mm * heat_ratio < 60)
        if k:
            ax.tick_params(labelleft=False)
        heat_axes.append(ax)
    side = fig.add_subplot(sub[0, n_l])
    side.axis("off")
    cax = side.inset_axes([0.0, 0.12, 0.12, 0.76])
    below = any((np.asarray(m) < 0).any() for m in normed.values() if np.isfinite(m).any())
    cbar = fig.colorbar(im, cax=cax, extend="min" if below else "neither")
    cbar.set_label("human-normalised score\n(0 = random, 1 = human)" if human
                   else "score per game\n(0 = random, 1 = best)")
    cbar.set_ticks([0, 0.5, 1.0], labels=["0", "0.5", "1"])
    cbar.outline.set_linewidth(style.LINE_WIDTH)
    return heat_axes[0]


def _panel_training(fig, cell, result, colors, has_init, line_axes):
    """c: every training episode's score and its block mean, per game; returns the first axes."""
    sub = _games_row(cell, result.n_games)
    train_axes = []
    for j in range(result.n_games):
        ax = fig.add_subplot(sub[0, j], sharex=line_axes[j])
        _training_scores(ax, result, j, colors, has_init)
        if j == 0:
            ax.set_ylabel("training episode\nscore (raw)")
        train_axes.append(ax)
    # agents' colours as in a
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=2.5, markeredgewidth=0,
                      color=to_rgba("0.2", 0.6)),
               Line2D([], [], color="0.2", marker="_", markersize=6, markeredgewidth=1.2, linewidth=0.8)]
    _legend(fig.add_subplot(sub[0, -1]), handles, ["one episode", "block mean"], title="training")
    return train_axes[0]
