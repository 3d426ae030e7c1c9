"""The protocols a sweep can run: their options, validation, run and metrics."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path


#: protocols whose runs a sweep makes besides the physiology protocols
BLOCK_PROTOCOLS = {"forgetting": ("circuit", "mtspark_bio.circuit:CircuitConfig"),
                   "atari": ("agent", "mtspark_bio.agent:AgentConfig")}
#: options a sweep sets itself, never a KEY
RESERVED = ("out", "resume", "build_dir", "no_figure", "seed", "help")


class _RaisingParser(argparse.ArgumentParser):
    """A protocol's parser that raises ValueError instead of exiting, so a bad value in one
    run's arguments is reported as the sweep's bad input."""

    def error(self, message):
        raise ValueError(message)


# ------------------------------------------------------------------ protocols

class BlockProtocol:
    """forgetting / atari: the command line's options (``mtspark_bio.front.options``), the
    library's ``Plan`` (validates; ``mtspark_bio.experiments``) and the protocol's
    ``run``; result groups under ``/variants`` or ``/agents`` with the
    continual-learning metrics as attributes."""

    def __init__(self, name: str):
        from mtspark_bio.front import options

        self.json_option, config_class = BLOCK_PROTOCOLS[name]
        self.name = name
        self.add_arguments = getattr(options, f"add_{name}_arguments")
        self.config = getattr(options, f"{name}_config")
        self.plan = importlib.import_module(f"mtspark_bio.experiments.{name}").Plan
        self.protocol = importlib.import_module(f"mtspark_bio.protocols.{name}")
        path, cls = config_class.split(":")
        self.config_class = getattr(importlib.import_module(path), cls)

    def positional(self) -> list[str]:
        return []

    def validate(self, config: dict):
        self.plan(config)

    def run(self, config: dict, out: Path, resume: bool, log):
        self.protocol.run(config, out, resume=resume, log=log)  # draws no figure

    def is_complete(self, path: Path) -> bool:
        from mtspark_bio.results import is_complete

        return is_complete(path)

    def metrics(self, path: Path) -> dict[str, dict[str, float]]:
        """{variant or agent: {metric: value}} (``mtspark_bio.readers``); forgetting adds
        the tasks' active-set overlap, Atari the metrics on raw scores (``raw_<metric>``;
        the plain ones are human-normalised) and each game's mean score after the last
        block (``final_<game>``)."""
        from mtspark_bio import readers

        if self.name == "atari":
            result = readers.load_atari(path)
            return {name: {**agent.metrics, **{f"raw_{k}": v for k, v in agent.raw_metrics.items()},
                           **{f"final_{game}": float(score) for game, score in zip(result.games, agent.score[-1])}}
                    for name, agent in result.agents.items()}
        result = readers.load_forgetting(path)
        return {name: {**variant.metrics, "active_overlap": variant.active_overlap}
                for name, variant in result.variants.items()}


class PhysiologyProtocol:
    """A physiology protocol: options ``--device`` and ``--seed``; its key numbers are the
    result file's float root attributes; the file is written once, at the end."""

    json_option = None

    def __init__(self, name: str):
        from mtspark_bio.protocols import physiology

        self.name = name
        self.physiology = physiology
        physiology.protocol_module(name)  # ValueError naming the choices

    def add_arguments(self, parser):
        from mtspark_bio.front.options import add_physiology_arguments

        add_physiology_arguments(parser)  # its first argument is the protocol's name

    def positional(self) -> list[str]:
        return [self.name]

    def config(self, args) -> dict:
        device = self.physiology.check_device(args.device or self.physiology.default_device(self.name))
        options = {k: v for k, v in vars(args).items() if k not in (*RESERVED, "device", "name") and v is not None}
        return {"device": device, "seed": args.seed, **options}

    def validate(self, config: dict):
        from mtspark_bio.front.api import ProtocolConfig

        ProtocolConfig(self.name, **config)  # device and preset, as the API checks them

    def run(self, config: dict, out: Path, resume: bool, log):
        options = {k: v for k, v in config.items() if k not in ("device", "seed")}
        self.physiology.run(self.name, out, device=config["device"], seed=config["seed"], log=log, **options)

    def is_complete(self, path: Path) -> bool:
        from mtspark_bio.readers import open_result

        if not path.exists():
            return False
        with open_result(path, self.name):  # written atomically, once: complete unless damaged
            return True

    def metrics(self, path: Path) -> dict[str, dict[str, float]]:
        from mtspark_bio.readers import PhysiologyResult

        return {"": PhysiologyResult(path, self.name).numbers}


def get_protocol(name: str):
    if name in BLOCK_PROTOCOLS:
        return BlockProtocol(name)
    from mtspark_bio.protocols.physiology import PROTOCOLS

    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; choose one of {', '.join([*BLOCK_PROTOCOLS, *PROTOCOLS])}")
    return PhysiologyProtocol(name)


def protocol_parser(protocol) -> _RaisingParser:
    parser = _RaisingParser(prog=f"mtspark-bio {protocol.name}", add_help=False)
    protocol.add_arguments(parser)
    return parser
