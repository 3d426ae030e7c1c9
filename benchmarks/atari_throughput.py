"""Agent steps per second of the Atari closed loop: compiled (cpp_standalone + C++ bridge
over named pipes) against the runtime loop (network_operation), side by side in one run.

The network is the protocol's (mtspark_bio.agent, default AgentConfig, one dendritic
agent, 20 ms of simulated time per agent step at dt = 0.25 ms); the agent trains on
Breakout (epsilon 0.1, learning on), so every step runs the environment, the
preprocessing, the TD modulator and the weight update. Each device plays ``--steps``
agent steps (runtime: ``--runtime-steps``) after one warm-up run that absorbs code
generation (runtime) and the first binary start; rates are per step, so rows compare.

Reported: steps/s, the share of wall time spent in the Python handler (environment +
agent logic) for the compiled loop, and the build time. Goal (issue 6): compiled at
least 10x the cython runtime loop.

    python benchmarks/atari_throughput.py
    python benchmarks/atari_throughput.py --devices cpp,cython --steps 4000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import _common

DEVICES = {"cpp": ("cpp", "numpy"), "numpy": ("runtime", "numpy"), "cython": ("runtime", "cython")}


def measure(device: str, steps: int, chunk_steps: int) -> dict:
    from mtspark_bio.agent import AgentConfig
    from mtspark_bio.atari import Preprocessor
    from mtspark_bio.closed_loop import AgentController, ClosedLoop

    kind, target = DEVICES[device]
    config = AgentConfig(n_features=Preprocessor("breakout").n_features, n_games=3)
    loop = ClosedLoop(config, ["dendritic"], device=kind, chunk_steps=chunk_steps, runtime_target=target)
    try:
        def play(n, seed):
            c = AgentController("breakout", config, np.random.default_rng(seed), "train", frames=4 * n,
                                epsilon=0.1, env_seed=seed)
            start = time.perf_counter()
            loop.play({"dendritic": c}, game=1)
            wall = time.perf_counter() - start
            c.close()
            return wall, c.steps

        play(min(chunk_steps - 1, steps), 0)  # warm-up: code generation, first binary start
        handler_before = loop.server.seconds_in_handler if loop.server else 0.0
        wall, n = play(steps, 1)
        handler = (loop.server.seconds_in_handler - handler_before) if loop.server else None
        return {"device": device, "steps": n, "wall_s": wall, "steps_per_s": n / wall,
                "handler_share": handler / wall if handler is not None else None,
                "build_s": loop.sim.timings["build_s"]}
    finally:
        loop.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="cpp,cython,numpy")
    parser.add_argument("--steps", type=int, default=2000, help="agent steps on the compiled device")
    parser.add_argument("--runtime-steps", type=int, default=100, help="agent steps on runtime devices")
    parser.add_argument("--chunk-steps", type=int, default=500)
    args = parser.parse_args(argv)
    info = _common.machine()
    _common.header("Atari closed loop: agent steps per second", info)
    rows = []
    for device in args.devices.split(","):
        steps = args.steps if DEVICES[device][0] != "runtime" else args.runtime_steps
        rows.append(measure(device, steps, min(args.chunk_steps, steps + 1)))
        print(f"  {device}: {rows[-1]['steps_per_s']:.1f} steps/s", flush=True)
    print(_common.table(rows, [("device", "device", "s"), ("steps", "steps", "d"), ("wall_s", "wall s", ".1f"),
                               ("steps_per_s", "steps/s", ".1f"), ("handler_share", "handler share", ".2f"),
                               ("build_s", "build s", ".1f")]))
    rates = {r["device"]: r["steps_per_s"] for r in rows}
    ratios = {f"cpp/{d}": rates["cpp"] / rates[d] for d in rates if d != "cpp" and "cpp" in rates}
    for name, ratio in ratios.items():
        print(f"{name}: {ratio:.1f}x")
    path = _common.write_result("atari_throughput", {"rows": rows, "ratios": ratios}, info)
    print(f"# written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
