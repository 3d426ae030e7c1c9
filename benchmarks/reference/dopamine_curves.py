"""Per-iteration Atari learning curves of Dopamine's baseline agents, as a small CSV.

Source: google/dopamine (commit 5873f54 read here), ``baselines/atari/data/<game>.json`` (the data behind the
Dopamine baselines plots): the mean training return of each of 5 runs during each
iteration of 1 M emulator frames (250 000 agent steps at frame skip 4), sticky actions
(p = 0.25), the full 18-action set, Dopamine's default hyperparameters per agent
(Castro et al. 2018, arXiv 1812.06110). This script averages the runs per iteration:

    python benchmarks/reference/dopamine_curves.py DOPAMINE_CHECKOUT/baselines/atari/data \
        > benchmarks/reference/dopamine_atari.csv

Columns: game, agent, iteration, frames_start, frames_end (emulator frames), mean and
s.d. (ddof 1) of the runs' returns, n_runs.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

GAMES = ("pong", "breakout", "enduro")
AGENTS = ("DQN", "Rainbow", "IQN")
FRAMES_PER_ITERATION = 1_000_000


def curves(data_dir: Path):
    for game in GAMES:
        returns = defaultdict(list)
        for entry in json.loads((data_dir / f"{game}.json").read_text()):
            if entry["Agent"] in AGENTS:
                returns[entry["Agent"], int(entry["Iteration"])].append(float(entry["Value"]))
        for (agent, iteration), values in sorted(returns.items(), key=lambda kv: (AGENTS.index(kv[0][0]), kv[0][1])):
            yield {"game": game, "agent": agent, "iteration": iteration,
                   "frames_start": iteration * FRAMES_PER_ITERATION,
                   "frames_end": (iteration + 1) * FRAMES_PER_ITERATION,
                   "mean": round(statistics.fmean(values), 4),
                   "sd": round(statistics.stdev(values), 4) if len(values) > 1 else "",
                   "n_runs": len(values)}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__, file=sys.stderr)
        return 2
    rows = list(curves(Path(argv[0])))
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
