"""Where runs go: the local cluster, a scheduler, or SLURM."""

from __future__ import annotations

import contextlib
import os


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
