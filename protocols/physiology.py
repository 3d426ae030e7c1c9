"""What the physiology protocols share: names, running, result files, command line.

Each protocol (``protocols/stdp_window.py``, ``dendritic_integration.py``,
``coincidence.py``, ``distal_reward.py``, ``context_selectivity.py``) is a module whose
docstring is its methods section and which exposes

* ``NAME`` — the protocol's name on the command line and in result files;
* ``PUBLISHED`` — the published numbers it is compared with (value, unit, source);
* ``measure(device="runtime", seed=0, **options) -> Measurement`` — runs the
  simulation and returns the measured numbers (what tests assert), the arrays the
  figure needs and the configuration.

:func:`run` measures and writes the HDF5 file atomically (root attributes ``protocol``,
``config`` and ``versions`` as JSON, ``published`` as JSON, and every key number as a
plain float attribute); it draws nothing. The figure is drawn from that file alone
(``figures.physiology``): by the command line unless ``--no-figure``, or later by
``mtspark-bio figures PATH``.

    mtspark-bio protocol NAME --out PATH [--device runtime|cpp] [--seed N] [--preset NAME]
    python -m mtspark_bio protocol NAME --out PATH            (the same, without the console script)
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtspark_bio.errors import ConfigError, option
from mtspark_bio.results import writes_result

#: protocol name -> module
PROTOCOLS = {
    "stdp-window": "mtspark_bio.protocols.stdp_window",
    "dendritic-integration": "mtspark_bio.protocols.dendritic_integration",
    "coincidence": "mtspark_bio.protocols.coincidence",
    "distal-reward": "mtspark_bio.protocols.distal_reward",
    "context-selectivity": "mtspark_bio.protocols.context_selectivity",
}
#: devices a physiology protocol runs on (cuda is the forgetting protocol's business)
DEVICES = ("runtime", "cpp")


@dataclass
class Measurement:
    """What a protocol measured: key numbers (root attributes of the result file),
    arrays for the figure (datasets) and the configuration that produced them."""

    numbers: dict[str, float]
    arrays: dict
    config: dict
    published: dict = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"{key:<32} {value:.6g}" for key, value in self.numbers.items()]
        for key, ref in self.published.items():
            lines.append(f"published {key:<22} {ref['value']} {ref.get('unit', '')}  ({ref['source']})")
        return "\n".join(lines)


def measures() -> dict[str, str]:
    """Protocol name -> what it measures (its module docstring's title, "Name: what")."""
    titles = {name: " ".join(protocol_module(name).__doc__.strip().split("\n\n")[0].split()) for name in PROTOCOLS}
    return {name: title.split(": ", 1)[-1].rstrip(".") for name, title in titles.items()}


def protocol_module(name: str):
    """The module of protocol ``name``; ValueError naming the choices if unknown."""
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    return importlib.import_module(PROTOCOLS[name])


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ConfigError(f"unknown {option('device')} {device!r}; the physiology protocols run on "
                          f"{' or '.join(DEVICES)}")
    return device


def simulation(device: str, seed: int, dt, directory=None):
    """A :class:`mtspark_bio.devices.Simulation` on a checked device."""
    from mtspark_bio.devices import Simulation

    return Simulation(check_device(device), directory=directory, seed=seed, dt=dt)


def write_result(path, name: str, measurement: Measurement) -> Path:
    """Write ``measurement`` atomically to ``path`` (HDF5)."""
    from mtspark_bio.results import atomic_h5, package_versions, write_arrays, write_json_attr

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_h5(path) as f:
        f.attrs["protocol"] = name
        write_json_attr(f, "config", measurement.config)
        write_json_attr(f, "versions", package_versions())
        write_json_attr(f, "published", measurement.published)
        for key, value in measurement.numbers.items():
            f.attrs[key] = float(value)
        write_arrays(f, measurement.arrays)
    return path


def check_preset(name: str, preset: str) -> str:
    presets = getattr(protocol_module(name), "PRESETS", {})
    if preset not in presets:
        raise ConfigError(f"unknown {option('preset')} {preset!r} for {name}; choose one of "
                          f"{', '.join(presets) or 'none (it has no presets)'}")
    return preset


def default_device(name: str) -> str:
    """The device a protocol runs on when none is named (``runtime`` unless the
    protocol's module sets ``DEFAULT_DEVICE``)."""
    return getattr(protocol_module(name), "DEFAULT_DEVICE", "runtime")


@writes_result
def run(name: str, out, device: str | None = None, seed: int = 0, log=print, **options) -> Measurement:
    """Measure protocol ``name`` and write ``out`` (draws nothing:
    ``mtspark_bio.figures.render(out)`` does)."""
    module = protocol_module(name)
    device = check_device(device or default_device(name))
    if "preset" in options:
        check_preset(name, options["preset"])
    out = Path(out)
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise ConfigError(f"{option('out')} must name an .h5 file, got {out}")
    started = time.perf_counter()
    measurement = module.measure(device=device, seed=seed, **options)
    write_result(out, name, measurement)
    log(f"{name} on {device} (seed {seed}): {time.perf_counter() - started:.1f} s")
    log(measurement.summary())
    log(f"results in {out}")
    return measurement


# --------------------------------------------------------------- shared measuring tools

def scheduled_group(first_spike_s, name: str, extra: str = "", n_spikes: int = 1, period=None):
    """Neurons that fire exactly at given times: neuron ``i`` first at
    ``first_spike_s[i]`` (seconds, on the dt grid; negative = never), then
    ``n_spikes - 1`` more times every ``period``. ``extra`` declares variables that
    synapses read or write (``g_exc : siemens`` ...). Deterministic and identical on
    every device (integer time steps, no floating-point comparison)."""
    from brian2 import NeuronGroup, defaultclock

    dt = float(defaultclock.dt)
    period_steps = int(round(float(period) / dt)) if period is not None else 1
    group = NeuronGroup(
        len(first_spike_s), "first_step : integer (constant)\n" + extra,
        threshold=("first_step >= 0 and timestep(t, dt) >= first_step"
                   f" and timestep(t, dt) < first_step + {int(n_spikes) * period_steps}"
                   f" and (timestep(t, dt) - first_step) % {period_steps} == 0"),
        reset="", name=name)
    steps = np.round(np.asarray(first_spike_s, dtype=float) / dt).astype(np.int64)
    group.first_step = np.where(np.asarray(first_spike_s) < 0, -1, steps)
    return group


def fit_exponential(x, y, p0=(1.0, 10.0)):
    """Least-squares fit of ``y = A exp(-|x|/tau)``; returns (A, tau)."""
    from scipy.optimize import curve_fit

    (amplitude, tau), _ = curve_fit(lambda d, a, tau: a * np.exp(-np.abs(d) / tau),
                                    np.asarray(x, float), np.asarray(y, float), p0=p0, maxfev=10000)
    return float(amplitude), float(tau)


def crossing_index(values, level) -> int | None:
    """Index of the first value >= level (None if none)."""
    hits = np.flatnonzero(np.asarray(values) >= level)
    return int(hits[0]) if len(hits) else None
