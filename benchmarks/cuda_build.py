"""Build the forgetting protocol's network with brian2cuda (compile only without a GPU).

The network is the protocol's own (protocols.forgetting: Classifier variants with
dendritic neurons, R-STDP readout, context plasticity, TimedArrays, run_regularly,
summed variables, SpikeMonitors), generated for compute capability 9.0 (H100/H200)
and compiled with nvcc. Where a GPU is present (``--run``), the binary is also run
once through Simulation.run (run_args) and its throughput printed.

    python benchmarks/cuda_build.py                  # compile for sm_90, report times
    python benchmarks/cuda_build.py --run            # on a GPU machine: also run it
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import _common


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="dendritic,point")
    parser.add_argument("--chunk", type=int, default=100, help="presentations per compiled run")
    parser.add_argument("--circuit", default="{}", help="JSON CircuitConfig overrides")
    parser.add_argument("--build-dir", type=Path, default=Path("/tmp/mtspark-cuda-forgetting"))
    parser.add_argument("--run", action="store_true", help="run once after building (needs a GPU)")
    args = parser.parse_args(argv)

    info = _common.machine()
    _common.header("brian2cuda build of the forgetting protocol's network", info)
    from mtspark_bio.cuda_device import gpu_available, nvcc_available

    if not nvcc_available():
        print("skipped: nvcc not found")
        return 0
    plan = _common.forgetting_plan({"variants": args.variants.split(","), "chunk": args.chunk,
                                    "circuit": json.loads(args.circuit)})
    start = time.perf_counter()
    runner = _common.forgetting_runner(plan, "cuda", build_dir=args.build_dir)
    build_s = time.perf_counter() - start
    exe = args.build_dir / "main"
    record = {"build_dir": str(args.build_dir), "chunk": args.chunk, "variants": args.variants,
              "circuit": dataclasses.asdict(plan.circuit), "build_s": build_s, "executable": exe.is_file(),
              "makefile_arch": "-arch=sm_90" in (args.build_dir / "makefile").read_text(),
              "gpu": gpu_available()}
    print(f"generated + compiled in {build_s:.1f} s; main exists: {exe.is_file()}; "
          f"sm_90 in makefile: {record['makefile_arch']}")
    if args.run:
        if not gpu_available():
            print("--run skipped: no GPU (nvidia-smi lists none)")
        else:
            runs = []
            for _ in range(3):
                t0 = time.perf_counter()
                order = plan.training_order(0)[:args.chunk]
                task = plan.tasks[0]
                runner._run_chunk(task.x_train[order], task.y_train[order], [0] * len(order), True)
                runs.append(time.perf_counter() - t0)
            record["run_s"] = runs
            record["samples_per_s"] = args.chunk / min(runs)
            print(f"runs {', '.join(f'{r:.2f}' for r in runs)} s -> {record['samples_per_s']:.0f} samples/s")
    runner.close()
    path = _common.write_result("cuda_build", record, info)
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
