"""The protocols a sweep can run: their typed configuration, run and metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtspark_bio.front import api

#: protocols whose runs a sweep makes besides the physiology protocols: their typed
#: configuration, the field holding JSON overrides, and the class those override
BLOCK_PROTOCOLS = {"forgetting": (api.ForgettingConfig, "circuit", "mtspark_bio.circuit:CircuitConfig"),
                   "atari": (api.AtariConfig, "agent", "mtspark_bio.agent:AgentConfig")}
#: fields a sweep sets itself, never a KEY
RESERVED = ("seed", "name")


class BlockProtocol:
    """forgetting / atari: runs of the typed configuration of :mod:`mtspark_bio.front.api`
    (checked, data loaded, on construction); result groups under ``/variants`` or
    ``/agents`` with the continual-learning metrics as attributes."""

    def __init__(self, name: str):
        import importlib

        self.typed, self.json_option, overridden = BLOCK_PROTOCOLS[name]
        self.name = name
        path, cls = overridden.split(":")
        self.config_class = getattr(importlib.import_module(path), cls)

    def make_config(self, values: dict, seed: int):
        return self.typed(**values, seed=seed)

    def stored(self, config) -> dict:
        """The configuration as the result file stores it (what names the run)."""
        return config.as_protocol_config()

    def run(self, config, out: Path, resume: bool, log):
        runner = api.run_forgetting if self.name == "forgetting" else api.run_atari
        runner(config, out, resume=resume, log=log)  # draws no figure

    def is_complete(self, path: Path) -> bool:
        from mtspark_bio.results import is_complete

        return is_complete(path)

    def metrics(self, path: Path) -> dict[str, dict[str, float]]:
        """{variant or agent: {metric: value}} (``mtspark_bio.readers``); forgetting adds
        the tasks' active-set overlap, the hidden spikes per test presentation and their
        share from ungated cells (means over tasks), Atari the metrics on raw scores (``raw_<metric>``;
        the plain ones are human-normalised) and each game's mean score after the last
        block (``final_<game>``)."""
        from mtspark_bio import readers

        if self.name == "atari":
            result = readers.load_atari(path)
            return {name: {**agent.metrics, **{f"raw_{k}": v for k, v in agent.raw_metrics.items()},
                           **{f"final_{game}": float(score) for game, score in zip(result.games, agent.score[-1])}}
                    for name, agent in result.agents.items()}
        result = readers.load_forgetting(path)
        return {name: {**variant.metrics, "active_overlap": variant.active_overlap,
                       **{key: float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
                          for key, values in variant.activity.items()}}
                for name, variant in result.variants.items()}


class PhysiologyProtocol:
    """A physiology protocol (:class:`mtspark_bio.front.api.ProtocolConfig`: device,
    seed, preset); its key numbers are the result file's float root attributes; the
    file is written once, at the end."""

    typed = api.ProtocolConfig
    json_option = None

    def __init__(self, name: str):
        from mtspark_bio.protocols import physiology

        physiology.protocol_module(name)  # ValueError naming the choices
        self.name = name

    def make_config(self, values: dict, seed: int) -> api.ProtocolConfig:
        return api.ProtocolConfig(self.name, seed=seed, **values)

    def stored(self, config: api.ProtocolConfig) -> dict:
        return {"device": config.device, "seed": config.seed, **config.options()}

    def run(self, config: api.ProtocolConfig, out: Path, resume: bool, log):
        api.run_protocol(config, out, log=log)

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

