"""Small measurements behind issue 17 (what stops the Atari agent), each printed with its numbers.

``probe``: train one game for FRAMES with an ``AgentConfig`` override (JSON), print per quarter
of training the value V, the spread of Q, the spikes per neuron and step of V and of the action
populations, the mean |TD error| and the entropy of the actions taken, then evaluate EPISODES
episodes (epsilon 0.05) against a random agent on the same environment seeds; saves the
per-step records as .npz.

``constant``: the score of always playing one action (5 % random actions, sticky actions),
10 episodes per action: what a policy that ignores the screen scores.

``decode``: random play on Pong; the hidden layer's spike counts per agent step (compiled,
from the network) and the game's RAM (player paddle y = ram[51], ball y = ram[54], ball x =
ram[49]); a 5-fold cross-validated logistic regression reads "ball above or below the paddle"
(by more than 8 RAM units) from the hidden counts and from the input features.

    python benchmarks/atari_probe.py probe pong 100000 '{"input_total_hz": 14000}' out.npz 5
    python benchmarks/atari_probe.py constant breakout 4,3,1,0
    python benchmarks/atari_probe.py decode '{"motion": "on_off"}' out.npz 8
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mtspark_bio.agent import AgentConfig
from mtspark_bio.atari import N_ACTIONS, Preprocessor, make_env
from mtspark_bio.closed_loop import AgentController, ClosedLoop, play_random


def _config(game: str, overrides: dict, **kwds) -> AgentConfig:
    motion = overrides.get("motion", "change")
    return AgentConfig.from_overrides(n_features=Preprocessor(game, motion=motion).n_features, n_games=1,
                                      **{**kwds, **overrides}).validate()


def _entropy(actions) -> float:
    p = np.bincount(actions, minlength=N_ACTIONS) / max(1, len(actions))
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(N_ACTIONS))


def probe(game: str, frames: int, overrides: dict, out: str, episodes: int, seed: int):
    cfg = _config(game, overrides, seed=seed)
    start = time.time()
    loop = ClosedLoop(cfg, ["dendritic"], device="cpp", chunk_steps=500)
    print(f"built {time.time() - start:.0f}s", flush=True)
    n_value = cfg.readout.n_value + cfg.readout.n_value_opponent

    class Recorded(AgentController):
        def __init__(self, *args, **kwds):
            super().__init__(*args, **kwds)
            self.record, self.rewards = [], []

        def values(self, counts):
            value, q = super().values(counts)
            self.record.append((value, q.max() - q.min(), counts[:n_value].mean(), counts[n_value:].mean()))
            return value, q

        def remember(self, value, action, reward, terminal):
            self.rewards.append(reward)
            super().remember(value, action, reward, terminal)

    epsilon = lambda f: 0.05 + 0.25 * max(0.0, 1 - f / max(1, frames // 2))  # noqa: E731 (as the protocol)
    trained = Recorded(game, cfg, np.random.default_rng(seed + 100), "train", frames=frames, epsilon=epsilon,
                       env_seed=seed, record_actions=True)
    start = time.time()
    loop.play({"dendritic": trained}, 0)
    record, actions, deltas = np.array(trained.record), np.array(trained.actions), np.array(trained.deltas)
    print(f"train {frames} frames in {time.time() - start:.0f}s; episodes {len(trained.log.scores)}")
    quarter = max(1, len(record) // 4)
    for k in range(4):
        part = slice(k * quarter, (k + 1) * quarter)
        top = np.argsort(np.bincount(actions[part], minlength=N_ACTIONS))[::-1][:3]
        print(f" quarter {k}: V {record[part, 0].mean():+.3f}+-{record[part, 0].std():.3f} "
              f"Qspread {record[part, 1].mean():.3f} Vspk {record[part, 2].mean():.2f} Aspk {record[part, 3].mean():.2f} "
              f"|delta| {np.abs(deltas[part]).mean():.3f} action-entropy {_entropy(actions[part]):.2f} top {top}")
    evaluated = AgentController(game, cfg, np.random.default_rng(seed + 200), "evaluate", episodes=episodes,
                                epsilon=0.05, env_seed=seed + 1000, max_episode_frames=18000, record_actions=True)
    loop.play({"dendritic": evaluated}, 0)
    loop.close()
    random = play_random(game, episodes, np.random.default_rng(seed + 300), env_seed=seed + 1000,
                         max_episode_frames=18000)
    shares = np.bincount(evaluated.actions, minlength=N_ACTIONS) / len(evaluated.actions)
    print(f"eval {np.mean(evaluated.log.scores):.2f} +- {np.std(evaluated.log.scores):.2f} vs random "
          f"{np.mean(random.scores):.2f}; eval top actions {np.argsort(shares)[::-1][:4]} "
          f"shares {np.round(np.sort(shares)[::-1][:4], 2)}")
    np.savez(out, rec=record, actions=actions, deltas=deltas, rewards=np.array(trained.rewards),
             scores=np.array(trained.log.scores), eval=np.array(evaluated.log.scores),
             random=np.array(random.scores), config=json.dumps(overrides))


def constant(game: str, actions: list[int], episodes: int = 10):
    for action in actions:
        env, rng, scores = make_env(game, sticky=True, max_episode_frames=18000), np.random.default_rng(0), []
        for episode in range(episodes):
            env.reset(seed=1000 + episode)
            score, done = 0.0, False
            while not done:
                chosen = action if rng.random() > 0.05 else int(rng.integers(N_ACTIONS))
                _, reward, terminated, truncated, _ = env.step(chosen)
                score, done = score + reward, terminated or truncated
            scores.append(score)
        env.close()
        print(f"{game} action {action}: {np.mean(scores):.1f} +- {np.std(scores):.2f} ({episodes} episodes)", flush=True)


def decode(overrides: dict, out: str, n_runs: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    cfg = _config("pong", overrides, readout="surrogate")  # the surrogate agent records hidden spikes
    loop = ClosedLoop(cfg, ["dendritic"], device="cpp", chunk_steps=500)
    agent = loop.agents["dendritic"]

    class Recorder(AgentController):  # random play, nothing learned; the RAM of every observation
        def values(self, counts):
            return 0.0, np.zeros(N_ACTIONS)

        def credit(self, value):
            return np.zeros(self.n_out)

        def tag(self, action):
            return np.zeros(self.n_out)

        def step(self, counts):
            reply = super().step(counts)
            self.rams.append(self.env.unwrapped.ale.getRAM().copy())
            self.features.append(self._features.copy())
            return reply

    player = Recorder("pong", cfg, np.random.default_rng(0), "evaluate", episodes=10**6, epsilon=1.0, env_seed=3,
                      drive_amp=0.0)
    loop.exchange.controllers = {"dendritic": player}
    hidden, rams, features = [], [], []
    for _ in range(n_runs):
        loop.exchange.prepare_run()
        player.rams, player.features = [], []
        inputs = agent.state_inputs(loop.state["dendritic"], 0)
        loop.server.serve(lambda: loop.sim.run(inputs, environment=loop.server.environment), loop.exchange)
        trains = agent.hidden_trains(500)  # sample k: the response to the k-th exchange's observation
        n_hidden = cfg.hidden.n_hidden
        hidden.append(np.bincount(trains.sample * n_hidden + trains.neuron, minlength=500 * n_hidden).reshape(500, -1))
        rams.append(np.array(player.rams[:500]))
        features.append(np.array(player.features[:500]))
    loop.close()
    H, R, F = (np.concatenate(a) for a in (hidden, rams, features))
    np.savez(out, hidden=H, ram=R, features=F, config=json.dumps(overrides))
    paddle, ball_y, ball_x = R[:, 51].astype(int), R[:, 54].astype(int), R[:, 49].astype(int)
    keep = (ball_x > 0) & (ball_y > 0) & (np.abs(ball_y - paddle) > 8)
    above = (ball_y - paddle)[keep] > 0
    chance = max(above.mean(), 1 - above.mean())
    scores = {name: cross_val_score(LogisticRegression(max_iter=2000), X[keep].astype(float), above, cv=5).mean()
              for name, X in (("hidden", H), ("features", F))}
    print(f"{json.dumps(overrides)}: n={keep.sum()} chance {chance:.3f} hidden {scores['hidden']:.3f} "
          f"features {scores['features']:.3f}; hidden spikes per cell and step {H.mean():.3f}, "
          f"active cells per step {(H > 0).sum(1).mean():.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("probe")
    p.add_argument("game"), p.add_argument("frames", type=int), p.add_argument("overrides", type=json.loads)
    p.add_argument("out"), p.add_argument("episodes", type=int, nargs="?", default=5)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("constant")
    p.add_argument("game"), p.add_argument("actions", type=lambda s: [int(a) for a in s.split(",")])
    p = sub.add_parser("decode")
    p.add_argument("overrides", type=json.loads), p.add_argument("out"), p.add_argument("runs", type=int)
    args = parser.parse_args()
    if args.command == "probe":
        probe(args.game, args.frames, args.overrides, args.out, args.episodes, args.seed)
    elif args.command == "constant":
        constant(args.game, args.actions)
    else:
        decode(args.overrides, args.out, args.runs)


if __name__ == "__main__":
    main()
