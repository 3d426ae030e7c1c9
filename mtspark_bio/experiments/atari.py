"""The Atari protocol's library: its plan, its agents on a device, its result file.

``protocols/atari.py`` composes these into the protocol (methods in its docstring):

* :class:`Plan` — everything decided before simulating (games, schedule, exploration,
  the seeds of every environment); building it validates the configuration;
* :class:`Runner` — the agents' network (compiled once, in a closed loop with the
  games) and the random agent;
* :class:`ResultFile` — the HDF5 file: scores so far and the state to resume;
* :func:`format_table` — the printed score matrices, metrics and the comparison with
  random play and the published scores.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mtspark_bio.blocks import BlockRecord
from mtspark_bio.errors import ConfigError, option
from mtspark_bio.models.agent_readouts import DEFAULT_AGENT_READOUT

DEFAULTS = {
    "games": ["pong", "breakout", "enduro"], "frames": 20_000, "switch_every": 10_000,
    "eval_episodes": 1, "final_eval_episodes": 30, "eval_max_frames": 18_000, "eval_epsilon": 0.05,
    "epsilon_start": 0.3, "epsilon_end": 0.05, "epsilon_decay": 0.5, "agents": ["dendritic", "random"],
    "device": "cpp", "threads": 1, "compiler_flags": "vectorising", "seed": 0, "sticky": True, "chunk_steps": 500, "agent": {}, "readout": DEFAULT_AGENT_READOUT.rule,
}
LEARNING_AGENTS = ("dendritic", "point")
AGENTS = LEARNING_AGENTS + ("random",)
#: MTSpark's multi-task scores (Devkota et al. 2024), printed beside the random and human
#: rows of Mnih et al. 2015 (mtspark_bio.atari.RANDOM_HUMAN)
MTSPARK = {"pong": -5.4, "breakout": 0.6, "enduro": 371.2}


def frames_of_block(config: dict, n_games: int, block: int) -> int:
    """Training frames of a block under ``config`` (``frames`` per game, a switch every
    ``switch_every``): the last cycle may be shorter."""
    cycle = block // n_games
    return min(config["switch_every"], config["frames"] - cycle * config["switch_every"])


class Plan:
    """Everything decided before simulating; building it validates the configuration."""

    def __init__(self, config: dict):
        from mtspark_bio.agent import AgentConfig
        from mtspark_bio.atari import MOTION_CODES, Preprocessor, check_games
        from mtspark_bio.closed_loop import CUDA_UNSUPPORTED

        config = {**DEFAULTS, **config}
        problems = []
        try:
            config["games"] = check_games(config["games"])
        except ValueError as error:
            problems.append(str(error))
        for key in ("frames", "switch_every", "eval_episodes", "eval_max_frames", "chunk_steps"):
            if int(config[key]) < 1:
                problems.append(f"{option(key)} must be >= 1 (got {config[key]})")
        unknown = [a for a in config["agents"] if a not in AGENTS]
        if unknown or not config["agents"]:
            problems.append(f"{option('agents')}: unknown agent(s) {unknown}; choose from {', '.join(AGENTS)}")
        if len(set(config["agents"])) != len(config["agents"]):
            problems.append(f"{option('agents')} lists an agent twice")
        if config["device"] == "cuda":
            problems.append(CUDA_UNSUPPORTED)
        else:
            from mtspark_bio.devices import DeviceOptions

            problems += DeviceOptions.from_protocol_config(config).problems()
        fields = AgentConfig.field_names()
        bad = sorted(set(config["agent"]) - set(fields) - set(AgentConfig.SECTIONS))
        if bad:
            problems.append(f"{option('agent')} has unknown keys {bad}; known: {fields}")
        if "readout" in config["agent"]:
            problems.append(f"choose the readout with {option('readout')} and give its parameters flat, "
                            f"not as a readout entry of {option('agent')}")
        if not 0 <= config["epsilon_end"] <= config["epsilon_start"] <= 1 or not 0 < config["epsilon_decay"] <= 1:
            problems.append(f"exploration needs 0 <= {option('epsilon_end')} <= {option('epsilon_start')} <= 1 and "
                            f"0 < {option('epsilon_decay')} <= 1 (got {config['epsilon_end']}, "
                            f"{config['epsilon_start']}, {config['epsilon_decay']})")
        if int(config["final_eval_episodes"]) < 0:
            problems.append(f"{option('final_eval_episodes')} must be >= 0 (got {config['final_eval_episodes']})")
        if problems:
            raise ConfigError("; ".join(problems))
        self.config = config
        self.games = config["games"]
        self.learners = [a for a in config["agents"] if a in LEARNING_AGENTS]
        n_cycles = math.ceil(config["frames"] / config["switch_every"])
        self.schedule = [g for _ in range(n_cycles) for g in range(len(self.games))]
        motion = config["agent"].get("motion", (config["agent"].get("input") or {}).get("motion", "change"))
        n_features = Preprocessor(self.games[0], motion=motion).n_features if motion in MOTION_CODES else 1
        try:
            self.agent = AgentConfig.from_overrides(
                n_features=n_features, n_games=len(self.games), readout=config["readout"],
                **{"seed": config["seed"], **config["agent"]}).validate()
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{option('agent')}: {error}") from None

    def device_options(self):
        """How the agents' network is simulated (``devices.DeviceOptions``)."""
        from mtspark_bio.devices import DeviceOptions

        return DeviceOptions.from_protocol_config(self.config)

    def block_frames(self, block: int) -> int:
        """Training frames of a block (the last cycle may be shorter)."""
        return frames_of_block(self.config, len(self.games), block)

    def frames_before(self, block: int) -> int:
        """Training frames the block's game had before this block."""
        game = self.schedule[block]
        return sum(self.block_frames(b) for b in range(block) if self.schedule[b] == game)

    def epsilon(self, block: int):
        """Exploration: linear from epsilon_start to epsilon_end over each game's first
        ``epsilon_decay`` of its training frames, as a function of the frames played in this block."""
        start, end = self.config["epsilon_start"], self.config["epsilon_end"]
        horizon = max(1, int(self.config["frames"] * self.config["epsilon_decay"]))
        before = self.frames_before(block)
        return lambda frames: end + (start - end) * max(0.0, 1 - (before + frames) / horizon)

    PURPOSES = ("train_env", "eval_env", "random_agent", "agent_train", "agent_eval")

    def seed(self, block: int, game: int, purpose: str, agent: int = 0) -> int:
        """A seed that is a pure function of (seed, block, game, purpose, agent):
        environments and exploration of every block are reproducible, which is what
        --resume relies on. ``block`` -1 is the untrained evaluation."""
        keys = [self.config["seed"], block + 1, game, self.PURPOSES.index(purpose), agent]
        return int(np.random.default_rng(keys).integers(2**31 - 1))


class Runner:
    """The agents' network (compiled once) and the random agent."""

    def __init__(self, plan: Plan, build_dir=None, progress=None):
        from mtspark_bio.closed_loop import ClosedLoop, controller_class

        self.plan, self.progress = plan, progress
        self.loop = (ClosedLoop(plan.agent, plan.learners, device=plan.device_options(),
                                chunk_steps=plan.config["chunk_steps"], build_dir=build_dir)
                     if plan.learners else None)
        self.training_scores = {a: [] for a in plan.learners}  # (block, score)
        self.controller_class = controller_class(plan.agent)

    def _controllers(self, game: int, mode: str, block: int, **kwds) -> dict:
        cfg = self.plan.agent
        purpose = "agent_" + ("train" if mode == "train" else "eval")
        controller = self.controller_class
        return {a: controller(self.plan.games[game], cfg, np.random.default_rng(self.plan.seed(block, game, purpose, k)),
                              mode, sticky=self.plan.config["sticky"], **kwds)
                for k, a in enumerate(self.plan.learners)}

    def _stage(self, block: int) -> str:
        n_blocks = len(self.plan.schedule)
        return ("untrained" if block < 0 else "final" if block >= n_blocks else f"block {block + 1}/{n_blocks}")

    def _play(self, controllers: dict, game: int, stage: str, total: int, unit: str):
        if self.progress is not None:
            self.progress.start(f"{stage} {self.plan.games[game]}", total, unit)
        try:
            self.loop.play(controllers, game, progress=self.progress)
        finally:
            for c in controllers.values():
                c.close()

    def train(self, block: int):
        if self.loop is None:
            return
        game = self.plan.schedule[block]
        controllers = self._controllers(game, "train", block, frames=self.plan.block_frames(block),
                                        epsilon=self.plan.epsilon(block), env_seed=self.plan.seed(block, game, "train_env"))
        self._play(controllers, game, f"{self._stage(block)} training", self.plan.block_frames(block), "frames")
        for a, c in controllers.items():
            self.training_scores[a] += [(block, s) for s in c.log.scores]

    def evaluate(self, block: int, episodes: int | None = None) -> dict[str, np.ndarray]:
        """Episode scores (agents x games x episodes) after ``block`` (-1: untrained;
        ``len(schedule)``: the final evaluation, on environments of its own, which also
        sets ``information``: per agent and game, I(action; state) in bits over its
        steps, ``state_dependence``)."""
        from mtspark_bio.closed_loop import play_random
        from mtspark_bio.state_dependence import action_state_bits

        cfg = self.plan.config
        final = block >= len(self.plan.schedule)
        episodes = cfg["eval_episodes"] if episodes is None else episodes
        scores = {a: np.zeros((len(self.plan.games), episodes)) for a in cfg["agents"]}
        self.information = {a: np.full(len(self.plan.games), np.nan) for a in cfg["agents"]}
        for game, name in enumerate(self.plan.games):
            env_seed = self.plan.seed(block, game, "eval_env")
            if self.loop is not None:
                controllers = self._controllers(game, "evaluate", block, episodes=episodes,
                                                epsilon=cfg["eval_epsilon"], env_seed=env_seed,
                                                max_episode_frames=cfg["eval_max_frames"], record_actions=final)
                self._play(controllers, game, f"{self._stage(block)} evaluation", episodes, "episodes")
                for a, c in controllers.items():
                    scores[a][game] = c.log.scores[:episodes]
                    if final:
                        self.information[a][game] = c.action_state_information()
            if "random" in scores:
                steps = [] if final else None
                log = play_random(name, episodes, np.random.default_rng(self.plan.seed(block, game, "random_agent")),
                                  sticky=cfg["sticky"], env_seed=env_seed, max_episode_frames=cfg["eval_max_frames"],
                                  record=steps)
                scores["random"][game] = log.scores
                if final:
                    self.information["random"][game] = action_state_bits(*zip(*steps)) if steps else np.nan
        return scores

    def close(self):
        if self.loop is not None:
            self.loop.close()


class ResultFile(BlockRecord):
    """The protocol's HDF5 file: results so far plus the state needed to resume."""

    def __init__(self, path: Path, plan: Plan):
        self.path, self.plan = Path(path), plan
        n_blocks, n_games, episodes = len(plan.schedule), len(plan.games), plan.config["eval_episodes"]
        self.scores = {a: np.full((n_blocks, n_games, episodes), np.nan) for a in plan.config["agents"]}
        self.baseline = {a: np.full((n_games, episodes), np.nan) for a in plan.config["agents"]}
        self.blocks_done = -1  # -1: not even the untrained evaluation
        # after the last block, final_eval_episodes per game on environments of their own
        self.final = {a: np.full((n_games, plan.config["final_eval_episodes"]), np.nan)
                      for a in plan.config["agents"]}
        # per game, I(action; state) in bits over the final evaluation's steps
        self.information = {a: np.full(n_games, np.nan) for a in plan.config["agents"]}

    @property
    def final_done(self) -> bool:
        return all(np.isfinite(s).all() for s in self.final.values())

    def per_block(self) -> dict:
        return self.scores  # episode scores

    def matrix(self, agent: str) -> np.ndarray:
        return self.scores[agent].mean(axis=2)

    def load(self, runner: Runner | None = None):
        """Read the scores so far and, given a ``runner``, restore its agents' state."""
        from mtspark_bio.readers import load_atari

        stored = load_atari(self.path, state=runner is not None)
        self.blocks_done = stored.blocks_done
        for a in self.scores:
            agent = stored.agents[a]
            self.scores[a], self.baseline[a] = agent.episode_scores, agent.baseline_episode_scores
            if agent.final_scores is not None:
                self.final[a] = agent.final_scores
            if agent.action_state_bits is not None:
                self.information[a] = agent.action_state_bits
            if runner is None:
                continue
            if a in runner.training_scores:
                runner.training_scores[a] = list(zip(agent.training_block.tolist(), agent.training_scores.tolist()))
            if agent.state and runner.loop is not None:
                runner.loop.state[a] = runner.controller_class.restore(agent.state, self.plan.agent)

    def save(self, runner: Runner, final: bool = False):
        from mtspark_bio.atari import human_normalised
        from mtspark_bio.metrics import METRIC_NAMES, continual_metrics, forgetting_per_task
        from mtspark_bio.results import atomic_h5, write_arrays

        with atomic_h5(self.path) as f:
            # complete only once the final evaluation is in as well
            self.write_header(f, "atari", "agent_config", self.plan.agent, final and self.final_done)
            if runner.loop is not None:
                f.attrs["build_s"] = runner.loop.sim.timings["build_s"]
            for a in self.scores:
                group = f.create_group(f"agents/{a}")
                group.create_dataset("score_matrix", data=self.matrix(a))
                group.create_dataset("score_std", data=self.scores[a].std(axis=2))
                group.create_dataset("episode_scores", data=self.scores[a])
                group.create_dataset("baseline_score", data=self.baseline[a].mean(axis=1))
                group.create_dataset("baseline_episode_scores", data=self.baseline[a])
                hns, hns_baseline = (human_normalised(self.matrix(a), self.plan.games),
                                     human_normalised(self.baseline[a].mean(axis=1), self.plan.games))
                group.create_dataset("score_matrix_hns", data=hns)
                group.create_dataset("baseline_score_hns", data=hns_baseline)
                played = runner.training_scores.get(a, [])
                group.create_dataset("training_block", data=np.array([b for b, _ in played], dtype=np.int64))
                group.create_dataset("training_scores", data=np.array([s for _, s in played], dtype=float))
                # the metrics on the human-normalised scale (games comparable), raw beside them
                unfinished = dict.fromkeys(METRIC_NAMES, np.nan)
                metrics = continual_metrics(hns, self.plan.schedule, hns_baseline) if final else unfinished
                raw = (continual_metrics(self.matrix(a), self.plan.schedule, self.baseline[a].mean(axis=1))
                       if final else unfinished)
                for key in METRIC_NAMES:
                    group.attrs[key] = metrics[key]
                    group.attrs[f"raw_{key}"] = raw[key]
                group.create_dataset("forgetting_per_game", data=forgetting_per_task(self.matrix(a), self.plan.schedule)
                                     if final else np.full(len(self.plan.games), np.nan))
                group.create_dataset("final_episode_scores", data=self.final[a])
                group.create_dataset("final_p_vs_random", data=self.p_vs_random(a))
                group.create_dataset("final_action_state_bits", data=self.information[a])
                state = runner.loop.state.get(a) if runner.loop is not None else None
                if state is not None:
                    write_arrays(group.create_group("state"), runner.controller_class.stored(state))

    def p_vs_random(self, agent: str) -> np.ndarray:
        """Per game, the one-sided Mann-Whitney U p of the final evaluation, ``agent`` >
        random on the same environment seeds (NaN without a random agent, for it, or
        before the final evaluation)."""
        from scipy.stats import mannwhitneyu

        p = np.full(len(self.plan.games), np.nan)
        random = self.final.get("random")
        if agent != "random" and random is not None and self.final_done and random.shape[1] > 0:
            for g in range(len(p)):
                p[g] = mannwhitneyu(self.final[agent][g], random[g], alternative="greater").pvalue
        return p


def format_table(result: ResultFile) -> str:
    from mtspark_bio.atari import RANDOM_HUMAN, human_normalised
    from mtspark_bio.metrics import continual_metrics, forgetting_per_task

    plan = result.plan
    games = plan.games
    lines = []
    for a in result.scores:
        lines.append(f"\n{a}: mean raw score S[block, game] ({result.scores[a].shape[2]} episode(s) each)")
        lines.append("                  " + " ".join(f"{g:>9}" for g in games))
        lines.append("  init            " + " ".join(f"{s:9.1f}" for s in result.baseline[a].mean(axis=1)))
        for b, row in enumerate(result.matrix(a)):
            lines.append(f"  {b:2d} ({games[plan.schedule[b]]:<9}) " + " ".join(f"{s:9.1f}" for s in row))
    lines.append(f"\n{'agent':<10} {'scale':<6} {'ACC':>8} {'BWT':>8} {'FWT':>8} {'F':>8}   "
                 f"forgetting per game (raw; the last block's game: -)")
    for a in result.scores:
        raw, baseline = result.matrix(a), result.baseline[a].mean(axis=1)
        for scale, R, b in (("HNS %", human_normalised(raw, games), human_normalised(baseline, games)),
                            ("raw", raw, baseline)):
            m = continual_metrics(R, plan.schedule, b)
            per_game = ""
            if scale == "raw":
                per_game = "  " + "  ".join(f"{g} {f:.1f}" if np.isfinite(f) else f"{g} -"
                                            for g, f in zip(games, forgetting_per_task(raw, plan.schedule)))
            lines.append(f"{a:<10} {scale:<6} {m['acc']:8.2f} {m['bwt']:8.2f} {m['fwt']:8.2f} "
                         f"{m['forgetting']:8.2f}{per_game}")
    lines.append("HNS %: human-normalised score, 100 (score - random) / (human - random) with the random and "
                 "human scores of Mnih et al. 2015")
    if "random" in result.scores and result.final_done and result.final["random"].shape[1] > 0:
        lines.append(f"\nfinal evaluation, {result.final['random'].shape[1]} episodes per game on environments of "
                     "its own, learner vs random (mean +- s.d.; one-sided Mann-Whitney U p, learner > random):")
        for a in plan.learners:
            for g, game in enumerate(games):
                mine, rand = result.final[a][g], result.final["random"][g]
                lines.append(f"  {a:<10} {game:<9} {mine.mean():7.1f} +- {mine.std():5.1f}  vs  "
                             f"{rand.mean():7.1f} +- {rand.std():5.1f}   p = {result.p_vs_random(a)[g]:.3g}")
    if result.final_done and any(np.isfinite(bits).any() for bits in result.information.values()):
        from mtspark_bio.state_dependence import STATE_VARIABLES

        lines.append("\nstate dependence in the final evaluation: I(action; state) in bits (Miller-Madow), state per "
                     "game: " + "; ".join(f"{g}: {STATE_VARIABLES[g].description}" for g in games if g in STATE_VARIABLES))
        lines.append(f"  {'agent':<10} " + " ".join(f"{g:>9}" for g in games))
        for a, bits in result.information.items():
            lines.append(f"  {a:<10} " + " ".join(f"{b:9.3f}" for b in bits))
    lines.append("\npublished (game: MTSpark / random / human, Mnih et al. 2015 without sticky actions):")
    lines += [f"  {g}: {MTSPARK[g]} / {RANDOM_HUMAN[g][0]} / {RANDOM_HUMAN[g][1]}" for g in games]
    return "\n".join(lines)
