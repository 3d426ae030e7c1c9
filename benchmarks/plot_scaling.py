"""Figure: how the cost of the dendritic network grows with its size, per device, drawn
from network_scaling.py's results file (nothing is re-measured).

Left: wall seconds per simulated second of the simulation loop (numpy, cython: the
whole run in steady state), log-log, with a line of slope 1 through each device's
smallest size for reference. Right: synaptic events per second per core.

    python benchmarks/plot_scaling.py                      # results/network_scaling-<host>.json
    python benchmarks/plot_scaling.py results/network_scaling-vm.json -o scaling.png
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def plot(record: dict, output: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = record["rows"]
    devices = list(dict.fromkeys(r["device"] for r in rows))
    fig, (ax_cost, ax_events) = plt.subplots(1, 2, figsize=(9, 3.6))
    for device in devices:
        mine = sorted((r for r in rows if r["device"] == device), key=lambda r: r["n_hidden"])
        n = [r["n_hidden"] for r in mine]
        cost = [1 / r["realtime_sim"] for r in mine]  # wall s per simulated s
        line, = ax_cost.plot(n, cost, "o-", label=device)
        if len(n) > 1:
            ax_cost.plot([n[0], n[-1]], [cost[0], cost[0] * n[-1] / n[0]], ":", color=line.get_color(), lw=0.8)
        ax_events.plot(n, [r["events_per_core_s"] for r in mine], "o-", color=line.get_color(), label=device)
    for ax in (ax_cost, ax_events):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("hidden dendritic neurons")
    ax_cost.set_ylabel("wall s per simulated s")
    ax_cost.set_title("cost (dotted: proportional to size)", fontsize=9)
    ax_events.set_ylabel("synaptic events / s / core")
    ax_events.set_title("throughput per core", fontsize=9)
    ax_events.legend(fontsize=8, frameon=False)
    load = record["machine"]["load"]
    fig.suptitle(f"{record['machine']['cpu']}, {record['machine']['cores']} cores, load {load[0]}-"
                 f"{record['machine']['load_end'][0]} (1-min, start-end); {record['duration_ms']:g} ms simulated",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path,
                        default=RESULTS / f"network_scaling-{platform.node()}.json")
    parser.add_argument("-o", "--output", type=Path, help="PNG path (default: next to the results file)")
    args = parser.parse_args(argv)
    if not args.results.is_file():
        parser.error(f"{args.results} not found: run benchmarks/network_scaling.py first")
    record = json.loads(args.results.read_text())
    print(f"written {plot(record, args.output or args.results.with_suffix('.png'))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
