"""What the richer hidden code costs in simulation time (issue 28), measured side by side.

Builds the forgetting protocol's network (one Fashion-MNIST task, dendritic, cpp) twice,
with the default code and with the richer one of docs/results.md ("A richer hidden
code": 1 000 cells, regular input trains, feed-forward inhibition, ~1 400 hidden spikes
per presentation), each in a process of its own (a standalone project per process), in
the order default, rich, rich, default so a drift in the machine's load falls on both
alike, trains each on the same images, and prints presentations per second, hidden and
input spikes per presentation, and the ratio. Build (compile) times are left out.

    python benchmarks/hidden_code_cost.py --presentations 3000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

import numpy as np

RICH = {"readout": {"rule": "error_driven", "eta": 0.0025, "temperature": 0.5}, "encoding": "regular",
        "hidden_per_task": 1000, "g_ff_nS": 1.5, "g_input_to_inh_nS": 0.05, "g_inh_to_hidden_nS": 0.1}
DEFAULT = {"readout": {"rule": "error_driven"}}


def measure(name: str, data_dir: str, presentations: int, chunk: int) -> dict:
    """Train one network on ``presentations`` images; its rate and spikes per presentation."""
    from mtspark_bio.experiments.forgetting import Plan, Runner

    plan = Plan({"dataset": "fashion-mnist", "data_dir": data_dir, "n_tasks": 1, "variants": ["dendritic"],
                 "train_samples": presentations, "test_samples": 10, "chunk": chunk,
                 "circuit": {"default": DEFAULT, "rich": RICH}[name]})
    with tempfile.TemporaryDirectory() as build:
        runner = Runner(plan, build_dir=build)
        task, seconds, spikes = plan.tasks[0], 0.0, {"hidden": 0, "input": 0}
        for start in range(0, presentations, chunk):
            sl = slice(start, min(start + chunk, presentations))
            n = sl.stop - sl.start
            started = time.perf_counter()
            runner._run_chunk(task.x_train[sl], task.y_train[sl], np.zeros(n), True)
            seconds += time.perf_counter() - started
            counts = runner.variants["dendritic"].population_counts(runner.stimuli.n_presentations)
            for population in spikes:
                spikes[population] += int(counts[population][:n].sum())
        runner.close()
    return {"seconds": seconds, **{k: v / presentations for k, v in spikes.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--presentations", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--one", choices=["default", "rich"], help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.data_dir, args.presentations, args.chunk)))
        return
    found = {"default": [], "rich": []}
    for name in ("default", "rich", "rich", "default"):
        child = subprocess.run([sys.executable, __file__, "--one", name, "--data-dir", args.data_dir,
                                "--presentations", str(args.presentations), "--chunk", str(args.chunk)],
                               check=True, capture_output=True, text=True)
        found[name].append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(f"{name}: {found[name][-1]}", flush=True)
    rate = {}
    for name, runs in found.items():
        rate[name] = len(runs) * args.presentations / sum(r["seconds"] for r in runs)
        print(f"{name:>8} {json.dumps((RICH if name == 'rich' else DEFAULT))}: {rate[name]:6.1f} presentations/s, "
              f"hidden spikes {runs[0]['hidden']:7.1f}, input spikes {runs[0]['input']:6.1f} per presentation")
    print(f"rich / default time per presentation: {rate['default'] / rate['rich']:.2f}x")


if __name__ == "__main__":
    main()
