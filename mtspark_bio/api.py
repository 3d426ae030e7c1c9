"""mtspark-bio from Python: a typed configuration, run functions that return result
objects, and the figures on request. Nothing is printed unless a ``log`` is given.

    from brian2 import ms
    from mtspark_bio import api

    config = api.ForgettingConfig(n_tasks=2, train_samples=20, device="runtime", dt=0.25 * ms)
    result = api.run_forgetting(config, "forgetting.h5")   # readers.ForgettingResult
    result.variants["dendritic"].accuracy                  # R[block, task]
    api.figures("forgetting.h5")                           # PDF + PNG next to the file

``run_forgetting`` returns the result read back from its HDF5 file
(:func:`mtspark_bio.readers.load_forgetting`), the same object the figures draw from,
and ``load_forgetting(path)`` gives it again later. The command line runs the same
protocol code (``protocols/forgetting.py``) with the same checks and errors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from brian2 import Quantity, ms
from brian2.units.fundamentalunits import have_same_dimensions

from mtspark_bio.readers import ForgettingResult, PhysiologyResult, load_forgetting


def _silent(*_):
    pass


def _default(key: str):
    from mtspark_bio.protocols.forgetting import DEFAULTS

    return DEFAULTS[key]


def _default_dt() -> Quantity:
    return _default("dt_ms") * ms


@dataclass(frozen=True)
class ForgettingConfig:
    """The main job's configuration (``mtspark-bio forgetting``'s options, with their
    defaults); checked on construction with the command line's errors (ValueError) and
    the data set loaded, so a bad configuration fails before any simulation.
    ``circuit`` holds overrides of :class:`mtspark_bio.circuit.CircuitConfig`."""

    dataset: str = "digits"
    data_dir: str | None = None
    tasks: str = "permuted"
    n_tasks: int = 5
    schedule: str = "sequential"
    cycles: int = 2
    variants: tuple[str, ...] = ("dendritic", "point")
    train_samples: int = 500
    test_samples: int = 100
    epochs: int = 1
    chunk: int = 100
    device: str = "cpp"
    seed: int = 0
    dt: Quantity = field(default_factory=_default_dt)
    circuit: dict = field(default_factory=dict)
    readout: str = "local"
    surrogate_epochs: int = 10
    record_spikes: str = "sample"
    max_spike_mb: float = field(default_factory=lambda: _default("max_spike_mb"))

    def __post_init__(self):
        from mtspark_bio.protocols.forgetting import Plan

        if not have_same_dimensions(self.dt, ms):
            raise ValueError(f"dt must be a time (e.g. 0.25*ms), got {self.dt!r}")
        if not float(self.dt / ms) > 0:
            raise ValueError(f"dt must be > 0, got {self.dt}")
        Plan(self.as_protocol_config())

    def as_protocol_config(self) -> dict:
        """The protocol's configuration dict (what the result file stores as ``config``)."""
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "dt"}
        config["variants"] = list(self.variants)
        config["dt_ms"] = float(self.dt / ms)
        return config

    @classmethod
    def from_protocol_config(cls, config: dict) -> "ForgettingConfig":
        """Back from a stored configuration (e.g. ``load_forgetting(path).config``)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in config.items() if key in names}
        if "variants" in values:
            values["variants"] = tuple(values["variants"])
        return cls(**values, dt=config.get("dt_ms", _default_dt() / ms) * ms)


def run_forgetting(config: ForgettingConfig, out, resume: bool = False, build_dir=None, log=None) -> ForgettingResult:
    """Run (or resume) the main job into the HDF5 file ``out``; returns its result."""
    from mtspark_bio.protocols import forgetting

    forgetting.run(config.as_protocol_config(), Path(out), resume=resume, build_dir=build_dir,
                   log=log or _silent)
    return load_forgetting(out)


def run_protocol(name: str, out, device: str | None = None, seed: int = 0, log=None, **options) -> PhysiologyResult:
    """Run physiology protocol ``name`` (``mtspark-bio protocol --help`` lists them) into
    ``out``; returns its result: ``numbers`` (the key numbers), ``published``, ``data``."""
    from mtspark_bio.protocols import physiology

    physiology.run(name, Path(out), device=device, seed=seed, log=log or _silent, **options)
    return PhysiologyResult(out, name)


def figures(path) -> list[Path]:
    """Draw the figure of a result file next to it; returns the written files."""
    from mtspark_bio.figures import render

    return render(path)
