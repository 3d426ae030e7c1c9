"""Choose a Brian2 device and run one network many times.

A protocol builds its network once and then runs it again and again — one run per chunk
of stimuli — with new TimedArray contents and with the state it wants to keep (weights,
running averages) carried from run to run. :class:`Simulation` gives that one interface
on three devices:

* ``runtime`` — Brian2's runtime mode (numpy, or cython with ``runtime_target``). The
  state after building is stored; every run restores it, writes the inputs into the
  objects, and runs. The reference implementation.
* ``cpp`` — cpp_standalone. The project is compiled once; every run re-executes the
  binary with ``run_args`` (new TimedArray values, carried variables) instead of
  recompiling (Brian2 >= 2.6).
* ``cuda`` — brian2cuda's cuda_standalone, the same way; it compiles for a named compute
  capability even where no GPU is present (see ``mtspark_bio.cuda_device``).

Every run starts at t = 0 with the stored initial state, so a run is a pure function of
its inputs: this is what makes runtime and compiled runs comparable, and resumed
protocols identical to uninterrupted ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtspark_bio.errors import option

DEVICES = ("runtime", "cpp", "cuda")


# Brian2's defaults end in -fno-finite-math-only, which keeps __FAST_MATH__ undefined
# and with it glibc's vectorised exp (libmvec); and gcc stops vectorising a loop that
# needs more than 10 run-time alias checks, as the dendritic state update does. Our
# models produce no inf or nan, so dropping the flag changes no result.
VECTORISING_PARAM = "--param=vect-max-version-for-alias-checks=200"


# Brian2 2.10.1's default codegen.cpp.extra_compile_args_gcc (unix)
BRIAN2_GCC_FLAGS = ("-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native", "-std=c++11")
# "brian2" keeps Brian2's own flags, for side-by-side benchmarks and for checking that
# the vectorised build gives the same spikes (tests/test_devices.py).
COMPILER_FLAGS = ("vectorising", "brian2")


def vectorising_gcc_flags() -> list[str]:
    """Brian2 2.10.1's default gcc flags without -fno-finite-math-only, plus a larger
    alias-check budget for the vectoriser."""
    return [f for f in BRIAN2_GCC_FLAGS if f != "-fno-finite-math-only"] + [VECTORISING_PARAM]


def gcc_flags(choice: str) -> list[str]:
    """The gcc flags of a cpp build (and of the host side of a cuda build)."""
    if choice not in COMPILER_FLAGS:
        raise ValueError(f"compiler_flags must be one of {COMPILER_FLAGS} (got {choice!r})")
    return vectorising_gcc_flags() if choice == "vectorising" else list(BRIAN2_GCC_FLAGS)


@dataclass(frozen=True)
class DeviceOptions:
    """How a network is simulated, apart from what it computes: the keywords of
    :class:`Simulation` as one typed value, so protocols and benchmarks pass them through
    (``experiments.forgetting.Runner(plan, device=DeviceOptions(...))``)."""

    device: str = "runtime"
    threads: int = 1
    compiler_flags: str = "vectorising"
    runtime_target: str = "numpy"
    compute_capability: float = 9.0
    results_in_memory: bool = True

    def problems(self) -> list[str]:
        """What is wrong, named by option (empty if nothing)."""
        found = []
        if self.device not in DEVICES:
            found.append(f"{option('device')} must be one of {', '.join(DEVICES)} (got {self.device!r})")
        if int(self.threads) < 1:
            found.append(f"{option('threads')} must be >= 1 (got {self.threads})")
        if self.compiler_flags not in COMPILER_FLAGS:
            found.append(f"{option('compiler_flags')} must be one of {', '.join(COMPILER_FLAGS)} "
                         f"(got {self.compiler_flags!r})")
        return found

    @classmethod
    def from_protocol_config(cls, config: dict) -> "DeviceOptions":
        """The options a block protocol's configuration holds (``device``, ``threads``,
        ``compiler_flags``)."""
        return cls(config["device"], threads=int(config["threads"]), compiler_flags=config["compiler_flags"])

    def simulation(self, directory=None, seed: int = 0, dt=None) -> "Simulation":
        return Simulation(self.device, directory=directory, seed=seed, dt=dt, threads=self.threads,
                          runtime_target=self.runtime_target, compute_capability=self.compute_capability,
                          results_in_memory=self.results_in_memory, compiler_flags=self.compiler_flags)


class Simulation:
    """One network, compiled (or stored) once, run many times.

    Parameters
    ----------
    device : {'runtime', 'cpp', 'cuda'}
    directory : path for the generated project (standalone devices); a temporary
        directory when None.
    seed : base seed. Runtime runs are seeded ``seed + run_index`` so each chunk has
        fresh noise; a compiled binary replays the seed set at build time on every run
        (Brian2 has no run-time seed argument), so its noise is frozen per position in
        a chunk. Both are deterministic, which is what resuming needs.
    dt : simulation time step.
    threads : OpenMP threads for cpp.
    runtime_target : 'numpy' or 'cython' on the runtime device.
    compute_capability : target GPU architecture for cuda (9.0 = H100/H200).
    results_in_memory : standalone re-runs write their result files to a folder in
        ``/dev/shm`` (tmpfs) instead of the project's ``results/`` (see
        :meth:`_results_to_memory`); False keeps them in the project.
    compiler_flags : 'vectorising' (:func:`vectorising_gcc_flags`) or 'brian2' (Brian2's
        defaults) for cpp builds and the host code of cuda builds.
    """

    def __init__(self, device: str = "runtime", directory=None, seed: int = 0, dt=None,
                 threads: int = 1, runtime_target: str = "numpy", compute_capability: float = 9.0,
                 results_in_memory: bool = True, compiler_flags: str = "vectorising"):
        import brian2
        from brian2.devices.device import reinit_devices

        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        flags = gcc_flags(compiler_flags)
        self.device = device
        self.options = DeviceOptions(device, threads=int(threads), compiler_flags=compiler_flags,
                                     runtime_target=runtime_target, compute_capability=compute_capability,
                                     results_in_memory=bool(results_in_memory))
        self.seed = int(seed)
        self.runs = 0
        self.results_in_memory = bool(results_in_memory)
        # environment variables of every standalone run's binary (see run())
        self.environment: dict[str, str] = {}
        self._memory_results: Path | None = None
        # build_s: generation + compilation (standalone) or storing (runtime); run_s:
        # wall time of each run() call; standalone runs also record binary_s (the
        # binary's process, start to exit) and sim_s (the binary's own simulation loop),
        # so run_s - sim_s is what a re-run costs beyond simulating.
        self.timings: dict[str, float | list] = {"build_s": 0.0, "run_s": [], "binary_s": [], "sim_s": []}
        self._owns_directory = directory is None and device != "runtime"
        self.directory = (Path(tempfile.mkdtemp(prefix=f"mtspark-{device}-")) if self._owns_directory
                          else (Path(directory) if directory is not None else None))
        reinit_devices()
        brian2.set_device("runtime")
        if device == "runtime":
            brian2.prefs.codegen.target = runtime_target
        elif device == "cpp":
            brian2.set_device("cpp_standalone", directory=str(self.directory), build_on_run=False)
            brian2.prefs.codegen.cpp.extra_compile_args_gcc = flags
            if threads > 1:  # 1 thread: the plain (non-OpenMP) code path
                brian2.prefs.devices.cpp_standalone.openmp_threads = int(threads)
                # libgomp's threads spin at each barrier (dozens per time step); when
                # another process holds a core, each barrier waits a scheduler slice,
                # so passive waiting avoids the pathological case on a shared machine.
                # On an idle machine spinning is faster: export ACTIVE there
                # (benchmarks/README.md has both measurements). A value set by the user wins.
                self.environment["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", "PASSIVE")
        else:
            from mtspark_bio.cuda_device import configure_cuda

            # configure_cuda derives the host-compiler flags (-Xcompiler) from these
            brian2.prefs.codegen.cpp.extra_compile_args_gcc = flags
            configure_cuda(str(self.directory), compute_capability=compute_capability)
        if dt is not None:
            brian2.defaultclock.dt = dt
        # compiled into the binary's start-up; on runtime it makes anything random done
        # while building (connect(p=...), rand() initial values) repeatable
        brian2.seed(self.seed)
        self.network = brian2.Network()
        self._built = False
        self.written_arrays: dict[str, int] | None = None  # with build(read_back=...) on cpp

    @property
    def standalone(self) -> bool:
        return self.device != "runtime"

    def add(self, *objects):
        """Add Brian2 objects (groups, synapses, monitors) to the network."""
        self.network.add(*objects)

    def build(self, duration, compile: bool = True, read_back=None):
        """Fix the run duration and compile (standalone) or store the initial state.

        ``read_back``: what the caller reads after a run — Brian2 objects (a monitor, a
        group: all their arrays) and variables (``synapses.w``). A cpp binary then
        writes only those at the end of each run, plus what Brian2 reads itself (every
        group's differential-equation variables, checked for NaN, and the clocks),
        instead of every array of the network: connectivity, delays, constants and
        lastupdate times are never read back. Reading anything else after a run raises
        FileNotFoundError. None writes everything (Brian2's behaviour); cuda builds
        always do (brian2cuda copies each array from the GPU before writing it).
        """
        import brian2

        start = time.perf_counter()
        self.duration = duration
        if self.standalone:
            self.network.run(duration)
            write_only = read_back is not None and self.device == "cpp"
            brian2.device.build(directory=str(self.directory), compile=compile and not write_only, run=False)
            if write_only:
                from brian2.devices.cpp_standalone.device import get_compiler_and_args

                self.written_arrays = write_only_arrays(self.directory / "objects.cpp",
                                                        written_files(self.network, read_back))
                if compile:
                    brian2.device.compile_source(str(self.directory), get_compiler_and_args()[0],
                                                 debug=False, clean=False)
        else:
            self.network.store("initial")
        self.timings["build_s"] = time.perf_counter() - start
        self._built = True

    def run(self, inputs: dict | None = None, environment: dict[str, str] | None = None):
        """Run once from the initial state with ``inputs`` applied.

        ``inputs`` maps TimedArrays to new values (same shape as when built) and
        variables (``group.var``) to values, e.g. the weights carried from the last run.
        ``environment``: variables for this run's binary (standalone), on top of
        :attr:`environment`; this process's own environment is the same afterwards.
        """
        import brian2

        if not self._built:
            raise RuntimeError("call build() before run()")
        inputs = inputs or {}
        start = time.perf_counter()
        if self.standalone:
            # len(binary_s): runs of this binary (self.runs may start later on a resume)
            if len(self.timings["binary_s"]) == 1 and self.results_in_memory:
                self._results_to_memory()
            with binary_environment({**self.environment, **(environment or {})}):
                brian2.device.run(run_args=inputs, with_output=False)
            self._delete_run_arg_files()
            self.timings["binary_s"].append(brian2.device.timers.get("run_binary"))
            self.timings["sim_s"].append(getattr(brian2.device, "_last_run_time", None))
        else:
            self.network.restore("initial")
            brian2.seed(self.seed + self.runs)
            for key, value in inputs.items():
                if isinstance(key, brian2.TimedArray):
                    _set_timed_array(key, value)
                else:
                    key[:] = value
            self.network.run(self.duration)
        self.timings["run_s"].append(time.perf_counter() - start)
        self.runs += 1

    def _results_to_memory(self):
        """From the second run on, let the binary write its results to tmpfs.

        A standalone binary writes every array of the network to one file each at the
        end of every run, truncating last run's files; on ext4 (``auto_da_alloc``) that
        starts write-back of each file on close, which costs a large part of a short
        run (measured with benchmarks/rerun_profile.py; benchmarks/README.md). Brian2 reads results from
        ``device.results_dir``, which may be any absolute path. The first run stays in
        the project, so its size decides: the folder moves only if /dev/shm has room for
        four times what the first run wrote.
        """
        from brian2.devices.device import get_device

        # the device itself: brian2.device is a proxy that forwards reads but keeps
        # attributes set on it, so setting results_dir there would change nothing
        device = get_device()
        root = Path("/dev/shm")
        current = Path(device.results_dir)
        if not (root.is_dir() and os.access(root, os.W_OK) and current.is_dir()):
            return
        written = sum(f.stat().st_size for f in current.iterdir() if f.is_file())
        if shutil.disk_usage(root).free < 4 * written + (64 << 20):
            return
        self._memory_results = Path(tempfile.mkdtemp(prefix=f"mtspark-results-{self.device}-", dir=root))
        # removed with the Simulation, or at interpreter exit if close() is never called
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._memory_results), True)
        device.results_dir = str(self._memory_results) + os.sep

    def _delete_run_arg_files(self):
        # Brian2 writes each run_args array to static_arrays/ and never deletes it; a
        # long protocol would fill the disk.
        import brian2

        static = self.directory / "static_arrays"
        for name in brian2.device.run_args_arrays:
            for path in (static / name, static / (name + ".lock")):
                path.unlink(missing_ok=True)

    def close(self):
        """Reset Brian2 to the runtime device and remove a temporary project."""
        import brian2
        from brian2.devices.device import reinit_devices

        if self.device == "cuda":
            from mtspark_bio.cuda_device import reset_cuda

            reset_cuda()
        reinit_devices()
        brian2.set_device("runtime")
        if self._memory_results is not None:
            self._finalizer()
            self._memory_results = None
        if self._owns_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def binary_environment(variables: dict[str, str]):
    """``variables`` for the standalone binaries started inside the block. Brian2 hands
    ``run_environment_variables`` to the binary by writing them into ``os.environ``,
    where they would outlive the run (and reach the next Simulation's binaries), so
    the preference and those keys of ``os.environ`` are restored on the way out."""
    from brian2 import prefs

    before = dict(prefs.devices.cpp_standalone.run_environment_variables)
    process_before = {key: os.environ.get(key) for key in variables}
    prefs.devices.cpp_standalone.run_environment_variables = {**before, **variables}
    try:
        yield
    finally:
        prefs.devices.cpp_standalone.run_environment_variables = before
        for key, value in process_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def written_files(network, read_back) -> set[str]:
    """Result files (Brian2's array file names) a binary must write for a caller that
    reads ``read_back`` (see :meth:`Simulation.build`)."""
    import brian2
    from brian2.core.variables import ArrayVariable
    from brian2.equations.equations import Equations

    variables = []
    for item in read_back:
        if isinstance(item, brian2.core.variables.VariableView):
            variables.append(item.variable)
        elif hasattr(item, "variables"):
            variables += item.variables.values()
        else:
            raise TypeError(f"read_back holds {item!r}: give Brian2 objects or variables (group.var)")
    for obj in network.objects:
        # Brian2 reads these after every standalone run (NaN check, Network.t)
        equations = getattr(obj, "equations", None)
        if isinstance(equations, Equations):
            variables += [obj.variables[name] for name in equations.diff_eq_names]
        variables += obj.clock.variables.values()
    return {brian2.device.get_array_filename(v) for v in variables if isinstance(v, ArrayVariable)}


# one array's block in _write_arrays() of Brian2 2.10's objects.cpp template
_WRITE_BLOCK = re.compile(r'\n[ \t]*ofstream outfile_(\w+);\n[ \t]*outfile_\1\.open\(results_dir \+ "([^"]+)"'
                          r'.*?Error writing output file for \1\." << endl;\n[ \t]*\}', re.S)


def write_only_arrays(objects_cpp: Path, keep: set[str]) -> dict[str, int]:
    """Remove from the generated ``_write_arrays()`` every array whose file is not in
    ``keep``; returns how many were kept and removed. ValueError if the generated code
    is not what this expects (another Brian2 version), rather than a wrong binary."""
    source = objects_cpp.read_text()
    head, marker, body = source.partition("void _write_arrays()")
    if not marker:
        raise ValueError(f"{objects_cpp} has no _write_arrays(); Brian2's template changed")
    found = _WRITE_BLOCK.findall(body)
    if not found or not keep & {name for _, name in found}:
        raise ValueError(f"{objects_cpp}: none of the arrays to read back is written by _write_arrays(); "
                         "Brian2's template changed")
    body = _WRITE_BLOCK.sub(lambda m: m.group(0) if m.group(2) in keep else "", body)
    objects_cpp.write_text(head + marker + body)
    kept = sum(name in keep for _, name in found)
    return {"kept": kept, "removed": len(found) - kept}


def _set_timed_array(timed_array, value):
    """Overwrite a TimedArray's values in place (runtime device).

    The generated numpy and cython code hold a reference to the array, so writing into
    it changes what the next run sees without rebuilding anything.
    """
    value = np.asarray(value, dtype=timed_array.values.dtype)
    if value.shape != timed_array.values.shape:
        raise ValueError(f"{timed_array.name}: shape {value.shape} differs from the built "
                         f"shape {timed_array.values.shape}")
    timed_array.values[...] = value


def binary_mtime(directory) -> float | None:
    """Modification time of a compiled standalone binary (to show it was not rebuilt)."""
    path = Path(directory) / "main"
    return os.path.getmtime(path) if path.exists() else None
