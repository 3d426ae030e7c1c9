"""Result files' spikes as Neurodata Without Borders (NWB) files (``mtspark-bio nwb``).

What a forgetting-protocol result file holds becomes, with pynwb:

* ``units``: one row per neuron of every population of every variant (columns
  ``variant``, ``population``, ``neuron_index``, and for dendritic neurons the
  context wiring ``gating_tasks`` / ``gating_segments``: the tasks whose context
  reaches the neuron's distal segments, and which segments), spike times in seconds
  on the session clock.
* ``intervals/presentations`` (``--record-spikes all`` only): one row per image
  presentation, its image window (the rest window before it is not included), with
  ``task``, ``label``, ``train``, ``block``, ``run`` and per variant
  ``<variant>_prediction`` (the readout's choice, -1 when no readout neuron fired or
  the most active tied) and ``<variant>_correct``.
* ``epochs`` (``all`` only): each training block (tag ``train``, ``task <t>``) and each
  evaluation of every task (tag ``test``), so the task switches are epochs.
* The session: the protocol's description, ``session_start_time`` the run's start
  (UTC), ``was_generated_by`` the simulator and package versions, ``notes`` the seed
  and the full configuration JSON.

Simulated data are marked in the subject (species NCBITaxon_32630 "synthetic
construct", sex "O", age "P0D", described as a simulated network), in the keywords
(``simulated data``) and in ``data_collection``.

The session clock: the protocol re-runs one compiled network once per chunk of
presentations, each run starting at t = 0; run ``r`` is placed at ``r * run_duration``
(``mtspark_bio.spike_record``). A ``--record-spikes sample`` file holds the first 2 s
of the last run only: those spikes go to ``units`` at their place on the same clock,
without presentations or epochs.
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
from pathlib import Path

import numpy as np

from mtspark_bio.errors import ConfigError, option

POPULATIONS = ("hidden", "readout")
# NCBI Taxonomy 32630, "synthetic construct": no organism was recorded
SIMULATED_SPECIES = "http://purl.obolibrary.org/obo/NCBITaxon_32630"


def read_result(path: Path) -> dict:
    """What the NWB file needs from a result file (read by
    :func:`mtspark_bio.readers.load_forgetting`); ValueError naming the problem and the
    fix when ``path`` is not a forgetting result file or holds no spikes."""
    from mtspark_bio.readers import load_forgetting, open_result
    from mtspark_bio.results import read_text_attr

    path = Path(path)
    with open_result(path) as f:
        protocol = read_text_attr(f, "protocol")
    if protocol not in (None, "forgetting"):
        raise ConfigError(f"{path} is a result file of the {protocol!r} protocol, which records no spikes; "
                          f"only 'forgetting' files (mtspark-bio forgetting) can be converted")
    stored = load_forgetting(path, recorded=True)
    result = {
        "path": path, "config": stored.config, "circuit": stored.circuit, "versions": stored.versions,
        "runs": stored.runs, "complete": stored.complete, "blocks_done": stored.blocks_done,
        "schedule": stored.schedule.tolist(), "started_utc": stored.started_utc,
        "wiring": {v: variant.wiring for v, variant in stored.variants.items() if variant.wiring},
    }
    if stored.recorded is not None:
        result.update(mode="all", **stored.recorded)
    elif all(variant.spikes for variant in stored.variants.values()):
        result["mode"] = "sample"
        result["sample"] = {v: {population: {"t": t, "i": i} for population, (t, i) in variant.spikes.items()}
                            for v, variant in stored.variants.items()}
    else:
        raise ConfigError(f"{path} holds no spikes (it was run with {option('record_spikes')} none, or did not "
                          f"finish); run the protocol with {option('record_spikes')} all (or sample) to convert it")
    return result


def _spike_times(result: dict) -> dict:
    """(variant, population) -> (times in s on the session clock, neuron indices)."""
    out = {}
    if result["mode"] == "all":
        dt = result["clock"]["dt_s"]
        for variant in result["config"]["variants"]:
            for population in POPULATIONS:
                pieces = [p[variant][population] for _, p in result["parts"] if variant in p]
                step = np.concatenate([p["step"] for p in pieces]) if pieces else np.zeros(0, np.int64)
                i = np.concatenate([p["i"] for p in pieces]) if pieces else np.zeros(0, np.int32)
                out[variant, population] = (step * dt, i)
    else:
        circuit, config = result["circuit"], result["config"]
        run_s = (config["chunk"] * (circuit["t_rest_ms"] + circuit["t_present_ms"]) + circuit["t_rest_ms"]) * 1e-3
        offset = (result["runs"] - 1) * run_s  # the sample is the first 2 s of the last run
        for variant, populations in result["sample"].items():
            for population, spikes in populations.items():
                out[variant, population] = (np.asarray(spikes["t"], float) + offset, np.asarray(spikes["i"]))
    return out


def _session(result: dict):
    from pynwb import NWBFile
    from pynwb.file import Subject

    config, versions = result["config"], result["versions"]
    started = result["started_utc"]
    if started is None:  # files written before the attribute: the file's last change
        start_time = datetime.datetime.fromtimestamp(result["path"].stat().st_mtime, datetime.timezone.utc)
    else:
        start_time = datetime.datetime.fromisoformat(started.decode() if isinstance(started, bytes) else started)
    kept = ("every spike of every compiled run" if result["mode"] == "all"
            else "a sample of the spikes: the first 2 s of the last compiled run")
    description = (f"Simulated spiking network (mtspark-bio, Brian2): the alternating-task forgetting protocol "
                   f"on {config['dataset']}, {config['tasks']} tasks x {len(result['schedule'])} blocks "
                   f"({config['schedule']}), variants {', '.join(config['variants'])}, seed {config['seed']}; "
                   f"this file holds {kept}" + ("" if result["complete"] else
                                                f" (the run stopped after {result['blocks_done']} blocks)") + ".")
    generated = [("mtspark-bio", versions.get("mtspark_bio") or "unknown"),
                 ("brian2", versions.get("brian2") or "unknown"),
                 ("pynwb", _version_of("pynwb"))]
    return NWBFile(
        session_description=description, identifier=str(uuid.uuid4()), session_start_time=start_time,
        session_id=f"forgetting-seed{config['seed']}", protocol="forgetting (protocols/forgetting.py)",
        experiment_description="Catastrophic forgetting under alternating tasks, with and without active dendrites.",
        keywords=["simulated data", "spiking neural network", "continual learning", "active dendrites"],
        data_collection=("Simulated data, not recorded from an animal: Brian2 "
                         f"{versions.get('brian2')} on the {config['device']} device, dt {config['dt_ms']} ms."),
        notes=json.dumps({"seed": config["seed"], "config": config, "circuit": result["circuit"],
                          "versions": versions}, sort_keys=True),
        was_generated_by=generated,
        subject=Subject(subject_id=f"simulated-network-seed{config['seed']}", species=SIMULATED_SPECIES, sex="O",
                        age="P0D", description=("A simulated network, no animal: the network of each variant is "
                                                "built at the session's start (age P0D) from the seed.")),
    )


def _version_of(name: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _add_units(nwbfile, result: dict) -> None:
    circuit = result["circuit"]
    sizes = {"hidden": circuit["n_hidden"], "readout": circuit["n_classes"]}
    units = nwbfile.units = _new_units(result["config"]["dt_ms"] * 1e-3)
    for (variant, population), (times, neuron) in sorted(_spike_times(result).items()):
        order = np.lexsort((times, neuron))
        times, neuron = times[order], neuron[order]
        bounds = np.searchsorted(neuron, np.arange(sizes[population] + 1))
        wiring = result["wiring"].get(variant) if population == "hidden" else None
        for n in range(sizes[population]):
            gated = (wiring["neuron"] == n) if wiring is not None else np.zeros(0, bool)
            units.add_unit(spike_times=times[bounds[n]:bounds[n + 1]], variant=variant, population=population,
                           neuron_index=n,
                           gating_tasks=wiring["task"][gated].astype(np.int64) if wiring is not None else [],
                           gating_segments=wiring["segment"][gated].astype(np.int64) if wiring is not None else [])


def _new_units(dt_s: float):
    from pynwb.misc import Units

    units = Units(name="units", resolution=dt_s,
                  description="Every neuron of the hidden and readout populations of each variant; "
                              "spike times in seconds on the session clock.")
    units.add_column("variant", "network variant: dendritic, point or shuffled (mtspark_bio.circuit.VARIANTS)")
    units.add_column("population", "hidden (dendritic or point neurons) or readout (one counting neuron per class)")
    units.add_column("neuron_index", "index of the neuron in its population")
    units.add_column("gating_tasks", "tasks whose context drives this neuron's distal segments "
                                     "(empty: point neuron or readout)", index=True)
    units.add_column("gating_segments", "the distal segment receiving each of gating_tasks", index=True)
    return units


def _add_presentations(nwbfile, result: dict) -> None:
    from pynwb.epoch import TimeIntervals

    clock, variants = result["clock"], result["config"]["variants"]
    table = TimeIntervals(name="presentations", description=(
        "Image presentations: the image window of each (a rest window of "
        f"{clock['t_rest_s'] * 1e3:g} ms precedes it), its task, label, whether it trained the network, and what "
        "each variant's readout chose."))
    table.add_column("task", "task (context) of the presentation")
    table.add_column("label", "class of the image")
    table.add_column("train", "True: a training presentation (plasticity on); False: a test presentation")
    table.add_column("block", "training block the presentation belongs to; -1: the evaluation before training")
    table.add_column("run", "index of the compiled run (chunk of presentations) that showed it")
    if "shuffled" in variants:
        table.add_column("shuffled_context", "task whose context the shuffled variant saw instead of 'task'")
    for v in variants:
        table.add_column(f"{v}_prediction", f"class chosen by the {v} readout (most spikes); -1: none fired or tied")
        table.add_column(f"{v}_correct", f"whether the {v} readout chose the label")
    dt = clock["dt_s"]
    for block, part in result["parts"]:
        p = part["presentations"]
        for k in range(len(p["label"])):
            row = {"start_time": p["start_step"][k] * dt, "stop_time": p["stop_step"][k] * dt,
                   "task": int(p["task"][k]), "label": int(p["label"][k]), "train": bool(p["train"][k]),
                   "block": block, "run": int(p["run"][k])}
            if "shuffled" in variants:
                row["shuffled_context"] = int(p["shuffled_context"][k])
            for v in variants:
                choice = int(p["prediction"][v][k])
                row[f"{v}_prediction"], row[f"{v}_correct"] = choice, choice == row["label"]
            table.add_row(**row)
    nwbfile.add_time_intervals(table)
    _add_epochs(nwbfile, result)


def _add_epochs(nwbfile, result: dict) -> None:
    """One epoch per training block and per evaluation, over whole compiled runs."""
    run_s = result["clock"]["run_duration_s"]
    for block, part in result["parts"]:
        p = part["presentations"]
        for train in (True, False):
            runs = p["run"][p["train"] == train]
            if not len(runs):
                continue
            if train:
                task = int(p["task"][p["train"]][0])
                tags = ["train", f"task {task}"]
            else:
                tags = ["test", "untrained" if block < 0 else f"after block {block}"]
            nwbfile.add_epoch(start_time=float(runs.min() * run_s), stop_time=float((runs.max() + 1) * run_s),
                              tags=tags)


def build_nwbfile(result: dict):
    """The pynwb NWBFile of a result read by :func:`read_result`."""
    nwbfile = _session(result)
    _add_units(nwbfile, result)
    if result["mode"] == "all":
        _add_presentations(nwbfile, result)
    from hdmf.backends.hdf5.h5_utils import H5DataIO

    nwbfile.units.spike_times.set_data_io(H5DataIO, {"compression": "gzip", "compression_opts": 4})
    return nwbfile


def check_output(out: Path, source: Path) -> None:
    """Refuse an ``--out`` that cannot be written, before any work."""
    out = Path(out)
    if out.exists():
        raise ConfigError(f"{option('out')} {out} exists; delete it or choose another {option('out')}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"{option('out')} {out}: its folder {folder} does not exist (or is not a folder); "
                          f"create it or choose another {option('out')}")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{option('out')} {out}: the folder {folder} is not writable; choose another {option('out')}")
    if out.resolve() == Path(source).resolve():
        raise ConfigError(f"{option('out')} is the result file itself; choose another {option('out')}")


def convert(source: Path, out: Path) -> Path:
    """Write the NWB file of result file ``source`` to ``out``: a temporary file in
    ``out``'s folder, renamed into place only when complete, so an error leaves nothing."""
    from pynwb import NWBHDF5IO

    out = Path(out)
    check_output(out, source)
    nwbfile = build_nwbfile(read_result(Path(source)))
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.nwb")
    try:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
        os.replace(tmp, out)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {option('out')} {out} ({error}); nothing was written; choose another {option('out')}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
