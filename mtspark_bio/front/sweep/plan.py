"""Planning: seeds, settings, each run's argument list and resolved configuration."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from pathlib import Path

from mtspark_bio.front.sweep.protocols import RESERVED, BlockProtocol, get_protocol, protocol_parser


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run: what a worker needs (picklable) and what the tables report."""

    protocol: str
    seed: int
    settings: dict  # KEY -> value as given on the command line (grid and --set)
    config: dict  # the protocol's resolved configuration
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


def _field_value(config_class, option: str, field: str, text: str):
    """The JSON override value of ``config_class.field`` from its command-line text,
    checked against the field's type (a wrong type is bad input, not a crash later)."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    if field not in fields:
        raise ValueError(f"{option}.{field}: {config_class.__name__} has no field {field!r}; known: {sorted(fields)}")
    default = fields[field].default
    if fields[field].default_factory is not dataclasses.MISSING:  # a nested configuration, e.g. the readout rule
        kind = dict
    else:
        kind = type(default) if default is not dataclasses.MISSING else str
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    ok = (isinstance(value, bool) if kind is bool
          else isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float
          else isinstance(value, int) and not isinstance(value, bool) if kind is int
          else isinstance(value, kind))
    if not ok:
        raise ValueError(f"{option}.{field}={text!r}: {config_class.__name__}.{field} is of type {kind.__name__}, "
                         f"not {type(value).__name__}")
    return float(value) if kind is float else value


def run_argv(protocol, parser, settings: dict[str, str], seed: int) -> list[str]:
    """The protocol's own argument list for one run (no --out)."""
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    argv = ["--seed", str(seed)]
    overrides = {}
    for key, value in settings.items():
        prefix, dot, field = key.partition(".")
        if dot:
            if prefix != protocol.json_option:
                raise ValueError(f"key {key!r}: {protocol.name} has no JSON overrides {prefix!r}"
                                 + (f"; use {protocol.json_option}.FIELD" if protocol.json_option else ""))
            overrides[field] = _field_value(BlockProtocol(protocol.name).config_class, prefix, field, value)
            continue
        if key == "seed":
            raise ValueError("the seeds are given by --seeds, not as a key")
        if key not in actions or key in RESERVED:
            known = sorted(set(actions) - set(RESERVED))
            raise ValueError(f"unknown key {key!r} for {protocol.name}; known: {', '.join(known)}"
                             + (f", {protocol.json_option}.FIELD" if protocol.json_option else ""))
        action = actions[key]
        if action.nargs == 0:  # a flag such as --no-sticky
            if value.lower() not in ("true", "false"):
                raise ValueError(f"key {key!r} is a flag; give true or false, not {value!r}")
            argv += [action.option_strings[-1]] if value.lower() == "true" else []
        else:
            argv += [action.option_strings[-1], value]
    if overrides:
        base = settings.get(protocol.json_option, "{}")
        try:
            merged = {**json.loads(base), **overrides}
        except json.JSONDecodeError as error:
            raise ValueError(f"{protocol.json_option}={base!r} is not valid JSON ({error})") from None
        argv += [f"--{protocol.json_option}", json.dumps(merged)]
    return argv


def config_hash(protocol: str, config: dict) -> str:
    text = json.dumps({"protocol": protocol, **config}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def plan_runs(protocol_name: str, seeds, grid: dict[str, list[str]], fixed: dict[str, str],
              directory: Path) -> list[RunSpec]:
    """Every (setting, seed) run, each parsed and validated by the protocol: ValueError
    (naming the key or value) before any run when one is bad."""
    protocol = get_protocol(protocol_name)
    parser = protocol_parser(protocol)
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"{', '.join(both)} given both with --grid and --set; use one")
    directory = Path(directory)
    runs, seen = [], {}
    for combination in itertools.product(*grid.values()):
        settings = {**fixed, **dict(zip(grid, combination))}
        for seed in seeds:
            argv = run_argv(protocol, parser, settings, seed)
            try:
                config = protocol.config(parser.parse_args([*protocol.positional(), "--out", "unused.h5", *argv]))
                protocol.validate(config)
            except ValueError as error:
                where = ", ".join(f"{k}={v}" for k, v in settings.items()) or "the defaults"
                raise ValueError(f"{protocol.name} with {where} (seed {seed}): {error}") from None
            name = f"{protocol.name}-{config_hash(protocol.name, config)}"
            if name in seen:
                raise ValueError(f"settings {seen[name]} and {settings} give the same run configuration; "
                                 f"list each value once")
            seen[name] = settings
            runs.append(RunSpec(protocol.name, seed, settings, config, name,
                                str(directory / "runs" / f"{name}.h5"), str(directory / "logs" / f"{name}.log")))
    return runs
