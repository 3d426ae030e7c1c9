"""The block loop shared by the alternating-task protocols (forgetting, atari).

A protocol trains in blocks and evaluates every task after every block; its result
file is rewritten atomically after each block, so an interrupted run keeps every
finished block and ``--resume`` continues from ``blocks_done``. A protocol supplies a
result object (``blocks_done``, ``path``, ``record(block, values)``, ``save(runner,
final)``) and a runner (``train(block)``); block -1 is the evaluation before any
training. :func:`run_protocol` is the whole run both protocols make, around what each
adds (:class:`BlockProtocol`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from mtspark_bio.errors import ConfigError, ResultFileError, option


def stored_config(path: Path, protocol: str) -> dict:
    """The configuration a ``protocol`` result file was run with (to resume it)."""
    from mtspark_bio.readers import open_result
    from mtspark_bio.results import read_json_attr, read_text_attr

    try:
        with open_result(path) as f:
            found = read_text_attr(f, "protocol")
            if found != protocol:
                what = (f"is a result file of the {found!r} protocol" if found is not None
                        else "has no 'protocol' attribute, so it is not a result file")
                raise ConfigError(f"{option('resume')}: {path} {what}, not one of the {protocol!r} protocol; "
                                  f"it was left as it is; choose another {option('out')}")
            if "config" not in f.attrs:
                raise ConfigError(f"{option('resume')}: {path} stores no configuration (attribute 'config') "
                                  f"to resume; it was left as it is; choose another {option('out')}")
            config = read_json_attr(f, "config")
    except ResultFileError as error:
        problem = str(error).removeprefix(f"{path} ")
        raise ResultFileError(f"{option('resume')}: cannot read {path} to resume: {problem}; it was left as it is; "
                              f"delete it or choose another {option('out')}") from None
    if not isinstance(config, dict):
        raise ResultFileError(f"{option('resume')}: {path} stores no configuration as a JSON object; "
                              f"it was left as it is; choose another {option('out')}")
    return config


def resolve_output(out: Path, resume: bool, protocol: str, config: dict, defaults: dict, log) -> dict:
    """Check ``--out`` / ``--resume`` before anything runs; returns the configuration
    to run (the one stored in ``out`` when resuming).

    ``config`` is what was asked for and ``defaults`` what asking for nothing gives; a
    resumed run refuses every option that was changed from its default to a value other
    than the stored one, since it would otherwise be silently ignored.
    """
    if resume:
        if not out.exists():
            raise ConfigError(f"{option('resume')}: there is no {out} to resume; run without {option('resume')}")
        stored = stored_config(out, protocol)
        refuse_changed_options(out, stored, config, defaults)
        log(f"resuming {out} with its stored configuration")
        return stored
    if out.exists():
        raise ConfigError(f"{out} exists; pass {option('resume')} to continue it or choose another {option('out')}")
    return config


def refuse_changed_options(out: Path, stored: dict, config: dict, defaults: dict) -> None:
    """ValueError naming each option of ``config`` that differs from its default and
    from the configuration ``stored`` in ``out`` (values compared as stored, in JSON)."""
    from mtspark_bio.results import json_roundtrip

    as_stored = json_roundtrip(config)
    as_default = json_roundtrip(defaults)
    changed = [f"{option(key)}: stored {stored.get(key)!r}, requested {value!r}"
               for key, value in as_stored.items()
               if value != as_default.get(key) and value != stored.get(key)]
    if changed:
        raise ConfigError(f"{option('resume')}: {out} was run with other options ({'; '.join(changed)}); "
                          f"resume it without them, or run them into another {option('out')}")


class BlockRecord:
    """What a protocol's result object shares: ``plan`` (``config``, ``schedule``),
    ``blocks_done``, ``baseline`` (name -> the untrained evaluation) and
    :meth:`per_block` (name -> array whose row ``b`` is block b's)."""

    def per_block(self) -> dict:
        raise NotImplementedError

    def write_header(self, f, protocol: str, model_key: str, model, final: bool):
        """The root of the result file: protocol, configuration, the model's dataclass
        (``circuit`` / ``agent_config``), versions, progress and the schedule."""
        import dataclasses

        import numpy as np

        from mtspark_bio.results import package_versions, write_json_attr

        f.attrs["protocol"] = protocol
        write_json_attr(f, "config", self.plan.config)
        write_json_attr(f, model_key, dataclasses.asdict(model))
        write_json_attr(f, "versions", package_versions())
        f.attrs["blocks_done"] = self.blocks_done
        f.attrs["complete"] = final
        f.create_dataset("schedule", data=np.asarray(self.plan.schedule, dtype=np.int64))

    def record(self, block: int, values: dict):
        """Store an evaluation of every variant or agent: block -1 is the untrained one."""
        for name, value in values.items():
            if block < 0:
                self.baseline[name] = value
            else:
                self.per_block()[name][block] = value


def run_blocks(result, runner, n_blocks: int, evaluate, describe, log) -> None:
    """Untrained evaluation (once), then train, evaluate and save each remaining block.

    A fresh run saves its empty result first (``blocks_done`` -1), so even a run
    interrupted during the untrained evaluation leaves a file to ``--resume``.

    ``evaluate(block)`` returns what ``result.record`` stores; ``describe(block)`` is the
    block's progress line.
    """
    if result.blocks_done < 0:
        # a file to --resume from even if the untrained evaluation is interrupted
        result.save(runner)
        result.record(-1, evaluate(-1))
        result.blocks_done = 0
        result.save(runner)
    for block in range(result.blocks_done, n_blocks):
        started = time.perf_counter()
        runner.train(block)
        result.record(block, evaluate(block))
        result.blocks_done = block + 1
        result.save(runner, final=block + 1 == n_blocks)
        log(f"block {block + 1}/{n_blocks} {describe(block)}  [{time.perf_counter() - started:.0f} s]")


def report(table: str, out: Path, started: float, log) -> None:
    """Print the result table and the wall time (figures are the caller's business:
    the front layer draws them from the saved file)."""
    log(table)
    log(f"\nwall time {time.perf_counter() - started:.0f} s; results in {out}")


@dataclass(frozen=True)
class BlockProtocol:
    """What one block protocol adds to the skeleton :func:`run_protocol` runs.

    ``experiment`` is its module in ``mtspark_bio.experiments`` (``DEFAULTS``, ``Plan``,
    ``Runner``, ``ResultFile``, ``format_table``); the callables say what differs: the
    line shown while building, the build time (None: nothing was built), each block's
    progress line, each evaluation, a check before anything is built and a step after
    the last block."""

    name: str
    experiment: ModuleType
    building: Callable  # (plan) -> str
    built_seconds: Callable  # (runner) -> float | None
    describe: Callable  # (result, plan) -> (block -> str)
    evaluate: Callable  # (result, runner) -> (block -> what result.record stores)
    check: Callable | None = None  # (plan, out) -> None, raises ConfigError
    finish: Callable | None = None  # (result, runner, log) -> None


def run_protocol(protocol: BlockProtocol, config: dict, out: Path, resume: bool, build_dir, log, plan=None):
    """The run every block protocol makes: resolve ``--out`` / ``--resume``, plan (which
    validates before anything is built), build once, run the remaining blocks saving
    after each, finish, report. ``plan``: one already built for ``config``; a resumed run
    with another stored configuration builds its own. Returns the result file."""
    from mtspark_bio.progress import Progress
    from mtspark_bio.results import is_complete

    experiment = protocol.experiment
    config = resolve_output(out, resume, protocol.name, config, experiment.DEFAULTS, log)
    if plan is None or plan.config != {**experiment.DEFAULTS, **config}:
        plan = experiment.Plan(config)  # validates and loads data before any simulation
    if resume and is_complete(out):  # nothing to run: no network to build
        result = experiment.ResultFile(out, plan)
        result.load()
        log(experiment.format_table(result))
        return result
    if protocol.check is not None:
        protocol.check(plan, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log(protocol.building(plan))
    progress = Progress(log)
    runner = experiment.Runner(plan, build_dir=build_dir, progress=progress)
    try:
        if (seconds := protocol.built_seconds(runner)) is not None:
            log(f"built in {seconds:.1f} s")
        result = experiment.ResultFile(out, plan)
        if resume:
            result.load(runner)
        run_blocks(result, runner, len(plan.schedule), protocol.evaluate(result, runner),
                   protocol.describe(result, plan), log)
        if protocol.finish is not None:
            protocol.finish(result, runner, log)
    finally:
        progress.close()
        runner.close()
    report(experiment.format_table(result), out, started, log)
    return result
