"""What every benchmark script shares: the machine record, the result file, timing.

Each script prints its table and ratios and writes ``benchmarks/results/<name>-<host>.json``
with the command line, the machine (CPU, cores, load before and after, GPU) and the
package versions, so a number is never separated from where and how it was measured.
Ratios are only meaningful between rows of one run (same machine, same load).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
if str(ROOT) not in sys.path:  # run as `python benchmarks/<script>.py` from anywhere
    sys.path.insert(0, str(ROOT))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_names() -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def machine() -> dict:
    """Where this runs; load is the 1/5/15-minute load average now."""
    return {"host": platform.node(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "load": [round(x, 2) for x in os.getloadavg()], "gpus": gpu_names(),
            "platform": platform.platform()}


def versions() -> dict:
    from mtspark_bio.results import package_versions

    out = package_versions()
    for dist in ("brian2cuda",):
        try:
            import importlib.metadata

            out[dist] = importlib.metadata.version(dist)
        except Exception:  # noqa: BLE001  (not installed)
            out[dist] = None
    return out


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children (a compiled
    binary runs as a child): on a loaded machine this measures the work done, where wall
    time also measures the other processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def write_result(name: str, data: dict, started_machine: dict) -> Path:
    """Write ``data`` with the command, machine (load at start and end) and versions."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": name, "command": command_line(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
              "machine": {**started_machine, "load_end": machine()["load"]}, "versions": versions(), **data}
    path = RESULTS / f"{name}-{started_machine['host']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=_json_default) + "\n")
    os.replace(tmp, path)
    return path


def _json_default(o):
    import numpy as np

    if isinstance(o, (np.generic, np.ndarray)):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def header(title: str, info: dict) -> None:
    print(f"# {title}")
    print(f"# {command_line()}")
    print(f"# {info['host']}: {info['cpu']}, {info['cores']} cores, load {info['load']}, "
          f"GPU: {', '.join(info['gpus']) or 'none'}")


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Rows as a fixed-width text table; columns are (key, heading, format)."""
    widths = [max(len(h), *(len(format(r.get(k), f)) if r.get(k) is not None else 1 for r in rows))
              for k, h, f in columns]
    lines = ["  ".join(h.rjust(w) for (_, h, _), w in zip(columns, widths))]
    for r in rows:
        lines.append("  ".join((format(r[k], f) if r.get(k) is not None else "-").rjust(w)
                               for (k, _, f), w in zip(columns, widths)))
    return "\n".join(lines)


def runs_with_peak_rss(sim, rss_file: Path, runs: int = 1) -> float:
    """Run a built cpp_standalone Simulation ``runs`` times, each binary under
    /usr/bin/time; the last binary's peak resident memory in MB."""
    import brian2

    brian2.prefs.devices.cpp_standalone.run_cmd_unix = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), "./main"]
    try:
        for _ in range(runs):
            sim.run()
    finally:
        brian2.prefs.devices.cpp_standalone.run_cmd_unix = "./main"
    return int(Path(rss_file).read_text().split()[-1]) / 1024


# --------------------------------------------------------------------------- forgetting
def forgetting_plan(overrides: dict | None = None):
    """The forgetting protocol's Plan (validated, data loaded) with benchmark overrides.

    The device in the plan stays 'cpp' (Plan refuses 'cuda' without a GPU); the device a
    benchmark runs on is chosen by :func:`forgetting_runner`.
    """
    from mtspark_bio.experiments.forgetting import DEFAULTS, Plan

    config = {**DEFAULTS, **(overrides or {}), "device": "cpp"}
    return Plan(config)


def forgetting_runner(plan, device: str, build_dir=None, threads: int = 1, runtime_target: str = "numpy",
                      compiler_flags: str = "vectorising", results_in_memory: bool = True):
    """The protocol's own mtspark_bio.experiments.forgetting.Runner on any device / thread count /
    runtime target / gcc flags (mtspark_bio.devices.COMPILER_FLAGS), passed as
    :class:`mtspark_bio.devices.DeviceOptions`. ``runner.sim.timings['build_s']`` is the
    generation + compile time."""
    from mtspark_bio.devices import DeviceOptions
    from mtspark_bio.experiments.forgetting import Runner

    options = DeviceOptions(device, threads=threads, runtime_target=runtime_target, compiler_flags=compiler_flags,
                            results_in_memory=results_in_memory)
    return Runner(plan, build_dir=build_dir, device=options)
