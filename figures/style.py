"""Publication style for journal figures (Nature's column widths and type sizes).

Nothing here touches matplotlib's global state at import. Use the style
explicitly::

    from mtspark_bio.figures import style

    with style.publication_style():
        fig = style.new_figure(columns=2, aspect=0.5)
        ax = fig.add_subplot()
        ...
        style.panel_label(ax, "a")
        paths = style.save_figure(fig, "results/fig1")   # fig1.pdf, fig1.png

Figures are plain :class:`matplotlib.figure.Figure` objects on an Agg canvas,
never pyplot figures, so this works headless (no display, no pyplot global
figure manager, no ``matplotlib.use`` needed). Build *and* save a figure inside
:func:`publication_style`: matplotlib reads some settings (tick sizes, fonts)
only when a figure is drawn. :func:`save_figure` re-enters the style itself.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

# --- sizes -----------------------------------------------------------------

MM_PER_INCH = 25.4
#: Nature: single column 89 mm, 1.5 column 120-136 mm, double column 183 mm,
#: at most 247 mm high (caption included).
SINGLE_COLUMN_MM = 89.0
ONE_AND_HALF_COLUMN_MM = 120.0
DOUBLE_COLUMN_MM = 183.0
MAX_HEIGHT_MM = 247.0
COLUMN_WIDTHS_MM = {1: SINGLE_COLUMN_MM, 1.5: ONE_AND_HALF_COLUMN_MM, 2: DOUBLE_COLUMN_MM}

#: Raster output resolution (journals ask for >= 300 dpi).
DPI = 300


def mm_to_inch(mm: float) -> float:
    return mm / MM_PER_INCH


def figure_size(columns: float = 1, aspect: float = 0.75) -> tuple[float, float]:
    """``(width, height)`` in inches for a figure ``columns`` journal columns wide.

    ``columns`` is 1, 1.5 or 2 (89, 120 or 183 mm); ``aspect`` is height / width.
    """
    try:
        width_mm = COLUMN_WIDTHS_MM[columns]
    except (KeyError, TypeError):
        raise ValueError(f"columns must be one of 1, 1.5, 2; got {columns!r}") from None
    if not (aspect > 0 and np.isfinite(aspect)):
        raise ValueError(f"aspect (height / width) must be a positive number, got {aspect!r}")
    width = mm_to_inch(width_mm)
    return width, width * aspect


# --- colours ---------------------------------------------------------------

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with the
#: common forms of colour blindness.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Default colour cycle: the Okabe-Ito colours ordered for contrast on white
#: (yellow, the faintest, last).
PALETTE: tuple[str, ...] = tuple(OKABE_ITO[k] for k in (
    "blue", "vermillion", "bluish_green", "reddish_purple", "orange", "sky_blue", "black", "yellow"))
#: Sequential colormap for matrices: perceptually uniform and colour-blind safe.
SEQUENTIAL_CMAP = "cividis"
#: Colour of missing (NaN) matrix cells.
MISSING_COLOR = "#E6E6E6"

# --- type and lines --------------------------------------------------------

FONT_SIZE = 7          # axis labels, tick labels, legends, annotations
TITLE_SIZE = 7
PANEL_LABEL_SIZE = 8   # bold lowercase a, b, c (Nature style)
LINE_WIDTH = 0.5       # spines and ticks

RC: dict[str, object] = {
    # fonts: Arial/Helvetica if installed, otherwise a metric-compatible or default sans
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "DejaVu Sans"],
    "font.size": FONT_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.titleweight": "normal",
    "axes.titlepad": 3.0,
    "axes.labelsize": FONT_SIZE,
    "axes.labelpad": 2.0,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "legend.title_fontsize": FONT_SIZE,
    "figure.titlesize": PANEL_LABEL_SIZE,
    "mathtext.default": "regular",
    # thin lines, no top/right spines
    "axes.linewidth": LINE_WIDTH,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "axes.edgecolor": "black",
    "axes.labelcolor": "black",
    "xtick.major.width": LINE_WIDTH,
    "ytick.major.width": LINE_WIDTH,
    "xtick.minor.width": LINE_WIDTH * 0.8,
    "ytick.minor.width": LINE_WIDTH * 0.8,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.minor.size": 1.5,
    "ytick.minor.size": 1.5,
    "xtick.major.pad": 2.0,
    "ytick.major.pad": 2.0,
    "xtick.direction": "out",
    "ytick.direction": "out",
    "lines.linewidth": 1.0,
    "lines.markersize": 3.0,
    "patch.linewidth": LINE_WIDTH,
    "errorbar.capsize": 2.0,
    "legend.frameon": False,
    "legend.handlelength": 1.5,
    "legend.handletextpad": 0.4,
    "legend.borderaxespad": 0.3,
    "legend.columnspacing": 1.0,
    "image.cmap": SEQUENTIAL_CMAP,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "figure.constrained_layout.use": True,
    "figure.constrained_layout.h_pad": 2 / 72,
    "figure.constrained_layout.w_pad": 2 / 72,
    "figure.constrained_layout.hspace": 0.02,
    "figure.constrained_layout.wspace": 0.02,
    # output: exact journal width (no tight bbox), 300 dpi raster, editable text in PDF
    "savefig.dpi": DPI,
    "savefig.bbox": None,
    "savefig.facecolor": "white",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
}


@contextlib.contextmanager
def publication_style(**overrides) -> Iterator[None]:
    """Context manager: the publication rcParams (plus ``overrides``), restored on exit."""
    with mpl.rc_context(rc={**RC, **overrides}):
        yield


def apply_style(**overrides) -> None:
    """Apply the publication style globally (an explicit, deliberate side effect)."""
    mpl.rcParams.update({**RC, **overrides})


def new_figure(columns: float = 1, aspect: float = 0.75, *, height_mm: float | None = None) -> Figure:
    """A headless :class:`Figure` (Agg canvas, constrained layout) of journal width.

    Height is ``aspect`` x width unless ``height_mm`` is given. Call inside
    :func:`publication_style` so the figure picks up the style.
    """
    width, height = figure_size(columns, aspect)
    if height_mm is not None:
        if not height_mm > 0:
            raise ValueError(f"height_mm must be positive, got {height_mm!r}")
        height = mm_to_inch(height_mm)
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


# --- saving ----------------------------------------------------------------

def _output_base(stem) -> Path:
    path = Path(stem)
    # "fig.pdf" and "fig.png" name the same figure as "fig"; other dots are part of the name.
    if path.suffix.lower() in (".pdf", ".png"):
        path = path.with_suffix("")
    return path


def save_figure(fig: Figure, stem, *, formats: Sequence[str] = ("pdf", "png"), dpi: int = DPI,
                style: bool = True) -> list[Path]:
    """Write ``<stem>.pdf`` (vector) and ``<stem>.png`` (``dpi``) and return their paths.

    Each file is written to a temporary name in the same folder and then
    ``os.replace``-d into place, so a reader never sees a half-written figure
    and a failed save leaves any previous file untouched. Missing parent
    folders are created. With ``style`` (default) the figure is rendered under
    :func:`publication_style`.
    """
    base = _output_base(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    if fig.canvas is None or type(fig.canvas).__name__ == "FigureCanvasBase":
        FigureCanvasAgg(fig)
    written = []
    ctx = publication_style() if style else contextlib.nullcontext()
    with ctx:
        for fmt in formats:
            fmt = fmt.lower().lstrip(".")
            final = base.with_name(f"{base.name}.{fmt}")
            tmp = base.with_name(f".{base.name}.{fmt}.tmp-{os.getpid()}")
            try:
                # PDF without a creation date: identical inputs give identical files.
                metadata = {"CreationDate": None} if fmt == "pdf" else None
                fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
                os.replace(tmp, final)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            written.append(final)
    return written


# --- panel letters ---------------------------------------------------------

def panel_label(ax, letter, *, fontsize: float = PANEL_LABEL_SIZE, pad_pt: float = 2.0):
    """Bold lowercase panel letter at the top left, outside ``ax``.

    The letter sits left of the y-axis label and tick labels, its top level
    with the top of the axes (or of its title), so it never overlaps them;
    constrained layout makes room for it. ``letter`` may be a string or a
    0-based index (0 -> "a"). Returns the text artist.
    """
    if isinstance(letter, (int, np.integer)):
        if letter < 0:
            raise ValueError(f"panel index must be >= 0, got {letter}")
        letter = _index_to_letters(int(letter))
    text = str(letter).lower()

    def anchor(renderer):
        boxes = [ax.get_window_extent(renderer)]
        for extra in (ax.yaxis.get_tightbbox(renderer),
                      ax.title.get_window_extent(renderer) if ax.title.get_text() else None):
            if extra is not None and extra.width > 0 and extra.height > 0:
                boxes.append(extra)
        return Bbox.union(boxes)

    return ax.annotate(text, xy=(0, 1), xycoords=anchor, xytext=(-pad_pt, 0),
                       textcoords="offset points", ha="right", va="top",
                       fontsize=fontsize, fontweight="bold", annotation_clip=False, clip_on=False)


def _index_to_letters(i: int) -> str:
    # 0 -> a, 25 -> z, 26 -> aa, ...
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s


# --- plot helpers ----------------------------------------------------------

def raster(ax, t, i, *, time_unit: str = "s", offset: int = 0, color=None, label=None,
           marker_size: float = 2.0, rasterize_above: int = 5000, set_labels: bool = True):
    """Spike raster: spike times on x in ms, neuron index (+ ``offset``) on y.

    ``t`` is in ``time_unit`` ("s", as Brian2 stores it, or "ms"); a Brian2
    quantity array in seconds works too. With more than ``rasterize_above``
    spikes the dots are rasterized inside the PDF to keep it small.
    Returns the Line2D.
    """
    scale = {"s": 1e3, "ms": 1.0}.get(time_unit)
    if scale is None:
        raise ValueError(f"time_unit must be 's' or 'ms', got {time_unit!r}")
    t_ms = np.asarray(t, dtype=float).ravel() * scale
    idx = np.asarray(i).ravel()
    if t_ms.shape != idx.shape:
        raise ValueError(f"t and i must have the same number of spikes, got {t_ms.size} and {idx.size}")
    (line,) = ax.plot(t_ms, idx + offset, linestyle="none", marker="|", markersize=marker_size,
                      markeredgewidth=0.5, color=color if color is not None else "black", label=label,
                      rasterized=t_ms.size > rasterize_above)
    if set_labels:
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("neuron index")
    return line


def weight_histogram(ax, weights, *, bins=40, color=None, label=None, histtype: str = "step",
                     density: bool = False, set_labels: bool = True, xlabel: str = "synaptic weight"):
    """Histogram of synaptic weights (any shape, non-finite values dropped).

    Pass the same ``bins`` array to overlay several distributions. Returns
    ``(counts, bin_edges)``; an empty input draws nothing and returns empty arrays.
    """
    w = np.asarray(weights, dtype=float).ravel()
    w = w[np.isfinite(w)]
    if set_labels:
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density" if density else "count")
    if w.size == 0:
        return np.array([]), np.array([])
    fill = histtype == "stepfilled"
    counts, edges, _ = ax.hist(w, bins=bins, color=color, label=label, histtype=histtype,
                               density=density, linewidth=1.0 if not fill else LINE_WIDTH,
                               alpha=0.6 if fill else 1.0)
    return counts, edges


def text_color_for(rgba) -> str:
    """Black or white, whichever reads better on the colour ``rgba``."""
    r, g, b = to_rgb(rgba)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.45 else "white"


def heatmap(ax, matrix, *, vmin: float = 0.0, vmax: float = 1.0, cmap=SEQUENTIAL_CMAP,
            annotate: bool = True, fmt="{:.2f}", fontsize: float | None = FONT_SIZE,
            bold=None):
    """Matrix image (NaN cells in light grey) with optional per-cell value labels.

    ``fmt`` is a format string or a callable value -> str; ``bold`` is an
    optional boolean mask of cells whose label is bold;
    ``fontsize=None`` skips the labels. Returns the AxesImage.
    """
    m = np.asarray(matrix, dtype=float)
    cm = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    cm = cm.with_extremes(bad=MISSING_COLOR)
    norm = Normalize(vmin=vmin, vmax=vmax)
    im = ax.imshow(np.ma.masked_invalid(m), cmap=cm, norm=norm, aspect="auto",
                   interpolation="nearest")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    if annotate and fontsize:
        for (r, c), v in np.ndenumerate(m):
            if not np.isfinite(v):
                continue
            weight = "bold" if bold is not None and bold[r, c] else "normal"
            label = fmt(v) if callable(fmt) else fmt.format(v)
            ax.text(c, r, label, ha="center", va="center", fontsize=fontsize,
                    fontweight=weight, color=text_color_for(cm(norm(v))))
    return im


# --- text and ticks shared by the figures -----------------------------------------------

def number_text(value: float, signed: bool = False) -> str:
    """Two decimals with a true minus sign; "n/a" for NaN or inf."""
    if not np.isfinite(value):
        return "n/a"
    s = f"{value:+.2f}" if signed else f"{value:.2f}"
    return s.replace("-", "\N{MINUS SIGN}")


def metrics_text(m: dict[str, float]) -> str:
    """The four continual-learning metrics in two lines."""
    return (f"ACC {number_text(m['acc'])}   BWT {number_text(m['bwt'], True)}\n"
            f"FWT {number_text(m['fwt'], True)}   F {number_text(m['forgetting'])}")


def thin_ticks(n: int, max_labels: int) -> int:
    """Label every k-th of ``n`` ticks so at most ``max_labels`` are labelled."""
    return max(1, math.ceil(n / max_labels))
