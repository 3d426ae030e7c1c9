"""The pipes between a compiled network and this process: the C++ bridge as Brian2
functions (``cpp/closed_loop_bridge.cpp``, called from ``run_regularly``) and the
:class:`PipeServer` that answers its messages while the binary runs in a thread."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

CPP_DIR = Path(__file__).parent.parent / "cpp"


def bridge_functions(project: Path) -> dict:
    """The C++ bridge as Brian2 Functions (cpp_standalone only; no Python version).

    The bridge's source is copied into the standalone ``project`` folder: the generated
    makefile compiles each source to an object file beside it, which must not land in
    the installed package (shared by concurrent builds, possibly read-only).
    """
    from brian2 import Function

    bridge_dir = Path(project) / "closed_loop_bridge"
    bridge_dir.mkdir(parents=True, exist_ok=True)
    for name in ("closed_loop_bridge.cpp", "closed_loop_bridge.h"):
        shutil.copyfile(CPP_DIR / name, bridge_dir / name)

    def unavailable(*args):
        raise NotImplementedError("the closed-loop bridge runs only in compiled code; "
                                  "the runtime device uses a network_operation")

    names = {"bridge_report": 2, "bridge_exchange": 1, "bridge_modulator": 1, "bridge_tag": 1, "bridge_drive": 1,
             "bridge_observation": 1}
    functions = {}
    for name, n_args in names.items():
        f = Function(unavailable, arg_units=[1] * n_args, return_unit=1, stateless=False)
        f.implementations.add_implementation(
            "cpp", code=None, name=name,
            compiler_kwds={"headers": ['"closed_loop_bridge.h"'], "include_dirs": [str(bridge_dir)],
                           "sources": [str(bridge_dir / "closed_loop_bridge.cpp")]})
        functions[name] = f
    return functions


class PipeServer:
    """Answers a compiled binary's bridge messages while ``run`` executes it.

    Two FIFOs in a private temporary folder; their paths and the message sizes reach
    the binary through its run's environment variables (:attr:`environment`, which
    ``Simulation.run`` sets for that run only), so several servers in one process never
    see each other's.

    ``timeout_s``: the longest the binary may stay silent (from the start of the run
    or from the last reply to its next message; also the longest it may take to open
    the reply pipe) before :meth:`serve` gives up with a TimeoutError. A healthy binary
    simulates one agent step between messages, far less than the default, which only
    stops a binary that hangs. If the binary dies, :meth:`serve` raises its run's error
    (or a RuntimeError when it died before reading a reply); it never waits forever.
    """

    #: seconds to wait for a binary to exit once its pipes were closed on a failure
    RELEASE_S = 5.0

    def __init__(self, n_out: int, n_in: int, timeout_s: float = 300.0):
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.folder = Path(tempfile.mkdtemp(prefix="mtspark-bridge-", dir=root))
        self.to_python = self.folder / "to_python"
        self.from_python = self.folder / "from_python"
        os.mkfifo(self.to_python)
        os.mkfifo(self.from_python)
        self.n_out, self.n_in = n_out, n_in
        self.timeout_s = float(timeout_s)
        self.seconds_in_handler = 0.0

    @property
    def environment(self) -> dict[str, str]:
        """What the bridge reads from its environment (``cpp/closed_loop_bridge.cpp``)."""
        return {"MTSPARK_BRIDGE_TO_PY": str(self.to_python), "MTSPARK_BRIDGE_FROM_PY": str(self.from_python),
                "MTSPARK_BRIDGE_N_OUT": str(self.n_out), "MTSPARK_BRIDGE_N_IN": str(self.n_in)}

    def _check_silence(self, since: float, what: str):
        if time.monotonic() - since > self.timeout_s:
            raise TimeoutError(f"closed loop: the compiled network {what} for {self.timeout_s:g} s "
                               "(PipeServer.timeout_s); it hangs, so the run was abandoned and its "
                               "pipes closed")

    def _open_writer(self, thread, since: float) -> int | None:
        """The reply FIFO's write end, once the binary opens its read end; None if the
        binary ended first (a blocking open would then wait forever)."""
        while True:
            try:
                writer = os.open(self.from_python, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                if not thread.is_alive():
                    return None
                self._check_silence(since, "did not open the reply pipe")
                time.sleep(0.001)
                continue
            os.set_blocking(writer, True)
            return writer

    def serve(self, run, handler):
        """Run ``run()`` (which executes the binary with :attr:`environment`,
        ``Simulation.run(inputs, environment=server.environment)``) in a thread and
        answer every message with ``handler(counts) -> (modulator, tag, drive, observation)``,
        sent back as one concatenated reply (the bridge's layout)."""
        message_size = 8 * (1 + self.n_out)
        reader = os.open(self.to_python, os.O_RDONLY | os.O_NONBLOCK)
        writer = None
        failure = []

        def target():
            try:
                run()
            except BaseException as error:  # reported in the serving thread
                failure.append(error)

        thread = threading.Thread(target=target, name="brian2-binary", daemon=True)
        thread.start()
        buffer = bytearray()
        completed = ended_early = False
        heard = time.monotonic()  # the run's start or the last reply
        try:
            while True:
                try:
                    chunk = os.read(reader, message_size - len(buffer))
                except BlockingIOError:  # the binary is connected but has not written
                    self._check_silence(heard, "sent no message")
                    select.select([reader], [], [], 0.2)
                    continue
                if not chunk:  # no writer: the binary has not started or has ended
                    if not thread.is_alive():
                        break
                    self._check_silence(heard, "sent no message")
                    time.sleep(0.0005)
                    continue
                buffer += chunk
                if len(buffer) < message_size:
                    continue
                counts = np.frombuffer(bytes(buffer), dtype=np.float64)[1:]
                buffer.clear()
                start = time.perf_counter()
                reply = handler(counts)
                self.seconds_in_handler += time.perf_counter() - start
                if writer is None:
                    writer = self._open_writer(thread, time.monotonic())
                    if writer is None:
                        ended_early = True
                        break
                payload = np.concatenate(reply).astype(np.float64).tobytes()
                view = memoryview(payload)
                try:
                    while view:
                        view = view[os.write(writer, view):]
                except BrokenPipeError:  # the binary died waiting for this reply
                    ended_early = True
                    break
                heard = time.monotonic()
            completed = True
        finally:
            os.close(reader)  # a binary still writing now gets SIGPIPE
            if writer is not None:
                os.close(writer)  # a binary still waiting for a reply reads EOF and exits
            if not completed:
                self._release_waiting_binary(thread)
                thread.join(self.RELEASE_S)  # never wait forever for a binary that hangs
            else:
                thread.join()
        if failure:
            raise failure[0]
        if ended_early:
            raise RuntimeError("closed loop: the compiled network ended without reading the reply to its "
                               "last message")

    def _release_waiting_binary(self, thread):
        # The serving loop failed (handler error, timeout, interrupt): a binary blocked
        # opening a FIFO waits until the other end appears. Open and close the other end
        # of each, so it reads EOF or gets SIGPIPE and exits (status 75).
        deadline = time.monotonic() + self.RELEASE_S
        while thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                os.close(os.open(self.to_python, os.O_RDONLY | os.O_NONBLOCK))
            with contextlib.suppress(OSError):  # ENXIO: no reader (yet)
                os.close(os.open(self.from_python, os.O_WRONLY | os.O_NONBLOCK))
            time.sleep(0.01)

    def close(self):
        shutil.rmtree(self.folder, ignore_errors=True)
