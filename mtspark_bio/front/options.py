"""The command line's options of each protocol, and the configuration they give.

Each protocol has ``add_<protocol>_arguments(parser)`` and ``<protocol>_config(args)``,
which returns the protocol's configuration dict (what its result file stores); the
command line turns that into the typed configuration of :mod:`mtspark_bio.front.api` and runs
it there, and ``mtspark-bio sweep`` parses a run's ``--grid`` / ``--set`` values with the
same parsers. Option ``--x-y`` is configuration key ``x_y`` (:mod:`mtspark_bio.errors`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mtspark_bio.errors import ConfigError, option

EVALUATION_HELP = ("all: every task's test set after every block; sampled: after each block only its task and "
                   "the next block's, every task after the last (cost linear in the number of tasks; forgetting "
                   "then counts from the task's own block)")


def _add_run_options(add, resumable: bool = True) -> None:
    add("--build-dir", type=Path, default=None, help="where the compiled project goes (temporary if unset)")
    if resumable:
        add("--resume", action="store_true", help="continue an interrupted run from its last finished block")
    add("--no-figure", action="store_true", help="skip the figure")


def _add_device_options(add, defaults: dict) -> None:
    """How a protocol's network is simulated (``mtspark_bio.devices.DeviceOptions``)."""
    from mtspark_bio.devices import COMPILER_FLAGS

    add("--device", default=defaults["device"], choices=["runtime", "cpp", "cuda"])
    add("--threads", type=int, default=defaults["threads"], help="OpenMP threads of a cpp build")
    add("--compiler-flags", default=defaults["compiler_flags"], choices=COMPILER_FLAGS,
        help="gcc flags of a cpp build: vectorising (ours) or brian2 (Brian2's defaults)")


def _json_object(text: str, key: str, example: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{option(key)} is not valid JSON ({error}); example: '{example}'") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{option(key)} must be a JSON object; example: '{example}'")
    return value


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


# ------------------------------------------------------------------ forgetting

def add_forgetting_arguments(parser: argparse.ArgumentParser) -> None:
    from mtspark_bio.experiments.forgetting import DEFAULTS, EVALUATIONS, READOUTS
    from mtspark_bio.spike_record import RECORD_SPIKES

    add = parser.add_argument
    add("--out", type=Path, default=Path("results/forgetting.h5"), help="result file (HDF5)")
    add("--dataset", default=DEFAULTS["dataset"], help="digits | mnist | fashion-mnist | cifar10")
    add("--data-dir", default=None, help="folder with the data set's standard files (not for digits)")
    add("--tasks", default=DEFAULTS["tasks"], choices=["permuted", "split"])
    add("--n-tasks", type=int, default=DEFAULTS["n_tasks"])
    add("--schedule", default=DEFAULTS["schedule"], choices=["sequential", "cycling"])
    add("--cycles", type=int, default=DEFAULTS["cycles"], help="passes through the tasks (cycling)")
    add("--variants", default=",".join(DEFAULTS["variants"]), help="comma list of dendritic,point,shuffled")
    add("--train-samples", type=int, default=DEFAULTS["train_samples"], help="training images per block")
    add("--test-samples", type=int, default=DEFAULTS["test_samples"], help="test images per task")
    add("--epochs", type=int, default=DEFAULTS["epochs"], help="passes over the training images per block")
    add("--evaluation", default=DEFAULTS["evaluation"], choices=EVALUATIONS, help=EVALUATION_HELP)
    add("--chunk", type=int, default=DEFAULTS["chunk"], help="presentations per compiled run")
    _add_device_options(add, DEFAULTS)
    add("--seed", type=int, default=DEFAULTS["seed"])
    add("--readout", default=DEFAULTS["readout"], choices=READOUTS,
        help="local: readout neurons in the network learning by a local rule (--circuit's readout, "
             "models.readout_rules: instar, error_driven or rstdp); surrogate: BPTT-trained LIF readout per block")
    add("--surrogate-epochs", type=int, default=DEFAULTS["surrogate_epochs"],
        help="passes over the block's recorded hidden activity when training the surrogate readout")
    add("--circuit", default="{}", help='JSON overrides of CircuitConfig, e.g. \'{"n_hidden": 400}\'')
    add("--record-spikes", default=DEFAULTS["record_spikes"], choices=RECORD_SPIKES,
        help="none; sample: the first 2 s of the last run; all: every spike of every run with its "
             "presentations (for mtspark-bio nwb; measured sizes: docs/results.md)")
    add("--max-spike-mb", type=float, default=DEFAULTS["max_spike_mb"],
        help="refuse --record-spikes all when its spikes are expected to pass this size")
    _add_run_options(add)


def forgetting_config(args) -> dict:
    from mtspark_bio.experiments.forgetting import DEFAULTS

    return {
        "dataset": args.dataset, "data_dir": args.data_dir, "tasks": args.tasks,
        "n_tasks": args.n_tasks, "schedule": args.schedule, "cycles": args.cycles,
        "variants": _names(args.variants),
        "train_samples": args.train_samples, "test_samples": args.test_samples,
        "epochs": args.epochs, "evaluation": args.evaluation, "chunk": args.chunk, "device": args.device,
        "threads": args.threads,
        "compiler_flags": args.compiler_flags, "seed": args.seed,
        "dt_ms": DEFAULTS["dt_ms"], "circuit": _json_object(args.circuit, "circuit", '{"n_hidden": 400}'),
        "readout": args.readout, "surrogate_epochs": args.surrogate_epochs,
        "record_spikes": args.record_spikes, "max_spike_mb": args.max_spike_mb,
    }


# ------------------------------------------------------------------ atari

def add_atari_arguments(parser: argparse.ArgumentParser) -> None:
    from mtspark_bio.experiments.atari import DEFAULTS
    from mtspark_bio.models.agent_readouts import AGENT_READOUTS

    add = parser.add_argument
    add("--out", type=Path, default=Path("results/atari.h5"), help="result file (HDF5)")
    add("--games", default=",".join(DEFAULTS["games"]), help="comma list of pong,breakout,enduro")
    add("--frames", type=int, default=DEFAULTS["frames"], help="training frames per game")
    add("--switch-every", type=int, default=DEFAULTS["switch_every"], help="frames between game switches")
    add("--eval-episodes", type=int, default=DEFAULTS["eval_episodes"], help="evaluation episodes per game and block")
    add("--final-eval-episodes", type=int, default=DEFAULTS["final_eval_episodes"],
        help="episodes per game of the final evaluation after the last block (0: none)")
    add("--eval-max-frames", type=int, default=DEFAULTS["eval_max_frames"], help="frame cap of an evaluation episode")
    add("--agents", default=",".join(DEFAULTS["agents"]), help="comma list of dendritic,point,random")
    add("--epsilon-start", type=float, default=DEFAULTS["epsilon_start"], help="training exploration at first")
    add("--epsilon-end", type=float, default=DEFAULTS["epsilon_end"], help="training exploration after the decay")
    add("--epsilon-decay", type=float, default=DEFAULTS["epsilon_decay"],
        help="fraction of each game's training frames over which epsilon falls linearly from start to end")
    add("--no-sticky", action="store_true", help="no sticky actions (Mnih et al. 2015's setting)")
    _add_device_options(add, DEFAULTS)
    add("--seed", type=int, default=DEFAULTS["seed"])
    add("--chunk-steps", type=int, default=DEFAULTS["chunk_steps"], help="agent steps per compiled run")
    add("--readout", default=DEFAULTS["readout"], choices=tuple(AGENT_READOUTS),
        help="rstdp: R-STDP output layer; surrogate: BPTT-trained dueling LIF head, DQN on each block's transitions")
    add("--agent", default="{}", help='JSON overrides of AgentConfig, its fields and its readout\'s parameters named flat, '
                               'e.g. \'{"n_hidden": 300, "eta": 0.05}\'')
    _add_run_options(add)


def atari_config(args) -> dict:
    from mtspark_bio.experiments.atari import DEFAULTS

    return {**DEFAULTS, "games": args.games.split(","), "frames": args.frames, "switch_every": args.switch_every,
            "eval_episodes": args.eval_episodes, "final_eval_episodes": args.final_eval_episodes,
            "eval_max_frames": args.eval_max_frames,
            "agents": _names(args.agents), "epsilon_start": args.epsilon_start, "epsilon_end": args.epsilon_end,
            "epsilon_decay": args.epsilon_decay, "device": args.device, "threads": args.threads,
            "compiler_flags": args.compiler_flags,
            "seed": args.seed, "sticky": not args.no_sticky, "chunk_steps": args.chunk_steps,
            "agent": _json_object(args.agent, "agent", '{"n_hidden": 300}'), "readout": args.readout}


# ------------------------------------------------------------------ capacity

def add_capacity_arguments(parser: argparse.ArgumentParser) -> None:
    from mtspark_bio.experiments.forgetting import EVALUATIONS
    from mtspark_bio.protocols.capacity import DEFAULTS

    add = parser.add_argument
    add("--out", type=Path, default=Path("results/capacity.h5"), help="capacity result file (HDF5)")
    add("--task-counts", default=",".join(map(str, DEFAULTS["task_counts"])), help="comma list of task counts")
    add("--variants", default=",".join(DEFAULTS["variants"]), help="comma list of dendritic,point,shuffled")
    add("--train-samples", type=int, default=DEFAULTS["train_samples"], help="training images per block")
    add("--test-samples", type=int, default=DEFAULTS["test_samples"], help="test images per task")
    add("--epochs", type=int, default=DEFAULTS["epochs"], help="passes over the training images per block")
    add("--evaluation", default=DEFAULTS["evaluation"], choices=EVALUATIONS, help=EVALUATION_HELP)
    add("--seed", type=int, default=DEFAULTS["seed"])
    add("--device", default=DEFAULTS["device"], choices=["runtime", "cpp"])
    add("--circuit", default="{}", help="JSON overrides of CircuitConfig, as for forgetting")
    add("--resume", action="store_true", help="continue: finished task counts are read, unfinished ones resumed")
    add("--no-figure", action="store_true", help="skip the figure")


def capacity_config(args) -> dict:
    try:
        counts = sorted({int(c) for c in args.task_counts.split(",") if c.strip()})
    except ValueError:
        raise ConfigError(f"{option('task_counts')} must be a comma list of integers, "
                          f"got {args.task_counts!r}") from None
    return {"task_counts": counts, "variants": _names(args.variants),
            "train_samples": args.train_samples, "test_samples": args.test_samples, "epochs": args.epochs,
            "evaluation": args.evaluation, "seed": args.seed, "device": args.device, "circuit": _json_object(args.circuit, "circuit", '{"n_hidden": 400}')}


# ------------------------------------------------------------------ physiology

def add_physiology_arguments(parser: argparse.ArgumentParser) -> None:
    from mtspark_bio.protocols.physiology import PROTOCOLS

    # the name is validated by the configuration, so an unknown name gives our message and exit 2
    parser.add_argument("name", help=f"one of {', '.join(PROTOCOLS)} (listed above)")
    parser.add_argument("--out", type=Path, required=True, help="result file (.h5)")
    parser.add_argument("--device", default=None,
                        help="runtime or cpp (default: runtime; cpp for distal-reward)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default=None,
                        help="a protocol's parameter preset (distal-reward: full or quick; "
                             "stdp-window: song or bi-poo)")
    parser.add_argument("--no-figure", action="store_true", help="skip the figure")
