"""A conventional dueling double DQN on the Atari agent's own input features (issue 29's peer).

The spiking agent (``mtspark-bio atari``) sees each game through
``mtspark_bio.atari.Preprocessor``: foreground and motion maps max-pooled onto 16 x 16
cells (512 binary features). This peer gets exactly those features, plus the previous
step's (a second frame, as DQN's frame stack gives it), plus a one-hot game context (as
the dendrites get it), and learns with the standard deep-RL machinery the local rules
lack: an MLP (two ReLU layers) with a dueling head, Q = V + A - mean(A) (Wang et al.
2016), double-DQN targets (van Hasselt et al. 2016), n-step returns, Huber loss, Adam,
a target network copied every ``--target-every`` updates, one replay memory per game
kept across blocks, rewards clipped to their sign, epsilon-greedy exploration annealed
per game (Mnih et al. 2015). Same environments as the agent: ``ALE/<Game>-v5``, frame
skip 4, the full 18 actions, sticky actions unless ``--no-sticky``.

Games are interleaved in blocks of ``--switch-every`` frames, as the protocol does; after
every block each game is evaluated (``--eval-episodes`` at epsilon ``--eval-epsilon``),
and after the last block ``--final-episodes`` per game on environment seeds no block
used. NumPy on one thread (threadpoolctl), so a frame budget costs what it would on the
agent's one core.

    python benchmarks/dqn_features.py --games breakout --frames 500000 --seed 0
    python benchmarks/dqn_features.py --games pong,breakout,enduro --frames 4000000 --switch-every 250000 --seed 0

Writes ``benchmarks/results/dqn_features-<name>-<host>.json``: the configuration, every
training episode's return with its game frame, the block evaluations, the final scores
with the share of the most-taken action, and the wall time.
"""

from __future__ import annotations

import argparse
import collections
import time

import _common
import numpy as np

from mtspark_bio.atari import N_ACTIONS, Preprocessor, check_games, make_env


class DuelingMLP:
    """x -> ReLU(W1) -> ReLU(W2) -> value (1) and advantages (18); Q = V + A - mean(A)."""

    def __init__(self, n_in: int, hidden: tuple[int, int], rng: np.random.Generator):
        sizes = {"W1": (n_in, hidden[0]), "W2": (hidden[0], hidden[1]), "Wv": (hidden[1], 1),
                 "Wa": (hidden[1], N_ACTIONS)}
        self.params = {}
        for name, (fan_in, fan_out) in sizes.items():  # He initialisation for ReLU layers
            self.params[name] = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(np.float32)
            self.params["b" + name[1:]] = np.zeros(fan_out, dtype=np.float32)

    def forward(self, x: np.ndarray):
        p = self.params
        h1 = np.maximum(x @ p["W1"] + p["b1"], 0)
        h2 = np.maximum(h1 @ p["W2"] + p["b2"], 0)
        value, advantage = h2 @ p["Wv"] + p["bv"], h2 @ p["Wa"] + p["ba"]
        return value + advantage - advantage.mean(axis=1, keepdims=True), (x, h1, h2)

    def backward(self, cache, dq: np.ndarray) -> dict:
        """Gradients of the loss given dL/dQ (batch x actions)."""
        x, h1, h2 = cache
        p = self.params
        d_value = dq.sum(axis=1, keepdims=True)
        d_advantage = dq - dq.mean(axis=1, keepdims=True)
        grads = {"Wv": h2.T @ d_value, "bv": d_value.sum(0), "Wa": h2.T @ d_advantage, "ba": d_advantage.sum(0)}
        dh2 = (d_value @ p["Wv"].T + d_advantage @ p["Wa"].T) * (h2 > 0)
        grads.update(W2=h1.T @ dh2, b2=dh2.sum(0))
        dh1 = (dh2 @ p["W2"].T) * (h1 > 0)
        grads.update(W1=x.T @ dh1, b1=dh1.sum(0))
        return grads

    def copy_from(self, other: "DuelingMLP") -> None:
        self.params = {k: v.copy() for k, v in other.params.items()}


class Adam:
    """Adam (Kingma & Ba 2015) whose moments persist across every update of the run."""

    def __init__(self, params: dict, lr: float, eps: float = 1.5e-4, betas=(0.9, 0.999)):
        self.lr, self.eps, self.betas, self.t = lr, eps, betas, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        b1, b2 = self.betas
        correction = np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            params[k] -= (self.lr * correction * self.m[k] / (np.sqrt(self.v[k]) + self.eps)).astype(np.float32)


class Replay:
    """One game's memory of n-step transitions (s, a, discounted clipped return, s', done)."""

    def __init__(self, capacity: int, n_in: int, n_step: int, gamma: float):
        self.s = np.zeros((capacity, n_in), dtype=np.uint8)
        self.s_next = np.zeros((capacity, n_in), dtype=np.uint8)
        self.a = np.zeros(capacity, dtype=np.int64)
        self.r = np.zeros(capacity, dtype=np.float32)
        self.done = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self.next = capacity, 0, 0
        self.n_step, self.gamma = n_step, gamma
        self.pending = collections.deque()

    def add(self, s, a, r, s_next, done) -> None:
        """One environment step; stores the n-step transition that step completes."""
        self.pending.append((s, a, float(np.sign(r))))
        if len(self.pending) == self.n_step:
            self._store(s_next, done)
        if done:
            while self.pending:
                self._store(s_next, True)

    def _store(self, s_next, done) -> None:
        s, a, _ = self.pending[0]
        ret = sum(self.gamma ** k * r for k, (_, _, r) in enumerate(self.pending))
        i = self.next
        # done: the return ran to the episode's end, so nothing is bootstrapped after it
        self.s[i], self.a[i], self.r[i], self.s_next[i], self.done[i] = s, a, ret, s_next, float(done)
        self.pending.popleft()
        self.next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def drop_pending(self) -> None:
        """An episode cut off by the frame cap: its last steps have no n-step return."""
        self.pending.clear()

    def horizon_discount(self) -> float:
        return self.gamma ** self.n_step

    def sample(self, rng, batch: int):
        idx = rng.integers(0, self.size, batch)
        return self.s[idx], self.a[idx], self.r[idx], self.s_next[idx], self.done[idx]


class FeaturePlayer:
    """Features of one game's observations, the previous step's beside them, and the game's one-hot context."""

    def __init__(self, game: str, games: list[str], context: bool):
        self.pre = Preprocessor(game)
        self.context = np.zeros(len(games) if context else 0, dtype=np.uint8)
        if context:
            self.context[games.index(game)] = 1
        self.previous = None

    @property
    def n_in(self) -> int:
        return 2 * self.pre.n_features + len(self.context)

    def reset(self, observation) -> np.ndarray:
        self.pre.reset()
        self.previous = self.pre(observation).astype(np.uint8)
        return np.concatenate([self.previous, self.previous * 0, self.context])

    def step(self, observation) -> np.ndarray:
        now = self.pre(observation).astype(np.uint8)
        state = np.concatenate([now, self.previous, self.context])
        self.previous = now
        return state


class Learner:
    def __init__(self, args, games: list[str], rng: np.random.Generator):
        self.args, self.rng, self.games = args, rng, games
        n_in = FeaturePlayer(games[0], games, args.context).n_in
        self.online = DuelingMLP(n_in, (args.hidden1, args.hidden2), rng)
        self.target = DuelingMLP(n_in, (args.hidden1, args.hidden2), rng)
        self.target.copy_from(self.online)
        self.adam = Adam(self.online.params, args.lr)
        self.replay = {g: Replay(args.replay, n_in, args.n_step, args.gamma) for g in games}
        self.updates = 0

    def act(self, state, epsilon: float) -> int:
        if self.rng.random() < epsilon:
            return int(self.rng.integers(N_ACTIONS))
        q, _ = self.online.forward(state[None].astype(np.float32))
        return int(q[0].argmax())

    def update(self, game: str) -> None:
        memory = self.replay[game]
        s, a, r, s_next, done = memory.sample(self.rng, self.args.batch)
        s, s_next = s.astype(np.float32), s_next.astype(np.float32)
        q_next_online, _ = self.online.forward(s_next)
        q_next_target, _ = self.target.forward(s_next)
        best = q_next_online.argmax(axis=1)  # double DQN: the online net chooses, the target net values
        y = r + memory.horizon_discount() * (1 - done) * q_next_target[np.arange(len(a)), best]
        q, cache = self.online.forward(s)
        error = q[np.arange(len(a)), a] - y
        dq = np.zeros_like(q)
        dq[np.arange(len(a)), a] = np.clip(error, -1, 1) / len(a)  # Huber loss, delta 1
        self.adam.step(self.online.params, self.online.backward(cache, dq))
        self.updates += 1
        if self.updates % self.args.target_every == 0:
            self.target.copy_from(self.online)


def epsilon_at(game_frames: int, args) -> float:
    fraction = min(1.0, game_frames / max(1, args.epsilon_frames))
    return 1.0 + fraction * (args.epsilon_end - 1.0)


def train_block(learner: Learner, game: str, frames: int, game_frames: int, env_seed: int, log: list) -> int:
    """Play and learn ``frames`` frames of ``game``; returns the game's frames so far."""
    args = learner.args
    env = make_env(game, sticky=args.sticky)
    player = FeaturePlayer(game, learner.games, args.context)
    observation, _ = env.reset(seed=env_seed)
    state, episode_return, played = player.reset(observation), 0.0, 0
    while played < frames:
        action = learner.act(state, epsilon_at(game_frames + played, args))
        observation, reward, terminated, truncated, _ = env.step(action)
        next_state = player.step(observation)
        learner.replay[game].add(state, action, reward, next_state, terminated)
        played += 4
        episode_return += reward
        state = next_state
        if learner.replay[game].size >= args.learn_start and (played // 4) % args.update_every == 0:
            learner.update(game)
        if terminated or truncated:
            learner.replay[game].drop_pending()  # empty after a terminal step already
            log.append({"game": game, "frame": game_frames + played, "return": episode_return})
            observation, _ = env.reset()
            state, episode_return = player.reset(observation), 0.0
    env.close()
    return game_frames + played


def evaluate(learner: Learner, game: str, episodes: int, env_seed: int) -> dict:
    """Episodes at ``--eval-epsilon``; their scores and how often each action was taken."""
    args = learner.args
    env = make_env(game, sticky=args.sticky, max_episode_frames=args.eval_max_frames)
    player = FeaturePlayer(game, learner.games, args.context)
    scores, actions = [], np.zeros(N_ACTIONS, dtype=np.int64)
    for episode in range(episodes):
        observation, _ = env.reset(seed=env_seed + episode)
        state, total, finished = player.reset(observation), 0.0, False
        while not finished:
            action = learner.act(state, args.eval_epsilon)
            actions[action] += 1
            observation, reward, terminated, truncated, _ = env.step(action)
            state, total, finished = player.step(observation), total + reward, terminated or truncated
        scores.append(total)
    env.close()
    return {"scores": scores, "mean": float(np.mean(scores)), "sd": float(np.std(scores, ddof=1)) if episodes > 1
            else 0.0, "most_taken_action": int(actions.argmax()),
            "most_taken_share": float(actions.max() / max(1, actions.sum()))}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--games", default="pong,breakout,enduro")
    p.add_argument("--frames", type=int, default=500_000, help="training frames per game")
    p.add_argument("--switch-every", type=int, default=None, help="frames per block (default: one block per game)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-sticky", dest="sticky", action="store_false")
    p.add_argument("--no-context", dest="context", action="store_false", help="no one-hot game input")
    p.add_argument("--hidden1", type=int, default=1024)
    p.add_argument("--hidden2", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--n-step", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--replay", type=int, default=100_000, help="transitions per game")
    p.add_argument("--learn-start", type=int, default=5_000, help="transitions of a game before it trains")
    p.add_argument("--update-every", type=int, default=4, help="agent steps per update")
    p.add_argument("--target-every", type=int, default=2_000, help="updates per target-network copy")
    p.add_argument("--epsilon-end", type=float, default=0.05)
    p.add_argument("--epsilon-frames", type=int, default=None, help="frames of a game to anneal over "
                   "(default: 10 %% of --frames)")
    p.add_argument("--eval-epsilon", type=float, default=0.01)
    p.add_argument("--eval-episodes", type=int, default=3)
    p.add_argument("--final-episodes", type=int, default=30)
    p.add_argument("--eval-max-frames", type=int, default=18_000, help="frame cap of an evaluation episode")
    p.add_argument("--name", default=None, help="results file name (default from games, frames and seed)")
    args = p.parse_args()
    args.games = check_games(args.games.split(","))
    args.switch_every = args.switch_every or args.frames
    if args.frames % args.switch_every:
        p.error("--frames must be a multiple of --switch-every")
    args.epsilon_frames = args.epsilon_frames or args.frames // 10
    return args


def main() -> None:
    from threadpoolctl import threadpool_limits

    args = parse_args()
    started_machine = _common.machine()
    _common.header("dueling double DQN on the agent's features", started_machine)
    rng = np.random.default_rng(args.seed)
    learner = Learner(args, args.games, rng)
    schedule = [g for _ in range(args.frames // args.switch_every) for g in args.games]
    game_frames = dict.fromkeys(args.games, 0)
    episodes, blocks = [], []
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        for block, game in enumerate(schedule):
            game_frames[game] = train_block(learner, game, args.switch_every, game_frames[game],
                                            env_seed=args.seed * 1000 + block, log=episodes)
            evaluation = {g: evaluate(learner, g, args.eval_episodes, 10_000 + 100 * block) for g in args.games}
            blocks.append({"block": block, "game": game, "frames": dict(game_frames), "evaluation": evaluation,
                           "updates": learner.updates, "wall_s": time.perf_counter() - started})
            print(f"block {block + 1}/{len(schedule)} ({game}, {game_frames[game]} frames, {learner.updates} "
                  f"updates, {time.perf_counter() - started:.0f} s): "
                  + "  ".join(f"{g} {e['mean']:.1f}" for g, e in evaluation.items()), flush=True)
        final = {g: evaluate(learner, g, args.final_episodes, 900_000) for g in args.games}
    for g, e in final.items():
        print(f"final {g}: {e['mean']:.1f} +/- {e['sd']:.1f} over {args.final_episodes} episodes; most-taken "
              f"action {e['most_taken_action']} ({100 * e['most_taken_share']:.0f} %)")
    name = args.name or f"dqn_features-{'-'.join(args.games)}-{args.frames}-seed{args.seed}"
    config = {k: v for k, v in vars(args).items() if k != "name"}
    path = _common.write_result(name, {"config": config, "episodes": episodes, "blocks": blocks, "final": final,
                                       "wall_s": time.perf_counter() - started}, started_machine)
    print(f"results in {path}")


if __name__ == "__main__":
    main()
