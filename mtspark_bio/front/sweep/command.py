"""The ``mtspark-bio sweep`` command: options, checks, the sweep itself."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from mtspark_bio.errors import ResultFileError
from mtspark_bio.front.sweep.cluster import connect, slurm_cluster
from mtspark_bio.front.sweep.execution import STATUS_FAILED, execute
from mtspark_bio.front.sweep.plan import RunSpec, parse_assignments, parse_seeds, plan_runs
from mtspark_bio.front.sweep.protocols import get_protocol
from mtspark_bio.front.sweep.statistics import format_table, run_rows, summarize, write_csv


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
