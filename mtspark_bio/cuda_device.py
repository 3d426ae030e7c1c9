"""Set up Brian2CUDA (1.0b1) so that a project builds with CUDA 13, with or without a GPU.

Typical use::

    from mtspark_bio.cuda_device import configure_cuda, compile_only, reset_cuda
    configure_cuda("/tmp/mynet")          # before creating any Brian object
    ...build the network..., run(1*second)  # records the run, executes nothing
    exe = compile_only()                  # generates + compiles, does not run
    reset_cuda()                          # back to the runtime device, prefs restored

What was needed on CUDA 13 without a GPU (measured with brian2cuda 1.0b1):

* ``detect_gpus = False`` needs both ``gpu_id`` and ``compute_capability``;
* CUDA 13's Thrust / libcu++ need C++17, the generated makefile asks for C++11;
* curand comes from the ``nvidia-curand`` wheel, which ships ``libcurand.so.10`` only
  (the ``-lcurand`` link step needs ``libcurand.so``);
* the curand folders go to Brian's ``codegen.cpp`` include/library/runtime_library
  dirs (brian2cuda rewrites ``-Wl,`` into nvcc's ``-Xlinker``; nvcc itself rejects
  ``-Wl,``);
* host code defaults to ``-march=native`` (a binary built here may not run elsewhere).

Brian2CUDA 1.0b1 limitations met while building this project: no store/restore, no two
summed variables into one target, user functions need a CUDA implementation, and
``network_operation`` is silently dropped. Also: keep every Brian object referenced
until the build (otherwise "ReferenceError: weakly-referenced object no longer
exists"), and generated code is not byte-identical between processes (order of clocks
in main.cu, of dynamic-array resizes in synapse creation, even with PYTHONHASHSEED
fixed), so each regeneration recompiles a few files: a rebuild is never just a relink.
The binary's rpath points at this machine's curand folder; elsewhere run it with
``run_environment()`` (LD_LIBRARY_PATH).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = [
    "nvcc_available",
    "gpu_available",
    "curand_paths",
    "configure_cuda",
    "compile_only",
    "reset_cuda",
    "executable_path",
    "run_environment",
]

CURAND_FIX = "pip install nvidia-curand==10.4.5.25"

# Preferences changed by configure_cuda, with their values before the first change,
# so that reset_cuda can put them back (brian2's prefs._restore() only knows the
# preferences registered before brian2cuda was imported).
_saved_prefs: dict[str, object] = {}


# --------------------------------------------------------------------------- checks
def _nvcc_path() -> str | None:
    found = shutil.which("nvcc")
    if found:
        return found
    for root in (os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root and os.access(os.path.join(root, "bin", "nvcc"), os.X_OK):
            return os.path.join(root, "bin", "nvcc")
    return None


def nvcc_available() -> bool:
    """True if nvcc is on PATH (or under $CUDA_PATH/bin or /usr/local/cuda/bin)."""
    return _nvcc_path() is not None


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """True if ``nvidia-smi -L`` succeeds and lists at least one GPU (cached)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and any(
        line.startswith("GPU ") for line in out.stdout.splitlines()
    )


# --------------------------------------------------------------------------- curand
def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "mtspark-bio" / "curand"


def _symlink(target: Path, link: Path) -> None:
    """Create/refresh ``link -> target`` atomically (safe if several processes race)."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)


def _find_curand() -> tuple[Path, Path, Path] | None:
    """(include_dir, real_lib_dir, library_file) from the nvidia-curand wheel or the toolkit."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("nvidia")
    if spec is not None and spec.submodule_search_locations:
        for base in spec.submodule_search_locations:
            # cu13 wheels: nvidia/cu13/{include,lib}; cu12 wheels: nvidia/curand/{include,lib}
            candidates += [Path(base) / "cu13", Path(base) / "curand", Path(base) / "cu12"]
    nvcc = _nvcc_path()
    if nvcc:
        root = Path(os.path.realpath(nvcc)).parent.parent
        candidates += [root, root / "targets" / "x86_64-linux"]
    for cand in candidates:
        inc = cand / "include"
        if not (inc / "curand.h").is_file():
            continue
        for libdir in (cand / "lib", cand / "lib64"):
            libs = sorted(libdir.glob("libcurand.so*")) if libdir.is_dir() else []
            if libs:
                # prefer the plain name, then the soname (libcurand.so.10)
                libs.sort(key=lambda p: (len(p.name), p.name))
                return inc, libdir, libs[0]
    return None


def curand_paths() -> tuple[str, str]:
    """Return ``(include_dir, lib_dir)`` for curand; ``lib_dir`` holds a ``libcurand.so``.

    The ``nvidia-curand`` wheel only ships ``libcurand.so.10``; the link step
    (``-lcurand``) needs ``libcurand.so``, so a symlink to the wheel's library is made
    in ``~/.cache/mtspark-bio/curand/<hash>/`` (site-packages is left untouched).
    Raises RuntimeError naming the fix if curand is not installed.
    """
    found = _find_curand()
    if found is None:
        raise RuntimeError(
            "curand (curand.h + libcurand.so*) not found: neither the nvidia-curand "
            f"wheel nor the CUDA toolkit provides it. Fix: `{CURAND_FIX}` in this "
            "environment."
        )
    inc, libdir, lib = found
    if (libdir / "libcurand.so").exists():
        return str(inc), str(libdir)
    real = Path(os.path.realpath(lib))
    key = hashlib.sha1(str(real).encode()).hexdigest()[:12]
    for root in (_cache_root(), Path(tempfile.gettempdir()) / "mtspark-bio-curand"):
        link_dir = root / key
        try:
            link_dir.mkdir(parents=True, exist_ok=True)
            _symlink(real, link_dir / "libcurand.so")
            # soname link too, so that link_dir alone also works as an rpath
            _symlink(real, link_dir / lib.name)
            return str(inc), str(link_dir)
        except OSError:
            continue  # cache not writable: try the temp directory
    raise RuntimeError(f"could not create a libcurand.so link for {real}")


def _curand_runtime_dir(lib_dir: str) -> str:
    """Folder of the real libcurand.so.N (where the binary finds it at run time)."""
    return os.path.dirname(os.path.realpath(os.path.join(lib_dir, "libcurand.so")))


def run_environment() -> dict[str, str]:
    """Environment for running a compiled ``main`` by hand (LD_LIBRARY_PATH with curand).

    The binary carries an rpath to the curand folder of the machine that built it; on
    another machine (e.g. built here, run on the GPU machine) use this instead.
    """
    _, lib_dir = curand_paths()
    dirs = [_curand_runtime_dir(lib_dir), lib_dir]
    if os.environ.get("LD_LIBRARY_PATH"):
        dirs.append(os.environ["LD_LIBRARY_PATH"])
    return {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(dirs)}


# --------------------------------------------------------------------------- configure
def _set_pref(name: str, value) -> None:
    from brian2 import prefs

    if name not in _saved_prefs:
        _saved_prefs[name] = prefs[name]
    prefs[name] = value


def configure_cuda(
    directory,
    compute_capability: float | None = 9.0,
    gpu_id: int | None = 0,
    detect_gpus: bool | None = None,
    portable_host_code: bool = True,
) -> None:
    """Select ``cuda_standalone`` (``build_on_run=False``) and set the prefs it needs.

    Call before creating Brian objects. Afterwards: build the network, call ``run``
    (only recorded), then ``compile_only()`` (or ``device.build(...)``).

    directory: project folder brian2cuda writes to (``main`` is built there).
    compute_capability: GPU architecture to compile for (9.0 = sm_90, H100/H200); used
        when GPU detection is off. With detection on, brian2cuda compiles for the
        detected GPU's own compute capability (so the binary matches the GPU it runs on).
    gpu_id: GPU to use (None with detection: brian2cuda picks the newest GPU).
    detect_gpus: None = auto (True iff ``nvidia-smi -L`` lists a GPU).
    portable_host_code: drop ``-march=native`` from host compile flags so the binary
        also runs on a CPU other than the build machine's.
    """
    import brian2cuda  # noqa: F401  (registers the cuda_standalone device and its prefs)
    from brian2 import prefs, set_device
    from brian2cuda.utils import gputools

    if not nvcc_available():
        raise RuntimeError("nvcc not found (PATH, $CUDA_PATH/bin, /usr/local/cuda/bin)")
    if detect_gpus is None:
        detect_gpus = gpu_available()
    if not detect_gpus and (compute_capability is None or gpu_id is None):
        raise ValueError("without GPU detection, compute_capability and gpu_id are needed")

    backend = "devices.cuda_standalone.cuda_backend."
    # GPU detection runs nvidia-smi; without a GPU it must be off...
    _set_pref(backend + "detect_gpus", bool(detect_gpus))
    # ...and then brian2cuda requires gpu_id (it raises PreferenceError otherwise).
    # With detection, gpu_id=None lets brian2cuda choose.
    _set_pref(backend + "gpu_id", None if gpu_id is None else int(gpu_id))
    # Target architecture (-arch=sm_XY). None with detection = the selected GPU's own.
    _set_pref(
        backend + "compute_capability",
        None if detect_gpus else float(compute_capability),
    )
    # CUDA 13's Thrust/libcu++ need C++17; the makefile hard-codes -std=c++11 before
    # these flags and nvcc keeps the last -std (-w hides its warning).
    nvcc_args = [a for a in prefs[backend + "extra_compile_args_nvcc"] if not a.startswith("-std=")]
    _set_pref(backend + "extra_compile_args_nvcc", nvcc_args + ["-std=c++17"])
    # Host-compiler flags (passed by nvcc through -Xcompiler): C++17 instead of C++11,
    # and no -march=native if the binary must run on another CPU (the GPU machine).
    gcc_args = []
    for a in prefs["codegen.cpp.extra_compile_args_gcc"]:
        if a.startswith("-std="):
            a = "-std=c++17"
        if portable_host_code and a.startswith(("-march=native", "-mtune=native")):
            continue
        gcc_args.append(a)
    if "-std=c++17" not in gcc_args:
        gcc_args.append("-std=c++17")
    _set_pref("codegen.cpp.extra_compile_args_gcc", gcc_args)

    # curand from the nvidia-curand wheel: headers (-I, reaches nvcc via -Xcompiler)
    # and the folder holding the libcurand.so link (-L, for the makefile's -lcurand).
    inc, lib_dir = curand_paths()
    _set_pref("codegen.cpp.include_dirs", _add(prefs["codegen.cpp.include_dirs"], inc))
    _set_pref("codegen.cpp.library_dirs", _add(prefs["codegen.cpp.library_dirs"], lib_dir))
    # rpath so that main finds libcurand.so.10 at run time (Brian emits -Wl,-rpath,...;
    # brian2cuda's makefile generator rewrites -Wl, into nvcc's -Xlinker).
    rt_dirs = prefs["codegen.cpp.runtime_library_dirs"]
    for d in dict.fromkeys([_curand_runtime_dir(lib_dir), lib_dir]):
        rt_dirs = _add(rt_dirs, d)
    _set_pref("codegen.cpp.runtime_library_dirs", rt_dirs)

    # brian2cuda caches the detected CUDA installation / GPU selection module-wide:
    # forget them so that the prefs above are used.
    gputools.reset_cuda_installation()
    gputools.reset_gpu_selection()

    set_device("cuda_standalone", directory=str(directory), build_on_run=False)


def _add(items, item):
    items = list(items)
    return items if item in items else items + [item]


# --------------------------------------------------------------------------- build
def executable_path(directory) -> Path:
    """Where brian2cuda's makefile puts the binary (``PROGRAM = main``)."""
    return Path(directory) / "main"


def compile_only(directory=None, clean: bool = False, debug: bool = False) -> Path:
    """Generate and compile the project without running it; return the executable.

    ``device.build(compile=True, run=False)`` needs nothing special in brian2cuda: it
    writes the code, runs ``make`` (``-j<cpus>``) and stops. Two things to know: the
    network must have been ``run(...)`` first (in standalone mode that only records
    the run), and a manual build does not use the ``directory`` given to
    ``set_device``, so it is passed here (default: the one from ``configure_cuda``).
    """
    from brian2 import device

    if directory is None:
        directory = device.build_options.get("directory")
    if directory is None:
        raise ValueError("no directory given and none set by configure_cuda")
    device.build(directory=str(directory), compile=True, run=False, clean=clean, debug=debug)
    exe = executable_path(directory)
    if not exe.is_file():
        raise RuntimeError(f"build finished but {exe} is missing")
    return exe


def reset_cuda() -> None:
    """Undo configure_cuda: reinit devices, go back to the previous device, restore prefs."""
    from brian2 import prefs
    device_module = importlib.import_module("brian2.devices.device")  # not the proxy
    from brian2.devices.device import all_devices, get_device, reinit_devices, reset_device

    cuda = all_devices.get("cuda_standalone")
    # reinit every device (drops recorded objects/runs), prefs._restore(), defaultclock
    reinit_devices()
    for name, value in reversed(list(_saved_prefs.items())):
        prefs[name] = value
    _saved_prefs.clear()
    # set_device() pushed the previous device on brian2's stack: pop back to it (as
    # brian2's own test-suite does with reset_device()), runtime if there is none.
    while cuda is not None and get_device() is cuda:
        if device_module.previous_devices:
            reset_device()
        else:
            reset_device("runtime")
    try:
        from brian2cuda.utils import gputools

        gputools.reset_cuda_installation()
        gputools.reset_gpu_selection()
    except ImportError:
        pass
