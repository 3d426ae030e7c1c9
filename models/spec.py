"""What a model hands to the engine: Brian2 equations plus the constants they use.

A model file (``models/neurons.py``, ``models/plasticity.py``) holds the parameters as
frozen dataclasses of Brian2 quantities with their sources, and a function that turns
them into a :class:`NeuronSpec` or :class:`SynapseSpec`. The engine
(``mtspark_bio.network``) only ever sees these specs, so a model can be read, and
changed, without reading the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class NeuronSpec:
    """Everything needed to create a ``brian2.NeuronGroup``."""

    equations: str
    threshold: str | None
    reset: str | None
    refractory: object = False
    method: str = "exponential_euler"
    # custom events (name -> condition) and the code each one runs
    events: dict[str, str] = field(default_factory=dict)
    event_actions: dict[str, str] = field(default_factory=dict)
    # initial values: variable -> quantity or string expression
    initial: dict[str, object] = field(default_factory=dict)
    namespace: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class SynapseSpec:
    """Everything needed to create a ``brian2.Synapses`` object."""

    model: str
    on_pre: str | None = None
    on_post: str | dict | None = None
    on_event: dict[str, str] = field(default_factory=dict)
    method: str = "exact"
    # code run at reward time (three-factor rules) or None
    consolidate: str | None = None
    # summed variables ``consolidate`` reads, summed at the end of the step so they
    # count that step's spikes as the presynaptic counters do
    summed_at_consolidation: tuple[str, ...] = ()
    # code run right after ``consolidate``, once the summed variables named in
    # ``summed_after_consolidation`` hold the consolidated weights (e.g. a normalisation)
    after_consolidation: str | None = None
    summed_after_consolidation: tuple[str, ...] = ()
    namespace: dict[str, object] = field(default_factory=dict)


def param(value):
    """A dataclass field holding a Brian2 quantity (quantities are mutable numpy
    arrays, so dataclasses need a factory for them)."""
    return field(default_factory=lambda: value)


def as_namespace(params, prefix: str = "") -> dict[str, object]:
    """A parameter dataclass as a Brian2 namespace (field name -> value)."""
    return {prefix + f.name: getattr(params, f.name) for f in fields(params)}


def rule_from(spec, registry: dict[str, type], default: str, what: str):
    """A learning rule from its stored or JSON form: ``{"rule": NAME, FIELD: VALUE, ...}``,
    a name, or a rule (returned as it is); ``registry`` maps names to rule classes.
    Raises ValueError naming what is wrong (``what``: e.g. "readout rule")."""
    if isinstance(spec, tuple(registry.values())):
        return spec
    values = {"rule": spec} if isinstance(spec, str) else dict(spec or {"rule": default})
    name = values.pop("rule", default)
    if name not in registry:
        raise ValueError(f"{what} must be one of {sorted(registry)} (got {name!r})")
    cls = registry[name]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{what} {name!r} has no parameters {unknown}; known: {sorted(known)}")
    return cls(**values)
