"""Sweeps over seeds and settings on Dask: every run in parallel, statistics at the end.

    mtspark-bio sweep PROTOCOL --seeds 0-4 [--grid KEY=V1,V2,...]... [--set KEY=V]...
                      --out DIR [--workers N] [--scheduler ADDRESS | --slurm] [--resume]

A run is one call of a protocol (``forgetting``, ``atari`` or a physiology protocol)
with one seed and one setting. KEY is one of the protocol's own options, written as its
argparse destination (``train_samples`` for ``--train-samples``), or ``circuit.FIELD`` /
``agent.FIELD`` for a field of the JSON overrides. Every run's argument list is parsed
by the protocol's own parser and its configuration validated by the protocol's own
``Plan`` before anything starts, so bad input exits 2 and writes nothing.

Where runs go: an embedded ``distributed.LocalCluster`` by default (one single-threaded
worker process per core), a running scheduler with ``--scheduler``, or SLURM jobs
through ``dask_jobqueue.SLURMCluster`` with ``--slurm``. A run is a task that calls the
protocol's ``run`` inside the worker process (not a subprocess of it): the worker is the
unit Dask already supervises, so a crash of the run (segfault, out of memory, a killed
process) is a dead worker, which the nanny restarts and the scheduler reschedules,
with no orphan child left writing the run's file. An exception is retried with Dask's
``retries``; a worker death counts against ``distributed.scheduler.allowed-failures``,
set to the same number on the clusters the sweep starts itself. A retried run resumes
its own file from the last finished block (the protocols' ``--resume``), which gives the
same result as an uninterrupted run.

Files: ``DIR/runs/<protocol>-<hash>.h5`` (the protocol's own file, named by a hash of
its resolved configuration, seed included), ``DIR/logs/<same>.log`` (the run's output),
``DIR/sweep.json`` (the sweep's keys and runs), and at the end ``DIR/runs.csv`` (one
row per run and variant/agent) and ``DIR/summary.csv`` (one row per setting and
variant: n, mean, s.d. and a 95 % bootstrap confidence interval of the mean of every
metric). ``mtspark-bio figures DIR`` draws each metric against the grid values.

Compiled projects are not shared between runs. The forgetting and Atari networks
compile their seed in: ``CircuitConfig.seed`` / ``AgentConfig.seed`` draws the wiring
(written into the project as static arrays) and ``brian2.seed`` fixes the binary's noise,
for which Brian2 has no run-time argument. Making both run inputs would change the
protocols' results, so every run compiles its own project into its own temporary
build directory (``mtspark_bio.devices.Simulation``), and concurrent builds never share
one. Runs of one seed that differ only in settings read at run time (``train_samples``,
``test_samples``) could share a binary; they do not yet.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import hashlib
import importlib
import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mtspark_bio.errors import ResultFileError

#: protocols whose runs a sweep makes besides the physiology protocols
BLOCK_PROTOCOLS = {"forgetting": ("circuit", "mtspark_bio.circuit:CircuitConfig"),
                   "atari": ("agent", "mtspark_bio.agent:AgentConfig")}
#: options a sweep sets itself, never a KEY
RESERVED = ("out", "resume", "build_dir", "no_figure", "seed", "help")
#: test hooks (environment of the worker): make the first run that logs its first
#: finished block kill its worker process (the file named is the once-only marker), or
#: make every run of one seed raise
KILL_ONCE_ENV = "MTSPARK_SWEEP_KILL_WORKER_ONCE"
FAIL_SEED_ENV = "MTSPARK_SWEEP_FAIL_SEED"
STATUS_FAILED = "failed"


class _RaisingParser(argparse.ArgumentParser):
    """A protocol's parser that raises ValueError instead of exiting, so a bad value in one
    run's arguments is reported as the sweep's bad input."""

    def error(self, message):
        raise ValueError(message)


# ------------------------------------------------------------------ protocols

class BlockProtocol:
    """forgetting / atari: the command line's options (``mtspark_bio.front.options``), the
    library's ``Plan`` (validates; ``mtspark_bio.experiments``) and the protocol's
    ``run``; result groups under ``/variants`` or ``/agents`` with the
    continual-learning metrics as attributes."""

    def __init__(self, name: str):
        from mtspark_bio.front import options

        self.json_option, config_class = BLOCK_PROTOCOLS[name]
        self.name = name
        self.add_arguments = getattr(options, f"add_{name}_arguments")
        self.config = getattr(options, f"{name}_config")
        self.plan = importlib.import_module(f"mtspark_bio.experiments.{name}").Plan
        self.protocol = importlib.import_module(f"mtspark_bio.protocols.{name}")
        path, cls = config_class.split(":")
        self.config_class = getattr(importlib.import_module(path), cls)

    def positional(self) -> list[str]:
        return []

    def validate(self, config: dict):
        self.plan(config)

    def run(self, config: dict, out: Path, resume: bool, log):
        self.protocol.run(config, out, resume=resume, log=log)  # draws no figure

    def is_complete(self, path: Path) -> bool:
        from mtspark_bio.results import is_complete

        return is_complete(path)

    def metrics(self, path: Path) -> dict[str, dict[str, float]]:
        """{variant or agent: {metric: value}} (``mtspark_bio.readers``); forgetting adds
        the tasks' active-set overlap, Atari the metrics on raw scores (``raw_<metric>``;
        the plain ones are human-normalised) and each game's mean score after the last
        block (``final_<game>``)."""
        from mtspark_bio import readers

        if self.name == "atari":
            result = readers.load_atari(path)
            return {name: {**agent.metrics, **{f"raw_{k}": v for k, v in agent.raw_metrics.items()},
                           **{f"final_{game}": float(score) for game, score in zip(result.games, agent.score[-1])}}
                    for name, agent in result.agents.items()}
        result = readers.load_forgetting(path)
        return {name: {**variant.metrics, "active_overlap": variant.active_overlap}
                for name, variant in result.variants.items()}


class PhysiologyProtocol:
    """A physiology protocol: options ``--device`` and ``--seed``; its key numbers are the
    result file's float root attributes; the file is written once, at the end."""

    json_option = None

    def __init__(self, name: str):
        from mtspark_bio.protocols import physiology

        self.name = name
        self.physiology = physiology
        physiology.protocol_module(name)  # ValueError naming the choices

    def add_arguments(self, parser):
        from mtspark_bio.front.options import add_physiology_arguments

        add_physiology_arguments(parser)  # its first argument is the protocol's name

    def positional(self) -> list[str]:
        return [self.name]

    def config(self, args) -> dict:
        device = self.physiology.check_device(args.device or self.physiology.default_device(self.name))
        options = {k: v for k, v in vars(args).items() if k not in (*RESERVED, "device", "name") and v is not None}
        return {"device": device, "seed": args.seed, **options}

    def validate(self, config: dict):
        from mtspark_bio.front.api import ProtocolConfig

        ProtocolConfig(self.name, **config)  # device and preset, as the API checks them

    def run(self, config: dict, out: Path, resume: bool, log):
        options = {k: v for k, v in config.items() if k not in ("device", "seed")}
        self.physiology.run(self.name, out, device=config["device"], seed=config["seed"], log=log, **options)

    def is_complete(self, path: Path) -> bool:
        from mtspark_bio.readers import open_result

        if not path.exists():
            return False
        with open_result(path, self.name):  # written atomically, once: complete unless damaged
            return True

    def metrics(self, path: Path) -> dict[str, dict[str, float]]:
        from mtspark_bio.readers import PhysiologyResult

        return {"": PhysiologyResult(path, self.name).numbers}


def get_protocol(name: str):
    if name in BLOCK_PROTOCOLS:
        return BlockProtocol(name)
    from mtspark_bio.protocols.physiology import PROTOCOLS

    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; choose one of {', '.join([*BLOCK_PROTOCOLS, *PROTOCOLS])}")
    return PhysiologyProtocol(name)


def protocol_parser(protocol) -> _RaisingParser:
    parser = _RaisingParser(prog=f"mtspark-bio {protocol.name}", add_help=False)
    protocol.add_arguments(parser)
    return parser


# ------------------------------------------------------------------ planning

@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run: what a worker needs (picklable) and what the tables report."""

    protocol: str
    seed: int
    settings: dict  # KEY -> value as given on the command line (grid and --set)
    config: dict  # the protocol's resolved configuration
    name: str  # <protocol>-<hash of protocol and config>
    out: str
    log: str


def parse_seeds(text: str) -> list[int]:
    """``0-4``, ``0,2,7`` or ``0-2,9`` -> sorted distinct seeds."""
    seeds = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:  # a range; "-1" alone is a (rejected) negative seed
                first, last = (int(x) for x in part.split("-", 1))
                if last < first:
                    raise ValueError
                seeds.update(range(first, last + 1))
            else:
                seeds.add(int(part))
        except ValueError:
            raise ValueError(f"--seeds {text!r}: give seeds as 0-4, 0,2,7 or 0-2,9 (non-negative integers)") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds {text!r}: give seeds as 0-4, 0,2,7 or 0-2,9 (non-negative integers)")
    return sorted(seeds)


def parse_assignments(items, option: str, split_values: bool) -> dict[str, list[str]]:
    """``KEY=V1,V2`` (``--grid``) or ``KEY=V`` (``--set``) -> {KEY: [values]}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{option} {item!r}: write KEY=VALUE{',VALUE...' if split_values else ''}")
        values = [v.strip() for v in value.split(",")] if split_values else [value.strip()]
        if not any(values) or any(v == "" for v in values):
            raise ValueError(f"{option} {item!r}: empty value; write {key}=V1,V2,... with at least one value"
                             if split_values else f"{option} {item!r}: empty value; write {key}=VALUE")
        if len(set(values)) != len(values):
            raise ValueError(f"{option} {item!r} lists a value twice")
        if key in out:
            raise ValueError(f"{option} names {key!r} twice; give each key once")
        out[key] = values
    return out


def _field_value(config_class, option: str, field: str, text: str):
    """The JSON override value of ``config_class.field`` from its command-line text,
    checked against the field's type (a wrong type is bad input, not a crash later)."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    if field not in fields:
        raise ValueError(f"{option}.{field}: {config_class.__name__} has no field {field!r}; known: {sorted(fields)}")
    default = fields[field].default
    if fields[field].default_factory is not dataclasses.MISSING:  # a nested configuration, e.g. the readout rule
        kind = dict
    else:
        kind = type(default) if default is not dataclasses.MISSING else str
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    ok = (isinstance(value, bool) if kind is bool
          else isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float
          else isinstance(value, int) and not isinstance(value, bool) if kind is int
          else isinstance(value, kind))
    if not ok:
        raise ValueError(f"{option}.{field}={text!r}: {config_class.__name__}.{field} is of type {kind.__name__}, "
                         f"not {type(value).__name__}")
    return float(value) if kind is float else value


def run_argv(protocol, parser, settings: dict[str, str], seed: int) -> list[str]:
    """The protocol's own argument list for one run (no --out)."""
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    argv = ["--seed", str(seed)]
    overrides = {}
    for key, value in settings.items():
        prefix, dot, field = key.partition(".")
        if dot:
            if prefix != protocol.json_option:
                raise ValueError(f"key {key!r}: {protocol.name} has no JSON overrides {prefix!r}"
                                 + (f"; use {protocol.json_option}.FIELD" if protocol.json_option else ""))
            overrides[field] = _field_value(BlockProtocol(protocol.name).config_class, prefix, field, value)
            continue
        if key == "seed":
            raise ValueError("the seeds are given by --seeds, not as a key")
        if key not in actions or key in RESERVED:
            known = sorted(set(actions) - set(RESERVED))
            raise ValueError(f"unknown key {key!r} for {protocol.name}; known: {', '.join(known)}"
                             + (f", {protocol.json_option}.FIELD" if protocol.json_option else ""))
        action = actions[key]
        if action.nargs == 0:  # a flag such as --no-sticky
            if value.lower() not in ("true", "false"):
                raise ValueError(f"key {key!r} is a flag; give true or false, not {value!r}")
            argv += [action.option_strings[-1]] if value.lower() == "true" else []
        else:
            argv += [action.option_strings[-1], value]
    if overrides:
        base = settings.get(protocol.json_option, "{}")
        try:
            merged = {**json.loads(base), **overrides}
        except json.JSONDecodeError as error:
            raise ValueError(f"{protocol.json_option}={base!r} is not valid JSON ({error})") from None
        argv += [f"--{protocol.json_option}", json.dumps(merged)]
    return argv


def config_hash(protocol: str, config: dict) -> str:
    text = json.dumps({"protocol": protocol, **config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def plan_runs(protocol_name: str, seeds, grid: dict[str, list[str]], fixed: dict[str, str],
              directory: Path) -> list[RunSpec]:
    """Every (setting, seed) run, each parsed and validated by the protocol: ValueError
    (naming the key or value) before any run when one is bad."""
    protocol = get_protocol(protocol_name)
    parser = protocol_parser(protocol)
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"{', '.join(both)} given both with --grid and --set; use one")
    directory = Path(directory)
    runs, seen = [], {}
    for combination in itertools.product(*grid.values()):
        settings = {**fixed, **dict(zip(grid, combination))}
        for seed in seeds:
            argv = run_argv(protocol, parser, settings, seed)
            try:
                config = protocol.config(parser.parse_args([*protocol.positional(), "--out", "unused.h5", *argv]))
                protocol.validate(config)
            except ValueError as error:
                where = ", ".join(f"{k}={v}" for k, v in settings.items()) or "the defaults"
                raise ValueError(f"{protocol.name} with {where} (seed {seed}): {error}") from None
            name = f"{protocol.name}-{config_hash(protocol.name, config)}"
            if name in seen:
                raise ValueError(f"settings {seen[name]} and {settings} give the same run configuration; "
                                 f"list each value once")
            seen[name] = settings
            runs.append(RunSpec(protocol.name, seed, settings, config, name,
                                str(directory / "runs" / f"{name}.h5"), str(directory / "logs" / f"{name}.log")))
    return runs


# ------------------------------------------------------------------ one run (in a worker)

def execute(spec: RunSpec) -> dict:
    """Run (or resume) one run in this process; returns what the table needs. A file
    already complete is left untouched (``skipped``); an incomplete one is resumed."""
    from mtspark_bio.results import exclusive_writer

    protocol = get_protocol(spec.protocol)
    out = Path(spec.out)
    with exclusive_writer(out):  # the protocol's run takes it over; stale files are ours to remove
        return _execute_locked(spec, protocol, out)


def _execute_locked(spec: RunSpec, protocol, out: Path) -> dict:
    import brian2
    from brian2.devices.device import reinit_devices

    if out.exists() and protocol.is_complete(out):
        return {"status": "skipped", "seconds": 0.0}
    for stale in out.parent.glob(f"{out.name}.tmp-*"):  # left by a killed attempt
        stale.unlink(missing_ok=True)
    resume = out.exists()
    if os.environ.get(FAIL_SEED_ENV) == str(spec.seed):
        raise RuntimeError(f"{FAIL_SEED_ENV}={spec.seed}: this run fails on purpose (test hook)")
    kill_marker = os.environ.get(KILL_ONCE_ENV)
    reinit_devices()  # a previous run in this worker may have left a standalone device
    brian2.set_device("runtime")
    started = time.perf_counter()
    with open(spec.log, "a") as log_file:
        def log(message):
            print(message, file=log_file, flush=True)
            if kill_marker and str(message).startswith("block 1/") and _claim(kill_marker):
                os._exit(13)  # as a crash or the OOM killer would end the worker

        log(f"--- {'resuming' if resume else 'starting'} on pid {os.getpid()}: seed {spec.seed} {spec.settings}")
        protocol.run(spec.config, out, resume, log)
    return {"status": "done", "seconds": time.perf_counter() - started, "resumed": resume}


def _claim(marker: str) -> bool:
    """True for the first caller only (the marker file is created exclusively)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


# ------------------------------------------------------------------ clusters

def _worker_setup_plugin():
    """A plugin importing Brian2 when a worker starts (restarted ones included): its
    import installs a SIGINT handler, which Python allows only in a process's main
    thread, and tasks run in another thread."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class ImportBrian2(WorkerPlugin):
        name = "mtspark-bio-import-brian2"

        def setup(self, worker):
            import brian2  # noqa: F401

    return ImportBrian2()


def slurm_cluster(queue=None, walltime="01:00:00", cores=1, memory="4GB", extra=(), account=None):
    """A ``dask_jobqueue.SLURMCluster`` whose jobs each run ``cores`` single-threaded
    worker processes (one per core), as the local default does."""
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(queue=queue, account=account, walltime=walltime, cores=cores, processes=cores,
                        memory=memory, job_extra_directives=list(extra))


@contextlib.contextmanager
def connect(args, retries: int, log):
    """A Dask client on the cluster the arguments choose (closed on exit)."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    # a run on a worker that dies is rescheduled this many times, as a raised error is retried
    with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
        if args.scheduler:
            try:
                client = Client(args.scheduler, timeout="5s")
            except (OSError, TimeoutError) as error:
                raise ValueError(f"cannot reach the Dask scheduler at {args.scheduler} ({error}); start one "
                                 f"(`dask scheduler` and `dask worker ADDRESS --nthreads 1`) or drop --scheduler "
                                 f"to use this machine's cores") from None
            cluster = None
        elif args.slurm:
            cluster = slurm_cluster(args.slurm_queue, args.slurm_walltime, args.slurm_cores, args.slurm_memory,
                                    args.slurm_extra or (), args.slurm_account)
            cluster.scale(jobs=args.slurm_jobs)
            client = Client(cluster)
        else:
            workers = args.workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
            client = Client(cluster)
        try:
            client.register_plugin(_worker_setup_plugin())
            where = args.scheduler or ("SLURM" if args.slurm else f"{len(cluster.workers)} local worker processes")
            try:
                import bokeh  # noqa: F401  (the dashboard's pages need it)

                where += f"; dashboard {client.dashboard_link}"
            except ImportError:
                where += f"; dashboard {client.dashboard_link} (its pages need `pip install bokeh`)"
            log(f"Dask: {where}")
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


# ------------------------------------------------------------------ statistics and tables

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


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


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


# ------------------------------------------------------------------ the command

def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("protocol", help="forgetting, atari, or a physiology protocol (stdp-window, ...)")
    add("--seeds", required=True, help="seeds to run: 0-4, 0,2,7 or 0-2,9")
    add("--grid", action="append", metavar="KEY=V1,V2,...",
        help="values of one of the protocol's options (its name with _ for -, e.g. train_samples) or of "
             "circuit.FIELD / agent.FIELD; several --grid make a full grid")
    add("--set", action="append", metavar="KEY=V", help="a value for every run (same keys as --grid)")
    add("--out", type=Path, required=True, help="sweep folder: runs/, logs/, runs.csv, summary.csv")
    add("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    add("--retries", type=int, default=1, help="extra attempts of a run that raised or whose worker died")
    add("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786")
    add("--slurm", action="store_true", help="start workers as SLURM jobs (dask-jobqueue); DIR must be on a "
                                             "file system the nodes share")
    add("--slurm-queue", default=None, help="SLURM partition (#SBATCH -p)")
    add("--slurm-account", default=None, help="SLURM account (#SBATCH -A)")
    add("--slurm-walltime", default="01:00:00", help="wall time of each job (#SBATCH -t)")
    add("--slurm-cores", type=int, default=1, help="cores per job, one worker process each")
    add("--slurm-memory", default="4GB", help="memory per job (#SBATCH --mem)")
    add("--slurm-jobs", type=int, default=1, help="SLURM jobs to start")
    add("--slurm-extra", action="append", metavar="DIRECTIVE", help="extra #SBATCH directive, as --slurm-extra=--qos=short")
    add("--print-job-script", action="store_true", help="with --slurm: print the job script and exit")
    add("--resume", action="store_true", help="skip runs whose file is complete, continue incomplete ones")


def _check_cluster_options(args) -> None:
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1 (got {args.workers})")
    if args.retries < 0:
        raise ValueError(f"--retries must be >= 0 (got {args.retries})")
    if args.scheduler and args.slurm:
        raise ValueError("--scheduler and --slurm both choose the cluster; give one")
    if args.slurm:
        if args.slurm_cores < 1 or args.slurm_jobs < 1:
            raise ValueError("--slurm-cores and --slurm-jobs must be >= 1")
        if shutil.which("sbatch") is None and not args.print_job_script:
            raise ValueError("--slurm needs SLURM's sbatch on PATH (none here); run on the cluster's login node, "
                             "or use --print-job-script to see the job script")
    elif args.print_job_script:
        raise ValueError("--print-job-script needs --slurm")


def _check_directory(directory: Path, resume: bool) -> None:
    runs = directory / "runs"
    if not resume and runs.exists() and any(runs.iterdir()):
        raise ValueError(f"{directory} already holds a sweep (runs/ is not empty); pass --resume to continue it "
                         f"or choose another --out")
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"--out {directory} is a file; give a folder")


def sweep(args, log=print) -> int:
    """Plan, run, tabulate; the exit status is 1 if any run finally failed."""
    from mtspark_bio.results import exclusive_writer

    _check_cluster_options(args)
    if args.print_job_script:
        cluster = slurm_cluster(args.slurm_queue, args.slurm_walltime, args.slurm_cores, args.slurm_memory,
                                args.slurm_extra or (), args.slurm_account)
        log(cluster.job_script())
        cluster.close()
        return 0
    directory = Path(args.out)
    grid = parse_assignments(args.grid, "--grid", split_values=True)
    fixed = {k: v[0] for k, v in parse_assignments(args.set, "--set", split_values=False).items()}
    seeds = parse_seeds(args.seeds)
    _check_directory(directory, args.resume)
    runs = plan_runs(args.protocol, seeds, grid, fixed, directory)
    with exclusive_writer(directory / "sweep.json"):  # one sweep per folder
        _check_run_files(runs)
        return _run_sweep(args, directory, runs, seeds, grid, fixed, log)


def _check_run_files(runs: list[RunSpec]) -> None:
    """ResultFileError, before any run starts, for a run file that is damaged or of
    another protocol (a resumed sweep would otherwise fail that run in a worker)."""
    for spec in runs:
        out = Path(spec.out)
        if out.exists():
            try:
                get_protocol(spec.protocol).is_complete(out)
            except ResultFileError as error:
                raise ResultFileError(f"{error}; delete it to run seed {spec.seed} {spec.settings or ''} again")


def _run_sweep(args, directory: Path, runs: list[RunSpec], seeds, grid, fixed, log) -> int:
    from distributed import as_completed
    from tqdm import tqdm

    keys = list(grid)
    log(f"{len(runs)} runs of {args.protocol}: seeds {seeds}"
        + (f" x {' x '.join(f'{k} {v}' for k, v in grid.items())}" if grid else "")
        + (f"; fixed {fixed}" if fixed else ""))
    started = time.perf_counter()
    with connect(args, args.retries, log) as client:
        for folder in ("runs", "logs"):
            (directory / folder).mkdir(parents=True, exist_ok=True)
        with open(directory / "sweep.json", "w") as f:
            json.dump({"protocol": args.protocol, "seeds": seeds, "grid": grid, "fixed": fixed,
                       "runs": {r.name: {"seed": r.seed, "settings": r.settings} for r in runs}}, f, indent=1)
        outcomes = {}
        futures = {client.submit(execute, spec, key=f"run-{spec.name}", retries=args.retries, pure=False): spec
                   for spec in runs}
        with tqdm(total=len(runs), unit="run", desc="sweep") as bar:
            for future in as_completed(futures):
                spec = futures[future]
                try:
                    outcome = future.result()
                except Exception as error:  # raised in the run, or KilledWorker
                    outcome = {"status": STATUS_FAILED, "error": f"{type(error).__name__}: {error}".replace("\n", " ")}
                outcomes[spec.name] = outcome
                bar.update(1)
                bar.write(f"{outcome['status']:>7} seed {spec.seed} {spec.settings or ''} {spec.name}"
                          + (f" ({outcome['seconds']:.0f} s)" if outcome.get("seconds") else "")
                          + (f": {outcome['error']}" if outcome.get("error") else ""))
    rows, metrics = run_rows(runs, outcomes, keys)
    columns = ["run", "seed", *keys, "variant", "status", *metrics, "error"]
    write_csv(directory / "runs.csv", rows, columns)
    summary = summarize(rows, [*keys, "variant"], metrics)
    summary_columns = [*keys, "variant", "n"] + [f"{m}_{s}" for m in metrics for s in ("mean", "sd", "ci_low", "ci_high")]
    write_csv(directory / "summary.csv", summary, summary_columns)
    failed = [r for r in runs if outcomes[r.name]["status"] == STATUS_FAILED]
    log("\nruns (" + str(directory / "runs.csv") + ")\n" + format_table(rows, columns[1:-1]))
    log("\nsummary: mean, s.d., 95 % bootstrap CI (" + str(directory / "summary.csv") + ")\n"
        + format_table(summary, summary_columns))
    log(f"\nwall time {time.perf_counter() - started:.0f} s; {len(runs) - len(failed)} of {len(runs)} runs finished"
        + (f", {len(failed)} failed (errors in runs.csv and {directory / 'logs'})" if failed else ""))
    return 1 if failed else 0


def run_from_args(args) -> int:
    try:
        return sweep(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
