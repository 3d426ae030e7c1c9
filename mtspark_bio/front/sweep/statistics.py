"""Statistics and tables over the finished runs."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from mtspark_bio.front.sweep.execution import STATUS_FAILED
from mtspark_bio.front.sweep.plan import RunSpec
from mtspark_bio.front.sweep.protocols import get_protocol


def bootstrap_ci(values, n_resamples: int = 10000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (fixed RNG seed: the same
    table always gives the same interval)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_resamples, len(values)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def summarize(rows: list[dict], by: list[str], metrics: list[str]) -> list[dict]:
    """One row per distinct value of the ``by`` columns (in first-seen order): n (runs
    with a finite value), mean, s.d. (n - 1) and 95 % bootstrap CI of each metric."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row.get("status") != STATUS_FAILED:
            groups.setdefault(tuple(row[k] for k in by), []).append(row)
    out = []
    for key, members in groups.items():
        summary = dict(zip(by, key))
        summary["n"] = len(members)
        for metric in metrics:
            values = np.array([float(r[metric]) for r in members if r.get(metric) not in (None, "")], dtype=float)
            values = values[np.isfinite(values)]
            if len(values) == 0:
                stats = (np.nan,) * 4
            else:
                sd = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
                stats = (float(values.mean()), sd, *bootstrap_ci(values))
            for suffix, value in zip(("mean", "sd", "ci_low", "ci_high"), stats):
                summary[f"{metric}_{suffix}"] = value
        out.append(summary)
    return out


def format_table(rows: list[dict], columns: list[str]) -> str:
    def cell(value):
        if isinstance(value, float):
            return "nan" if not np.isfinite(value) else f"{value:.4g}"
        return str(value)

    body = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(b[i]) for b in body]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    """Written to a temporary sibling and renamed, as the result files are."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def run_rows(runs: list[RunSpec], outcomes: dict[str, dict], keys: list[str]) -> tuple[list[dict], list[str]]:
    """One row per run and variant/agent (one row with the error for a failed run)."""
    rows, metric_names = [], []
    for spec in runs:
        outcome = outcomes[spec.name]
        base = {"run": spec.name, "seed": spec.seed, **{k: spec.settings[k] for k in keys},
                "status": outcome["status"], "error": outcome.get("error", "")}
        if outcome["status"] == STATUS_FAILED:
            rows.append({**base, "variant": ""})
            continue
        for variant, values in get_protocol(spec.protocol).metrics(Path(spec.out)).items():
            rows.append({**base, "variant": variant, **values})
            metric_names += [m for m in values if m not in metric_names]
    return rows, metric_names
