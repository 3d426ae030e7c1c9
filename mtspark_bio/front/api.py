"""mtspark-bio from Python: typed configurations, run functions that return result
objects, and the figures on request. Nothing is printed unless a ``log`` is given::

    from brian2 import ms
    from mtspark_bio.front import api

    config = api.ForgettingConfig(n_tasks=2, train_samples=20, device="runtime", dt=0.25 * ms)
    result = api.run_forgetting(config, "forgetting.h5")   # readers.ForgettingResult
    result.variants["dendritic"].accuracy                  # R[block, task]
    api.figures("forgetting.h5")                           # PDF + PNG next to the file

Each configuration is checked when it is made (:class:`mtspark_bio.errors.ConfigError`,
a ValueError, naming the option and the fix), so a bad one fails before any simulation.
Each run function returns the result read back from its HDF5 file
(:mod:`mtspark_bio.readers`), the same object the figures draw from, and the readers
give it again later. The command line (``mtspark-bio``) and the sweep build these
configurations (from options, or from a sweep's KEY=VALUE settings) and run every
experiment through these functions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from brian2 import Quantity, ms
from brian2.units.fundamentalunits import have_same_dimensions

from mtspark_bio.errors import ConfigError, option
from mtspark_bio.experiments.atari import DEFAULTS as ATARI_DEFAULTS
from mtspark_bio.experiments.forgetting import DEFAULTS as FORGETTING_DEFAULTS
from mtspark_bio.protocols.capacity import DEFAULTS as CAPACITY_DEFAULTS
from mtspark_bio.readers import AtariResult, ForgettingResult, PhysiologyResult, load_atari, load_capacity, load_forgetting


def _silent(*_):
    pass


class _StoredForm:
    """Between a typed configuration and the protocol's configuration dict (what its
    result file stores as ``config``): tuples are stored as lists."""

    def as_protocol_config(self) -> dict:
        return {f.name: list(value) if isinstance(value := getattr(self, f.name), tuple) else value
                for f in dataclasses.fields(self)}

    def __reduce__(self):
        # pickled (to a sweep's worker) as its stored form, so the data a configuration
        # loaded to check itself is loaded again there, not sent
        return type(self).from_protocol_config, (self.as_protocol_config(),)

    @classmethod
    def from_protocol_config(cls, config: dict):
        """Back from a stored configuration (e.g. ``load_forgetting(path).config``)."""
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in config:
                value = config[f.name]
                values[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)


def _with_defaults(defaults: dict):
    """A frozen dataclass whose fields without a default take theirs from the protocol's
    ``defaults`` (so each default is written once, there): lists become tuples, a dict a
    fresh copy per instance."""
    def make(cls):
        for name in cls.__annotations__:
            if name in defaults and name not in vars(cls):
                value = defaults[name]
                setattr(cls, name, field(default_factory=lambda value=value: dict(value)) if isinstance(value, dict)
                        else tuple(value) if isinstance(value, list) else value)
        return dataclass(frozen=True)(cls)
    return make


@_with_defaults(FORGETTING_DEFAULTS)
class ForgettingConfig(_StoredForm):
    """The main job's configuration (``mtspark-bio forgetting``'s options, with their
    defaults); checked on construction and the data set loaded, so a bad configuration
    fails before any simulation. ``circuit`` holds overrides of
    :class:`mtspark_bio.circuit.CircuitConfig`."""

    dataset: str
    data_dir: str | None
    tasks: str
    n_tasks: int
    schedule: str
    cycles: int
    variants: tuple[str, ...]
    train_samples: int
    test_samples: int
    epochs: int
    evaluation: str
    chunk: int
    device: str
    threads: int
    compiler_flags: str
    seed: int
    dt: Quantity = field(default_factory=lambda: FORGETTING_DEFAULTS["dt_ms"] * ms)
    circuit: dict
    readout: str
    surrogate_epochs: int
    record_spikes: str
    max_spike_mb: float

    def __post_init__(self):
        from mtspark_bio.experiments.forgetting import Plan

        if not have_same_dimensions(self.dt, ms):
            raise ConfigError(f"{option('dt')} must be a time (e.g. 0.25*ms), got {self.dt!r}")
        if not float(self.dt / ms) > 0:
            raise ConfigError(f"{option('dt')} must be > 0, got {self.dt}")
        # checks everything and loads the data; kept (not a field) for run_forgetting
        object.__setattr__(self, "_plan", Plan(self.as_protocol_config()))

    def as_protocol_config(self) -> dict:
        config = super().as_protocol_config()
        config["dt_ms"] = float(config.pop("dt") / ms)
        return config

    @classmethod
    def from_protocol_config(cls, config: dict) -> "ForgettingConfig":
        dt = config.get("dt_ms", FORGETTING_DEFAULTS["dt_ms"]) * ms
        return super().from_protocol_config({**config, "dt": dt})


@_with_defaults(ATARI_DEFAULTS)
class AtariConfig(_StoredForm):
    """``mtspark-bio atari``'s configuration, with its defaults; checked on
    construction. ``agent`` holds overrides of :class:`mtspark_bio.agent.AgentConfig`;
    ``frames`` and ``switch_every`` count Atari frames (4 per agent step)."""

    games: tuple[str, ...]
    frames: int
    switch_every: int
    eval_episodes: int
    final_eval_episodes: int
    eval_max_frames: int
    eval_epsilon: float
    epsilon_start: float
    epsilon_end: float
    epsilon_decay: float
    agents: tuple[str, ...]
    device: str
    threads: int
    compiler_flags: str
    seed: int
    sticky: bool
    chunk_steps: int
    agent: dict
    readout: str

    def __post_init__(self):
        from mtspark_bio.experiments.atari import Plan

        Plan(self.as_protocol_config())


@_with_defaults(CAPACITY_DEFAULTS)
class CapacityConfig(_StoredForm):
    """``mtspark-bio capacity``'s configuration: the main job at each number of tasks in
    ``task_counts``; checked on construction."""

    task_counts: tuple[int, ...]
    variants: tuple[str, ...]
    train_samples: int
    test_samples: int
    epochs: int
    evaluation: str
    seed: int
    device: str
    circuit: dict

    def __post_init__(self):
        counts = tuple(self.task_counts)
        if not counts or min(counts) < 1:
            raise ConfigError(f"{option('task_counts')} needs task counts >= 1, got {list(counts)}")
        object.__setattr__(self, "task_counts", tuple(sorted(set(counts))))
        ForgettingConfig(n_tasks=max(self.task_counts), variants=self.variants, train_samples=self.train_samples,
                         test_samples=self.test_samples, epochs=self.epochs, evaluation=self.evaluation,
                         seed=self.seed, device=self.device, circuit=self.circuit)


@dataclass(frozen=True)
class ProtocolConfig:
    """A physiology protocol (``mtspark-bio protocol --help`` lists them) on a device,
    with a seed and optionally one of its parameter presets; checked on construction.
    ``device`` None is the protocol's own default (runtime; cpp for distal-reward)."""

    name: str
    device: str | None = None
    seed: int = 0
    preset: str | None = None

    def __post_init__(self):
        from mtspark_bio.protocols.physiology import check_device, check_preset, default_device

        object.__setattr__(self, "device", check_device(self.device or default_device(self.name)))
        if self.preset is not None:
            check_preset(self.name, self.preset)

    def options(self) -> dict:
        return {} if self.preset is None else {"preset": self.preset}


def run_forgetting(config: ForgettingConfig, out, resume: bool = False, build_dir=None, log=None) -> ForgettingResult:
    """Run (or resume) the main job into the HDF5 file ``out``; returns its result."""
    from mtspark_bio.protocols import forgetting

    forgetting.run(config.as_protocol_config(), Path(out), resume=resume, build_dir=build_dir,
                   log=log or _silent, plan=config._plan)
    return load_forgetting(out)


def run_atari(config: AtariConfig, out, resume: bool = False, build_dir=None, log=None) -> AtariResult:
    """Run (or resume) the Atari protocol into ``out``; returns its result."""
    from mtspark_bio.protocols import atari

    atari.run(config.as_protocol_config(), Path(out), resume=resume, build_dir=build_dir, log=log or _silent)
    return load_atari(out)


def run_capacity(config: CapacityConfig, out, resume: bool = False, log=None) -> dict:
    """Run (or resume) the capacity protocol into ``out``; returns
    :func:`mtspark_bio.readers.load_capacity` of it."""
    from mtspark_bio.protocols import capacity

    capacity.run(config.as_protocol_config(), Path(out), resume=resume, log=log or _silent)
    return load_capacity(out)


def run_protocol(config: ProtocolConfig | str, out, log=None, **kwds) -> PhysiologyResult:
    """Run a physiology protocol into ``out``; returns its result: ``numbers`` (the key
    numbers), ``published``, ``data``. ``config`` may be a protocol's name, with
    ``device``, ``seed`` and ``preset`` as keywords."""
    from mtspark_bio.protocols import physiology

    if isinstance(config, str):
        config = ProtocolConfig(config, **kwds)
    elif kwds:
        raise TypeError(f"give {', '.join(kwds)} in the ProtocolConfig, not as keywords")
    physiology.run(config.name, Path(out), device=config.device, seed=config.seed, log=log or _silent,
                   **config.options())
    return PhysiologyResult(out, config.name)


def figures(path) -> list[Path]:
    """Draw the figure of a result file next to it; returns the written files."""
    from mtspark_bio.figures import render

    return render(path)
