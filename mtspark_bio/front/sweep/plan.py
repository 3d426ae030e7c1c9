"""Planning: seeds, settings, each run's typed configuration."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from pathlib import Path

from mtspark_bio.front.sweep.protocols import RESERVED, get_protocol


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run: what a worker needs (picklable) and what the tables report."""

    protocol: str
    seed: int
    settings: dict  # KEY -> value as given on the command line (grid and --set)
    config: object  # the protocol's typed configuration (mtspark_bio.front.api)
    name: str  # <protocol>-<hash of protocol and config>
    out: str
    log: str


def parse_seeds(text: str) -> list[int]:
    """``0-4``, ``0,2,7`` or ``0-2,9`` -> sorted distinct seeds."""
    seeds = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:  # a range; "-1" alone is a (rejected) negative seed
                first, last = (int(x) for x in part.split("-", 1))
                if last < first:
                    raise ValueError
                seeds.update(range(first, last + 1))
            else:
                seeds.add(int(part))
        except ValueError:
            raise ValueError(f"--seeds {text!r}: give seeds as 0-4, 0,2,7 or 0-2,9 (non-negative integers)") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds {text!r}: give seeds as 0-4, 0,2,7 or 0-2,9 (non-negative integers)")
    return sorted(seeds)


def parse_assignments(items, option: str, split_values: bool) -> dict[str, list[str]]:
    """``KEY=V1,V2`` (``--grid``) or ``KEY=V`` (``--set``) -> {KEY: [values]}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{option} {item!r}: write KEY=VALUE{',VALUE...' if split_values else ''}")
        values = [v.strip() for v in value.split(",")] if split_values else [value.strip()]
        if not any(values) or any(v == "" for v in values):
            raise ValueError(f"{option} {item!r}: empty value; write {key}=V1,V2,... with at least one value"
                             if split_values else f"{option} {item!r}: empty value; write {key}=VALUE")
        if len(set(values)) != len(values):
            raise ValueError(f"{option} {item!r} lists a value twice")
        if key in out:
            raise ValueError(f"{option} names {key!r} twice; give each key once")
        out[key] = values
    return out


def _kind(f: dataclasses.Field) -> type:
    """The type a field's values have, read from its default."""
    if f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
        return dict if dataclasses.is_dataclass(default) else type(default)  # a nested configuration is JSON
    return str if f.default in (dataclasses.MISSING, None) else type(f.default)


#: the types of field a KEY may set
SETTABLE = (str, tuple, bool, int, float, dict)


def sweep_keys(protocol) -> dict[str, dataclasses.Field]:
    """The typed configuration's fields a KEY may name."""
    return {f.name: f for f in dataclasses.fields(protocol.typed)
            if f.name not in RESERVED and _kind(f) in SETTABLE}


def typed_value(config_class, f: dataclasses.Field, key: str, text: str):
    """The value of ``config_class.f`` from its command-line text, checked against the
    field's type (a wrong type is bad input, not a crash later). A tuple field takes a
    comma list; a nested configuration a JSON object."""
    kind = _kind(f)
    if kind is str:
        return text
    if kind is tuple:
        return tuple(name.strip() for name in text.split(",") if name.strip())
    if kind not in SETTABLE:
        raise ValueError(f"key {key!r}: {config_class.__name__}.{f.name} is a {kind.__name__}, "
                         f"which a sweep does not set")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = (isinstance(value, bool) if kind is bool else number if kind is float
          else number and isinstance(value, int) if kind is int else isinstance(value, kind))
    if not ok:
        raise ValueError(f"{key}={text!r}: {config_class.__name__}.{f.name} is of type {kind.__name__}, "
                         f"not {type(value).__name__}")
    return float(value) if kind is float else value


def _override_field(config_class, key: str, name: str) -> tuple[type, dataclasses.Field]:
    """(declaring class, field) of an override named flat: a field of ``config_class``
    or, for a configuration in sections (CircuitConfig), of one of its sections."""
    if hasattr(config_class, "field_names"):
        known = config_class.field_names()
        lookup = config_class.field
    else:
        fields = {f.name: f for f in dataclasses.fields(config_class)}
        known, lookup = sorted(fields), lambda n: (config_class, fields[n])
    try:
        return lookup(name)
    except KeyError:
        raise ValueError(f"{key}: {config_class.__name__} has no field {name!r}; known: {known}") from None


def run_values(protocol, settings: dict[str, str]) -> dict:
    """The typed configuration's field values of one run (all but the seed), from the
    sweep's KEY=VALUE settings: ``FIELD`` or ``circuit.FIELD`` / ``agent.FIELD``."""
    keys = sweep_keys(protocol)
    values, overrides = {}, {}
    for key, text in settings.items():
        prefix, dot, name = key.partition(".")
        if key == "seed":
            raise ValueError("the seeds are given by --seeds, not as a key")
        if dot:
            if prefix != protocol.json_option:
                raise ValueError(f"key {key!r}: {protocol.name} has no JSON overrides {prefix!r}"
                                 + (f"; use {protocol.json_option}.FIELD" if protocol.json_option else ""))
            owner, nested = _override_field(protocol.config_class, key, name)
            overrides[name] = typed_value(owner, nested, key, text)
            continue
        if key not in keys:
            raise ValueError(f"unknown key {key!r} for {protocol.name}; known: {', '.join(sorted(keys))}"
                             + (f", {protocol.json_option}.FIELD" if protocol.json_option else ""))
        values[key] = typed_value(protocol.typed, keys[key], key, text)
    if overrides:
        values[protocol.json_option] = {**values.get(protocol.json_option, {}), **overrides}
    return values


def config_hash(protocol: str, config: dict) -> str:
    text = json.dumps({"protocol": protocol, **config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def plan_runs(protocol_name: str, seeds, grid: dict[str, list[str]], fixed: dict[str, str],
              directory: Path) -> list[RunSpec]:
    """Every (setting, seed) run, each a typed configuration checked on construction: ValueError
    (naming the key or value) before any run when one is bad."""
    protocol = get_protocol(protocol_name)
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"{', '.join(both)} given both with --grid and --set; use one")
    directory = Path(directory)
    runs, seen = [], {}
    for combination in itertools.product(*grid.values()):
        settings = {**fixed, **dict(zip(grid, combination))}
        for seed in seeds:
            values = run_values(protocol, settings)
            try:
                config = protocol.make_config(values, seed)
            except ValueError as error:
                where = ", ".join(f"{k}={v}" for k, v in settings.items()) or "the defaults"
                raise ValueError(f"{protocol.name} with {where} (seed {seed}): {error}") from None
            name = f"{protocol.name}-{config_hash(protocol.name, protocol.stored(config))}"
            if name in seen:
                raise ValueError(f"settings {seen[name]} and {settings} give the same run configuration; "
                                 f"list each value once")
            seen[name] = settings
            runs.append(RunSpec(protocol.name, seed, settings, config, name,
                                str(directory / "runs" / f"{name}.h5"), str(directory / "logs" / f"{name}.log")))
    return runs
