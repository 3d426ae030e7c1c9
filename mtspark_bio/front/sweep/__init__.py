"""Sweeps over seeds and settings on Dask: every run in parallel, statistics at the end.

    mtspark-bio sweep PROTOCOL --seeds 0-4 [--grid KEY=V1,V2,...]... [--set KEY=V]...
                      --out DIR [--workers N] [--scheduler ADDRESS | --slurm] [--resume]

A run is one call of a protocol (``forgetting``, ``atari`` or a physiology protocol)
with one seed and one setting. KEY is a field of the protocol's typed configuration
(``ForgettingConfig``, ``AtariConfig`` or ``ProtocolConfig`` in ``mtspark_bio.front.api``:
``train_samples``, ``sticky``, ``preset``), or ``circuit.FIELD`` / ``agent.FIELD`` for a
field of the JSON overrides. Each value is read by the field's type (a comma list for a
tuple, JSON for the overrides), and every run's typed configuration is made, and so
checked, before anything starts: bad input exits 2 and writes nothing. Workers receive
the typed configurations and run them through the API.

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
compile their seed in: ``CircuitConfig.run.seed`` / ``AgentConfig.run.seed`` draws the wiring
(written into the project as static arrays) and ``brian2.seed`` fixes the binary's noise,
for which Brian2 has no run-time argument. Making both run inputs would change the
protocols' results, so every run compiles its own project into its own temporary
build directory (``mtspark_bio.devices.Simulation``), and concurrent builds never share
one. Runs of one seed that differ only in settings read at run time (``train_samples``,
``test_samples``) could share a binary; they do not yet.

The code is split by job: ``protocols`` (what each protocol offers a sweep), ``plan``
(seeds x settings -> runs), ``execution`` (one run in a worker), ``cluster`` (local,
scheduler, SLURM), ``statistics`` (tables and bootstrap intervals) and ``command`` (the
command line).
"""

from mtspark_bio.front.sweep.cluster import connect, slurm_cluster
from mtspark_bio.front.sweep.command import add_arguments, run_from_args, sweep
from mtspark_bio.front.sweep.execution import FAIL_SEED_ENV, KILL_ONCE_ENV, STATUS_FAILED, execute
from mtspark_bio.front.sweep.plan import RunSpec, config_hash, parse_assignments, parse_seeds, plan_runs, run_values, sweep_keys
from mtspark_bio.front.sweep.protocols import BLOCK_PROTOCOLS, RESERVED, BlockProtocol, PhysiologyProtocol, get_protocol
from mtspark_bio.front.sweep.statistics import bootstrap_ci, format_table, run_rows, summarize, write_csv
from mtspark_bio.readers import read_csv

__all__ = ["BLOCK_PROTOCOLS", "FAIL_SEED_ENV", "KILL_ONCE_ENV", "RESERVED", "STATUS_FAILED", "BlockProtocol",
           "PhysiologyProtocol", "RunSpec", "add_arguments", "bootstrap_ci", "config_hash", "connect", "execute",
           "format_table", "get_protocol", "parse_assignments", "parse_seeds", "plan_runs", "read_csv",
           "run_from_args", "run_values", "run_rows", "slurm_cluster", "summarize", "sweep", "sweep_keys", "write_csv"]
