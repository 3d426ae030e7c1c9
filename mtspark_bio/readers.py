"""Result files read back into objects: one reader per schema, used by the figures.

Every result file is opened through :func:`open_result`, which checks the file's seal
(its SHA-256 digest and length, ``mtspark_bio.results``) before HDF5 reads it and turns
a missing, empty, truncated, damaged or foreign file into a :class:`ResultFileError`
naming the file and the damage. ``load_forgetting`` (``mtspark-bio forgetting``),
``load_atari`` (``atari``), ``load_capacity`` (``capacity``) and ``PhysiologyResult``
(``protocol NAME``) then check the layout their protocol writes and raise
ResultFileError (a ValueError) naming what is wrong with a malformed file. The layouts
are described in ``figures/forgetting.py`` and ``figures/atari.py``.
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from mtspark_bio.errors import ConfigError, ResultFileError
from mtspark_bio.metrics import ACTIVITY, METRIC_NAMES as METRICS
from mtspark_bio.results import SEAL_MAGIC, USERBLOCK_BYTES, body_digest, read_arrays, read_text_attr, seal_line

#: Variants in this order first, any others after them alphabetically.
VARIANT_ORDER = ("dendritic", "point", "shuffled")
RANDOM = "random"
#: Agents in this order first, any others after them alphabetically.
AGENT_ORDER = ("dendritic", "point", RANDOM)


# --- opening --------------------------------------------------------------------------

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: What a damaged file can raise while HDF5 or the readers walk it.
_READ_ERRORS = (OSError, KeyError, IndexError, TypeError, AttributeError, RuntimeError, ValueError,
                UnicodeDecodeError, OverflowError)


class UnverifiedResultWarning(UserWarning):
    """A result file written before files were sealed: read, but not checked for damage."""


def verify_result_file(path) -> bool:
    """Check ``path`` before HDF5 opens it: it exists, is a file, is HDF5, and its body
    has the length and SHA-256 digest recorded in its user block. True when checked;
    False for an HDF5 file without a seal (an older result file, or not one of ours);
    ResultFileError naming what is wrong otherwise."""
    path = Path(path)
    if not path.exists():
        raise ResultFileError(f"{path} does not exist; give the path of a result file written by mtspark-bio")
    if not path.is_file():
        raise ResultFileError(f"{path} is not a file; give the path of a result file written by mtspark-bio")
    with open(path, "rb") as handle:
        head = handle.read(USERBLOCK_BYTES + len(HDF5_SIGNATURE))
        if not head:
            raise ResultFileError(f"{path} is empty (0 bytes): the copy or the run that wrote it was cut off; "
                                  f"copy it again or rerun the protocol")
        if head.startswith(HDF5_SIGNATURE):
            return False
        if not head.startswith(SEAL_MAGIC):
            if head[USERBLOCK_BYTES:] == HDF5_SIGNATURE:
                raise ResultFileError(f"{path} is damaged: its checksum header (first {USERBLOCK_BYTES} bytes) was "
                                      f"overwritten; restore it from a copy or rerun the protocol")
            raise ResultFileError(f"{path} is not an HDF5 file, so not a result file of mtspark-bio "
                                  f"(or its first bytes are damaged)")
        recorded = head[:USERBLOCK_BYTES].split(b"\0", 1)[0]
        digest, length = body_digest(handle)
    expected_length = _recorded_length(recorded)
    if expected_length is None:
        raise ResultFileError(f"{path} is damaged: its checksum header cannot be read; restore it from a copy "
                              f"or rerun the protocol")
    if length != expected_length:
        what = "truncated" if length < expected_length else "longer than written"
        raise ResultFileError(f"{path} is {what}: {length + USERBLOCK_BYTES} bytes where "
                              f"{expected_length + USERBLOCK_BYTES} were written (a copy or a disk cut it off?); "
                              f"copy it again or rerun the protocol")
    if seal_line(digest, length) != recorded:
        raise ResultFileError(f"{path} is damaged: checksum mismatch (its bytes changed after mtspark-bio wrote "
                              f"it); restore it from a copy or rerun the protocol")
    return True


def _recorded_length(recorded: bytes) -> int | None:
    """The body length a seal line records (None if it is not a well-formed line)."""
    words = recorded[len(SEAL_MAGIC):].split()
    if len(words) != 4 or words[0] != b"sha256" or words[2] != b"bytes" or not words[3].isdigit():
        return None
    return int(words[3])


@contextlib.contextmanager
def open_result(path, protocol: str | None = None) -> Iterator[h5py.File]:
    """Open result file ``path`` for reading, verified (:func:`verify_result_file`); a
    result file from before sealing is read, then warned of (UnverifiedResultWarning).

    ``protocol``: the protocol the file must hold (its root attribute ``protocol``).
    Anything that goes wrong reading the file inside the ``with`` body (HDF5 errors,
    missing groups, attributes of the wrong type) becomes a ResultFileError that names
    the file, so a damaged file is refused and never half-read.
    """
    path = Path(path)
    verified = verify_result_file(path)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ResultFileError(f"{path} cannot be opened by HDF5 ({_first_line(error)}): it is damaged or not a "
                              f"result file of mtspark-bio") from None
    with f:
        try:
            if protocol is not None:
                found = read_text_attr(f, "protocol")
                if found != protocol:
                    raise ResultFileError(f"{path} holds protocol {found!r}, not {protocol!r}")
            yield f
        except ConfigError:  # already says what is wrong
            raise
        except _READ_ERRORS as error:
            raise ResultFileError(f"{path} is damaged or not a complete result file of mtspark-bio: "
                                  f"{type(error).__name__}: {_first_line(error)}") from None
        if not verified and "protocol" in f.attrs:  # read, but one of ours from before sealing
            warnings.warn(f"{path} was written before result files carried a checksum, so damage to it "
                          f"cannot be detected", UnverifiedResultWarning, stacklevel=3)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- attributes and ordering -----------------------------------------------------------

def json_attr(obj, name) -> dict:
    """A JSON attribute as a dict ({} when absent or not an object; ValueError if not JSON)."""
    raw = read_text_attr(obj, name)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ResultFileError(f"attribute {name!r} of {obj.file.filename} is not valid JSON: {e}") from None
    return value if isinstance(value, dict) else {}


def float_attr(obj, name) -> float:
    """A numeric attribute as float (NaN when absent or not a number)."""
    try:
        return float(obj.attrs[name])
    except (KeyError, TypeError, ValueError):
        return math.nan


def order_variants(names) -> list[str]:
    """Known variants in ``VARIANT_ORDER`` first, any others alphabetically."""
    known = [n for n in VARIANT_ORDER if n in names]
    return known + sorted(n for n in names if n not in VARIANT_ORDER)


def _datasets(group) -> dict[str, np.ndarray]:
    out = {}
    group.visititems(lambda name, item: out.__setitem__(name, np.asarray(item[()]))
                     if isinstance(item, h5py.Dataset) else None)
    return out


def _block_file_header(f, path, protocol: str, group: str):
    """(config, versions, schedule) of an alternating-task result file, checked: its
    ``protocol``, a 1-D integer ``/schedule`` and at least one ``/<group>/<name>``."""
    found = read_text_attr(f, "protocol")
    if found is None:
        raise ResultFileError(f"{path} has no 'protocol' attribute, so it is not a result file of mtspark-bio")
    if found != protocol:
        raise ResultFileError(f"{path} holds protocol {found!r}, not {protocol!r}")
    config, versions = json_attr(f, "config"), json_attr(f, "versions")
    if "schedule" not in f:
        raise ResultFileError(f"{path} has no /schedule dataset")
    schedule = np.asarray(f["schedule"][()])
    if schedule.ndim != 1 or not np.issubdtype(schedule.dtype, np.integer):
        raise ResultFileError(f"{path}: /schedule must be a 1-D integer array, got {schedule.dtype} {schedule.shape}")
    if group not in f or not len(f[group]):
        raise ResultFileError(f"{path} has no /{group}/<name> groups")
    return config, versions, schedule


def flat_circuit(stored: dict) -> dict:
    """A stored CircuitConfig with its sections (``input``, ``hidden``, ``run``) opened,
    so every field is found by its name whether the file was written before the
    configuration had sections or after; the readout rule stays one entry."""
    flat = {key: value for key, value in stored.items() if key not in ("input", "hidden", "run")}
    for section in ("input", "hidden", "run"):
        flat.update(stored.get(section) or {})
    return flat


def blocks_done(R) -> int:
    """Number of blocks before the trailing all-NaN rows (blocks not run yet)."""
    finite_rows = np.flatnonzero(np.isfinite(R).any(axis=1))
    return int(finite_rows[-1]) + 1 if finite_rows.size else 0


# --- forgetting -------------------------------------------------------------------------

@dataclass
class Variant:
    name: str
    accuracy: np.ndarray                      # (n_blocks, n_tasks), NaN = not run yet
    metrics: dict[str, float]
    baseline: np.ndarray | None = None        # (n_tasks,)
    spikes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # pop -> (t [s], i)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    active_overlap: float = float("nan")      # mean Jaccard overlap of the tasks' active sets
    overlap: np.ndarray | None = None         # (n_tasks, n_tasks) Jaccard overlap, last evaluation
    # per task, last evaluation: spikes_per_presentation, ungated_share (metrics.hidden_activity),
    # synaptic_operations per image and the rate_network_macs beside them (metrics.ACTIVITY)
    activity: dict[str, np.ndarray] = field(default_factory=dict)
    wiring: dict[str, np.ndarray] = field(default_factory=dict)  # the context's synapses (i, j)
    state: dict[str, np.ndarray] = field(default_factory=dict)   # learned state to resume (state=True)
    surrogate_weights: dict[str, np.ndarray] = field(default_factory=dict)  # (state=True)


@dataclass
class ForgettingResult:
    path: Path
    config: dict
    versions: dict
    schedule: np.ndarray
    variants: dict[str, Variant]
    # the resolved CircuitConfig the run used, each field by its name (flat_circuit)
    circuit: dict = field(default_factory=dict)
    runs: int = 0                # compiled runs made so far
    blocks_done: int = -1        # finished blocks (-1: not even the baseline evaluation)
    complete: bool = False
    started_utc: str | None = None  # when the run began, kept across --resume
    build_s: float = np.nan      # build (compile) time, summed over every --resume
    elapsed_s: float = np.nan    # wall time of the blocks so far, over every --resume
    # --record-spikes all (recorded=True): {"clock": {dt_s, t_sample_s, t_rest_s,
    # run_duration_s}, "parts": [(block, {variant: {population: {step, i}}})]}
    recorded: dict | None = None

    @property
    def n_blocks(self) -> int:
        return len(self.schedule)

    @property
    def n_tasks(self) -> int:
        return next(iter(self.variants.values())).accuracy.shape[1]


def load_forgetting(h5_path, state: bool = False, recorded: bool = False) -> ForgettingResult:
    """Read and check one forgetting result file (ValueError on a malformed one). The
    one reader of its layout: figures, the sweep, capacity, NWB (``recorded``: every
    spike of ``--record-spikes all``) and ``--resume`` (``state``: what the network
    learned) read through it."""
    path = Path(h5_path)
    with open_result(path) as f:
        config, versions, schedule = _block_file_header(f, path, "forgetting", "variants")
        variants = {}
        for name in order_variants(list(f["variants"])):
            g = f["variants"][name]
            if "accuracy_matrix" not in g:
                raise ResultFileError(f"{path}: variant {name!r} has no accuracy_matrix")
            R = np.asarray(g["accuracy_matrix"][()], dtype=float)
            if R.ndim != 2 or R.shape[0] != len(schedule):
                raise ResultFileError(f"{path}: variant {name!r} accuracy_matrix has shape {R.shape}, "
                                 f"expected ({len(schedule)}, n_tasks) for {len(schedule)} scheduled blocks")
            baseline = None
            if "baseline_accuracy" in g:
                baseline = np.asarray(g["baseline_accuracy"][()], dtype=float).ravel()
                if baseline.shape != (R.shape[1],):
                    raise ResultFileError(f"{path}: variant {name!r} baseline_accuracy has shape {baseline.shape}, "
                                     f"expected ({R.shape[1]},)")
            spikes = {}
            if "spikes" in g:
                for pop, pg in g["spikes"].items():
                    if isinstance(pg, h5py.Group) and "t" in pg and "i" in pg:
                        spikes[pop] = (np.asarray(pg["t"][()], dtype=float).ravel(),
                                       np.asarray(pg["i"][()]).ravel())
            weights = _datasets(g["weights"]) if "weights" in g else {}
            variants[name] = Variant(
                name, R, {m: float_attr(g, m) for m in METRICS}, baseline, spikes, weights,
                active_overlap=float(g.attrs.get("mean_active_overlap", np.nan)),
                overlap=np.asarray(g["active_overlap"][()], dtype=float) if "active_overlap" in g else None,
                activity={key: np.asarray(g[key][()], dtype=float) for key in ACTIVITY if key in g},
                wiring=read_arrays(g["context_wiring"]) if "context_wiring" in g else {},
                state=read_arrays(g["state"]) if state and "state" in g else {},
                surrogate_weights=read_arrays(g["surrogate_weights"]) if state and "surrogate_weights" in g else {})
        circuit = flat_circuit(json_attr(f, "circuit"))
        progress = {"runs": int(f.attrs.get("runs", 0)), "blocks_done": int(f.attrs.get("blocks_done", -1)),
                    "complete": bool(f.attrs.get("complete", False)),
                    "started_utc": read_text_attr(f, "started_utc"),
                    "build_s": float(f.attrs.get("build_s", np.nan)), "elapsed_s": float(f.attrs.get("elapsed_s", np.nan))}
        if recorded and "spikes" in f and f["spikes"].attrs.get("mode") == "all":
            progress["recorded"] = {
                "clock": {key: float(f["spikes"].attrs[key]) for key in ("dt_s", "t_sample_s", "t_rest_s",
                                                                         "run_duration_s")},
                "parts": [(int(g.attrs["block"]), read_arrays(g)) for _, g in sorted(f["spikes/parts"].items())]}
    n_tasks = {v.accuracy.shape[1] for v in variants.values()}
    if len(n_tasks) != 1:
        raise ResultFileError(f"{path}: variants disagree on the number of tasks: {sorted(n_tasks)}")
    n_tasks = n_tasks.pop()
    if "n_tasks" in config and int(config["n_tasks"]) != n_tasks:
        raise ResultFileError(f"{path}: config says n_tasks={config['n_tasks']} but accuracy matrices have {n_tasks} columns")
    if schedule.size and (schedule.min() < 0 or schedule.max() >= n_tasks):
        raise ResultFileError(f"{path}: /schedule holds task indices outside 0..{n_tasks - 1}")
    return ForgettingResult(path, config, versions, schedule, variants, circuit, **progress)


# --- atari ------------------------------------------------------------------------------

@dataclass
class Agent:
    name: str
    score: np.ndarray                        # (n_blocks, n_games), NaN = not run yet
    std: np.ndarray | None                   # (n_blocks, n_games)
    baseline: np.ndarray | None              # (n_games,)
    metrics: dict[str, float]
    training_scores: np.ndarray              # (n,) raw score per training episode
    training_block: np.ndarray               # (n,) 0-based block of each episode
    raw_metrics: dict[str, float] = field(default_factory=dict)   # metrics on raw scores
    forgetting_per_game: np.ndarray | None = None                 # (n_games,) raw, NaN: last game
    final_scores: np.ndarray | None = None   # (n_games, episodes) final evaluation, NaN: not played
    episode_scores: np.ndarray | None = None  # (n_blocks, n_games, episodes) each evaluation episode
    baseline_episode_scores: np.ndarray | None = None  # (n_games, episodes) untrained evaluation
    # (n_games,) I(action; state) in bits over the final evaluation (state_dependence), NaN: not played
    action_state_bits: np.ndarray | None = None
    state: dict[str, np.ndarray] = field(default_factory=dict)  # learned state to resume (state=True)

    @property
    def learns(self) -> bool:
        return self.name != RANDOM


@dataclass
class AtariResult:
    path: Path
    config: dict
    versions: dict
    schedule: np.ndarray
    games: list[str]
    agents: dict[str, Agent]
    blocks_done: int
    complete: bool

    @property
    def n_blocks(self) -> int:
        return len(self.schedule)

    @property
    def n_games(self) -> int:
        return len(self.games)

    @property
    def learners(self) -> list[Agent]:
        return [a for a in self.agents.values() if a.learns]


def order_agents(names) -> list[str]:
    """Known agents in ``AGENT_ORDER`` first, any others alphabetically."""
    known = [n for n in AGENT_ORDER if n in names]
    return known + sorted(n for n in names if n not in AGENT_ORDER)


def _vector(g, name, path, agent, dtype=float) -> np.ndarray:
    a = np.asarray(g[name][()], dtype=dtype)
    if a.ndim > 1:
        raise ResultFileError(f"{path}: agent {agent!r} {name} must be 1-D, got shape {a.shape}")
    return a.ravel()


def load_atari(h5_path, state: bool = False) -> AtariResult:
    """Read and check one Atari result file (ValueError on a malformed one); ``state``:
    also each agent's learned state, to resume from."""
    path = Path(h5_path)
    with open_result(path) as f:
        config, versions, schedule = _block_file_header(f, path, "atari", "agents")
        n_blocks = len(schedule)
        agents = {}
        for name in order_agents(list(f["agents"])):
            g = f["agents"][name]
            if "score_matrix" not in g:
                raise ResultFileError(f"{path}: agent {name!r} has no score_matrix")
            S = np.asarray(g["score_matrix"][()], dtype=float)
            if S.ndim != 2 or S.shape[0] != n_blocks:
                raise ResultFileError(f"{path}: agent {name!r} score_matrix has shape {S.shape}, "
                                 f"expected ({n_blocks}, n_games) for {n_blocks} scheduled blocks")
            std = None
            if "score_std" in g:
                std = np.asarray(g["score_std"][()], dtype=float)
                if std.shape != S.shape:
                    raise ResultFileError(f"{path}: agent {name!r} score_std has shape {std.shape}, expected {S.shape}")
            baseline = None
            if "baseline_score" in g:
                baseline = _vector(g, "baseline_score", path, name)
                if baseline.shape != (S.shape[1],):
                    raise ResultFileError(f"{path}: agent {name!r} baseline_score has shape {baseline.shape}, "
                                     f"expected ({S.shape[1]},)")
            scores = _vector(g, "training_scores", path, name) if "training_scores" in g else np.zeros(0)
            blocks = (_vector(g, "training_block", path, name, dtype=np.int64) if "training_block" in g
                      else np.zeros(0, dtype=np.int64))
            if scores.size and blocks.size != scores.size:
                raise ResultFileError(f"{path}: agent {name!r} has {scores.size} training_scores but "
                                 f"{blocks.size} training_block entries")
            if blocks.size and scores.size and (blocks.min() < 0 or blocks.max() >= n_blocks):
                raise ResultFileError(f"{path}: agent {name!r} training_block holds blocks outside 0..{n_blocks - 1}")
            if not scores.size:
                blocks = blocks[:0]
            # files written before issue 17 hold raw metrics under the plain names
            raw = {m: float_attr(g, f"raw_{m}") for m in METRICS} if "raw_acc" in g.attrs else {}
            per_game = (_vector(g, "forgetting_per_game", path, name) if "forgetting_per_game" in g else None)
            final = (np.asarray(g["final_episode_scores"][()], dtype=float) if "final_episode_scores" in g
                     else None)
            if final is not None and (final.ndim != 2 or final.shape[0] != S.shape[1]):
                raise ResultFileError(f"{path}: agent {name!r} final_episode_scores has shape {final.shape}, "
                                 f"expected ({S.shape[1]}, episodes)")
            episodes = {key: np.asarray(g[key][()], dtype=float) if key in g else None
                        for key in ("episode_scores", "baseline_episode_scores")}
            bits = _vector(g, "final_action_state_bits", path, name) if "final_action_state_bits" in g else None
            agents[name] = Agent(name, S, std, baseline, {m: float_attr(g, m) for m in METRICS},
                                 scores, blocks, raw, per_game, final, **episodes, action_state_bits=bits,
                                 state=read_arrays(g["state"]) if state and "state" in g else {})
        n_games = {a.score.shape[1] for a in agents.values()}
        if len(n_games) != 1:
            raise ResultFileError(f"{path}: agents disagree on the number of games: {sorted(n_games)}")
        n_games = n_games.pop()
        games = [str(g) for g in config.get("games") or []]
        if games and len(games) != n_games:
            raise ResultFileError(f"{path}: config lists {len(games)} games {games} but score matrices "
                             f"have {n_games} columns")
        games = games or [f"game {j + 1}" for j in range(n_games)]
        if schedule.size and (schedule.min() < 0 or schedule.max() >= n_games):
            raise ResultFileError(f"{path}: /schedule holds game indices outside 0..{n_games - 1}")
        done_attr = f.attrs.get("blocks_done")
        complete_attr = f.attrs.get("complete")
    done = max(blocks_done(a.score) for a in agents.values())
    if done_attr is not None:
        try:
            done = int(np.clip(int(done_attr), -1, n_blocks))  # -1: not even the untrained evaluation
        except (TypeError, ValueError):
            pass
    complete = bool(complete_attr) if complete_attr is not None else done == n_blocks
    return AtariResult(path, config, versions, schedule, games, agents, done, complete)


# --- capacity ---------------------------------------------------------------------------

def load_capacity(h5_path) -> dict:
    """Read a capacity result file (ValueError on a malformed one)."""
    path = Path(h5_path)
    with open_result(path) as f:
        if read_text_attr(f, "protocol") != "capacity":
            raise ResultFileError(f"{path} holds protocol {read_text_attr(f, 'protocol')!r}, not 'capacity'")
        if "task_counts" not in f or "variants" not in f:
            raise ResultFileError(f"{path} lacks /task_counts or /variants")
        counts = np.asarray(f["task_counts"][()])
        variants = {name: {key: np.asarray(f["variants"][name][key][()], dtype=float)
                           for key in ("acc", "forgetting", "wall_s") if key in f["variants"][name]}
                    for name in order_variants(list(f["variants"]))}
        for name, values in variants.items():
            if any(len(v) != len(counts) for v in values.values()):
                raise ResultFileError(f"{path}: variant {name!r} does not have one value per task count")
        ref = f.get("published/active_dendrites_iyer2022")
        published = (np.asarray(ref["task_counts"][()]), np.asarray(ref["acc"][()])) if ref is not None else None
    return {"task_counts": counts, "variants": variants, "published": published}


# --- physiology -------------------------------------------------------------------------

class PhysiologyResult:
    """A physiology protocol's result file read into memory (``protocols/physiology.py``
    writes it): ``config``, ``published``, the key ``numbers`` and the ``data`` arrays."""

    def __init__(self, path, protocol: str):
        self.path = Path(path)
        with open_result(self.path) as f:
            found = read_text_attr(f, "protocol")
            if found != protocol:
                raise ResultFileError(f"{path}: protocol is {found!r}, expected {protocol!r}")
            self.config = json.loads(read_text_attr(f, "config", "{}"))
            self.published = json.loads(read_text_attr(f, "published", "{}"))
            self.numbers = {k: float(v) for k, v in f.attrs.items()
                            if isinstance(v, (float, np.floating))}
            self.data = read_arrays(f)

    def __getitem__(self, key):
        node = self.data
        for part in key.split("/"):
            node = node[part]
        return node


# ------------------------------------------------------------------ sweep folders

def read_csv(path: Path) -> list[dict]:
    """A sweep table (``runs.csv``, ``summary.csv``) as rows of text."""
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load_sweep(directory) -> dict:
    """The tables of a sweep folder (ValueError when one is missing or malformed)."""
    directory = Path(directory)
    for name in ("sweep.json", "runs.csv", "summary.csv"):
        if not (directory / name).is_file():
            raise ValueError(f"{directory} has no {name}; it is not a finished sweep folder")
    meta = json.loads((directory / "sweep.json").read_text())
    keys = list(meta.get("grid", {}))
    runs, summary = read_csv(directory / "runs.csv"), read_csv(directory / "summary.csv")
    metrics = [c[:-len("_mean")] for c in (summary[0] if summary else {}) if c.endswith("_mean")]
    if not metrics:
        raise ValueError(f"{directory / 'summary.csv'} holds no metric (did every run fail?)")
    return {"protocol": meta.get("protocol", ""), "keys": keys, "runs": runs, "summary": summary, "metrics": metrics}
