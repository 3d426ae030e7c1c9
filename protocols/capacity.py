"""Capacity: how average accuracy holds up as the number of tasks grows.

Methods
-------
For each task count T (default 2, 5, 10, 20) the forgetting protocol
(``protocols.forgetting``) runs T permuted-digit tasks in sequence with the same
configuration otherwise, for the dendritic and the point network. The hidden layer
scales with the number of tasks by one rule, ``n_hidden = hidden_per_task * T``
(``mtspark_bio.circuit.CircuitConfig``), so every task gets the same number of gated
neurons (``gating="partition"``: disjoint sets, one per task). Each T has its own
forgetting result file in ``<out stem>-runs/`` (resumed if interrupted); the capacity
file collects ACC and forgetting per variant and T.

Reference: active dendrites trained by backpropagation on permuted MNIST reach 97.5,
96.4, 94.6 and 92.1 % final accuracy after 2, 5, 10 and 25 tasks (Iyer et al. 2022,
Front. Neurorobot. 16:846219; their figures notebook, 8 seeds; 2 x 2048 hidden units,
full MNIST per task). Ours learns one pass of 500 digits per task with a local rule.

    mtspark-bio capacity --out results/capacity.h5 --task-counts 2,5,10,20
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mtspark_bio.errors import ConfigError, option
from mtspark_bio.results import writes_result

PROTOCOL = "capacity"
DEFAULTS = {"task_counts": [2, 5, 10, 20], "variants": ["dendritic", "point"], "train_samples": 500,
            "test_samples": 50, "epochs": 1, "evaluation": "all", "seed": 0, "device": "cpp", "circuit": {}}
#: Iyer et al. 2022, final accuracy (%) on permuted MNIST after T tasks
PUBLISHED_ACTIVE_DENDRITES = {2: 97.5, 5: 96.4, 10: 94.6, 25: 92.1, 50: 87.0, 100: 81.4}


def run_directory(out: Path) -> Path:
    return out.with_name(out.stem + "-runs")


@writes_result
def run(config: dict, out: Path, resume: bool = False, log=print) -> dict:
    """Run (or resume) every task count; returns {variant: {"acc": [...], "forgetting": [...]}}
    (draws nothing: ``mtspark_bio.figures.render(out)`` does). Holds ``out``'s
    one-writer lock throughout."""
    from mtspark_bio.experiments.forgetting import DEFAULTS as FORGETTING_DEFAULTS
    from mtspark_bio.protocols import forgetting
    from mtspark_bio.readers import open_result
    from mtspark_bio.results import atomic_h5, is_complete, package_versions, write_json_attr

    out = Path(out)
    if out.exists() and not resume:
        raise ConfigError(f"{out} exists; pass {option('resume')} to continue it or choose another {option('out')}")
    if out.exists():
        with open_result(out, PROTOCOL):  # never overwrite a damaged or foreign file
            pass
    folder = run_directory(out)
    config = {**DEFAULTS, **config}  # files written before a key existed
    started = time.perf_counter()
    per_count = {}
    for n_tasks in config["task_counts"]:
        path = folder / f"tasks-{n_tasks:03d}.h5"
        if not (path.exists() and is_complete(path)):
            log(f"--- {n_tasks} tasks -> {path}")
            forgetting.run({**FORGETTING_DEFAULTS, "n_tasks": n_tasks, "variants": config["variants"],
                            "train_samples": config["train_samples"], "test_samples": config["test_samples"],
                            "epochs": config["epochs"], "evaluation": config["evaluation"],
                            "seed": config["seed"], "device": config["device"], "circuit": config["circuit"]},
                           path, resume=path.exists(), log=log)
        per_count[n_tasks] = read_metrics(path)
    summary = {v: {key: np.array([per_count[n][v][key] for n in config["task_counts"]])
                   for key in ("acc", "forgetting", "n_hidden", "wall_s")} for v in config["variants"]}
    with atomic_h5(out) as f:
        f.attrs["protocol"] = PROTOCOL
        f.attrs["complete"] = True
        write_json_attr(f, "config", config)
        write_json_attr(f, "versions", package_versions())
        f.create_dataset("task_counts", data=np.asarray(config["task_counts"], dtype=np.int64))
        for v, values in summary.items():
            group = f.create_group(f"variants/{v}")
            for key, value in values.items():
                group.create_dataset(key, data=value)
        ref = f.create_group("published/active_dendrites_iyer2022")
        ref.create_dataset("task_counts", data=np.array(list(PUBLISHED_ACTIVE_DENDRITES)))
        ref.create_dataset("acc", data=np.array(list(PUBLISHED_ACTIVE_DENDRITES.values())) / 100)
    log(format_table(config["task_counts"], summary))
    log(f"\nwall time {time.perf_counter() - started:.0f} s; results in {out}")
    return summary


def read_metrics(path: Path) -> dict:
    """One run's ACC, forgetting and hidden size per variant, and its wall time (build
    plus blocks; the variants run in one binary, so they share it), through the
    forgetting reader."""
    from mtspark_bio.readers import load_forgetting

    result = load_forgetting(path)
    wall_s = result.build_s + result.elapsed_s
    return {name: {"acc": variant.metrics["acc"], "forgetting": variant.metrics["forgetting"],
                   "n_hidden": result.circuit["n_hidden"], "wall_s": wall_s}
            for name, variant in result.variants.items()}


def format_table(counts, summary) -> str:
    lines = [f"\n{'tasks':>6} {'hidden':>7} " + " ".join(f"{v + ' ACC':>15} {'F':>6}" for v in summary)
             + f" {'wall s':>8}"]
    for k, n in enumerate(counts):
        first = next(iter(summary.values()))
        lines.append(f"{n:6d} {int(first['n_hidden'][k]):7d} "
                     + " ".join(f"{s['acc'][k]:15.3f} {s['forgetting'][k]:6.3f}" for s in summary.values())
                     + f" {first['wall_s'][k]:8.0f}")
    return "\n".join(lines)
