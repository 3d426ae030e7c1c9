"""One run, inside a Dask worker process."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mtspark_bio.front.sweep.plan import RunSpec
from mtspark_bio.front.sweep.protocols import get_protocol


#: test hooks (environment of the worker): make the first run that logs its first
#: finished block kill its worker process (the file named is the once-only marker), or
#: make every run of one seed raise
KILL_ONCE_ENV = "MTSPARK_SWEEP_KILL_WORKER_ONCE"
FAIL_SEED_ENV = "MTSPARK_SWEEP_FAIL_SEED"
STATUS_FAILED = "failed"


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
