"""Every spike of a protocol run, with the presentations that caused it (``--record-spikes all``).

A protocol re-runs one compiled network chunk by chunk, each run starting again at
t = 0. The recorder puts each run on one session clock, run ``r`` starting at
``r * run_duration``, and stores times as integer time steps on that clock, so they
are exact and compress well. It keeps one *part* of the run in memory at a time (the
untrained evaluation, then each block: its training and its evaluation); the result
file, rewritten atomically after every block, takes the pending part and copies the
parts already on disk from the previous file, so memory stays at one block's spikes.

Layout under the result file's ``/spikes`` group (attributes ``mode``, ``dt_s``,
``t_sample_s``, ``t_rest_s``, ``run_duration_s``)::

    parts/<NN>/                       attribute block (-1: the untrained evaluation)
        <variant>/<population>/step   session time step of each spike (int64)
        <variant>/<population>/i      neuron index (int32)
        presentations/run, start_step, stop_step, task, shuffled_context, label, train
        presentations/prediction/<variant>   readout's class, -1 if none or tied

``start_step``/``stop_step`` bound the image window of each presentation (its rest
window precedes it); ``shuffled_context`` is the task whose context the shuffled
control saw (the other variants see ``task``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mtspark_bio.errors import ConfigError, option

RECORD_SPIKES = ("none", "sample", "all")
# int64 session step + int32 neuron index: what one spike costs in memory and, before
# compression, on disk
BYTES_PER_SPIKE = 12
# Mean firing rates (Hz per neuron, over presentations and rests) used to size a
# recording before it runs: upper bounds over what the main job fires (docs/results.md,
# "Measurements behind the defaults"), so the estimate errs towards refusing.
EXPECTED_RATE_HZ = {"hidden": 6.0, "readout": 500.0}
DEFAULT_MAX_SPIKE_MB = 2000.0
COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


def expected_spike_bytes(simulated_s: float, sizes: dict[str, int], n_variants: int) -> float:
    """Bytes that ``--record-spikes all`` is expected to hold for ``simulated_s`` seconds
    of every variant, ``sizes`` mapping each population to its number of neurons."""
    per_second = sum(EXPECTED_RATE_HZ[population] * n for population, n in sizes.items())
    return simulated_s * per_second * n_variants * BYTES_PER_SPIKE


def check_fits(total_bytes: float, part_bytes: float, max_mb: float, out: Path) -> None:
    """Refuse a recording whose file would pass ``max_mb``, or whose largest part
    (one block) would not fit in memory or on the disk holding ``out``."""
    mb = total_bytes / 1e6
    fix = (f"record fewer presentations ({option('train_samples')}, {option('test_samples')}, "
           f"{option('n_tasks')}), keep only a sample ({option('record_spikes')} sample)")
    if mb > max_mb:
        raise ConfigError(f"{option('record_spikes')} all would store about {mb:.0f} MB of spikes, over "
                          f"{option('max_spike_mb')} {max_mb:g}; {fix} or raise {option('max_spike_mb')}")
    try:
        free_memory = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        free_memory = None
    if free_memory is not None and 2 * part_bytes > free_memory:
        raise ConfigError(f"{option('record_spikes')} all holds one block's spikes in memory, about "
                          f"{part_bytes / 1e6:.0f} MB, and only {free_memory / 1e6:.0f} MB are free; {fix}")
    folder = Path(out).resolve().parent
    while not folder.exists():
        folder = folder.parent
    free_disk = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    # the file is rewritten beside itself after each block: old and new copies at once
    if 2 * total_bytes > free_disk:
        raise ConfigError(f"{option('record_spikes')} all needs up to {2 * mb:.0f} MB free beside {out} "
                          f"(file and its atomic rewrite) and {folder} has {free_disk / 1e6:.0f} MB; {fix} "
                          f"or choose another {option('out')}")


class SpikeRecorder:
    """Collects every spike of named monitors, run by run, into parts (see module doc)."""

    def __init__(self, dt_s: float, run_duration_s: float, t_sample_s: float, t_rest_s: float):
        self.dt_s = dt_s
        self.steps_per_run = int(round(run_duration_s / dt_s))
        self.steps_per_sample = int(round(t_sample_s / dt_s))
        self.rest_steps = int(round(t_rest_s / dt_s))
        self.attrs = {"mode": "all", "dt_s": dt_s, "t_sample_s": t_sample_s, "t_rest_s": t_rest_s,
                      "run_duration_s": run_duration_s}
        self.pending: dict[int, dict] = {}  # part -> {"spikes": {(variant, pop): [(step, i)]}, "presentations": [...]}

    def add_run(self, part: int, run_index: int, monitors: dict, presentations: dict) -> None:
        """One run's spikes (``monitors``: (variant, population) -> SpikeMonitor) and its
        presentations (arrays task, shuffled_context, label, train; dict prediction)."""
        entry = self.pending.setdefault(part, {"spikes": {}, "presentations": []})
        offset = run_index * self.steps_per_run
        for key, monitor in monitors.items():
            step = np.round(np.asarray(monitor.t_[:]) / self.dt_s).astype(np.int64) + offset
            # a copy: on the runtime device monitor.i is a view that the next run overwrites
            entry["spikes"].setdefault(key, []).append((step, np.array(monitor.i[:], dtype=np.int32)))
        n = len(presentations["label"])
        start = offset + np.arange(n, dtype=np.int64) * self.steps_per_sample
        entry["presentations"].append({**presentations, "run": np.full(n, run_index, dtype=np.int64),
                                       "start_step": start + self.rest_steps,
                                       "stop_step": start + self.steps_per_sample})

    def write(self, f, previous: Path | None) -> None:
        """Write ``/spikes`` into the open result file ``f``: the parts of the previous
        file ``previous`` (if it exists), then the pending ones."""
        from mtspark_bio.readers import open_result

        group = f.require_group("spikes")
        group.attrs.update(self.attrs)
        parts = group.require_group("parts")
        if previous is not None and Path(previous).exists():
            with open_result(previous) as old:
                for key, item in old.get("spikes/parts", {}).items():
                    if int(key) not in self.pending:
                        old.copy(item, parts, name=key)
        for part, entry in self.pending.items():
            g = parts.create_group(f"{part:02d}")
            g.attrs["block"] = part - 1
            for (variant, population), pieces in entry["spikes"].items():
                pg = g.require_group(f"{variant}/{population}")
                _dataset(pg, "step", np.concatenate([s for s, _ in pieces]))
                _dataset(pg, "i", np.concatenate([i for _, i in pieces]))
            pres = g.create_group("presentations")
            rows = entry["presentations"]
            for key in rows[0]:
                if key == "prediction":
                    for variant in rows[0][key]:
                        _dataset(pres.require_group("prediction"), variant,
                                 np.concatenate([r[key][variant] for r in rows]).astype(np.int64))
                else:
                    _dataset(pres, key, np.concatenate([np.asarray(r[key]) for r in rows]))

    def written(self) -> None:
        """The pending parts are on disk: free them."""
        self.pending.clear()


def _dataset(group, name, data):
    group.create_dataset(name, data=data, **(COMPRESSION if data.size > 1 else {}))
