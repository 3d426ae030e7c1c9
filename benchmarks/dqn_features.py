"""A conventional dueling double DQN on the Atari agent's own input features (issue 29's peer).

The spiking agent (``mtspark-bio atari``) sees each game through
``mtspark_bio.atari.Preprocessor``: foreground and motion maps max-pooled onto 16 x 16
cells (512 binary features). This peer gets exactly those features plus the previous
step's (a second frame, as DQN's frame stack gives it): 1024 inputs. It learns with the
standard deep-RL machinery the local rules lack: an MLP (1024 and 256 ReLU units) with a
dueling head, Q = V + A - mean(A) (Wang et al. 2016), double-DQN targets (van Hasselt et
al. 2016), 3-step returns, Huber loss, Adam (lr 1e-4), a target network copied every
2 000 updates, a replay memory of 100 000 transitions, one update of 32 transitions every
4 agent steps after 5 000 steps of warm-up, gamma 0.99, rewards clipped to their sign,
epsilon-greedy exploration annealed linearly from 1 to 0.01 over the first 10 % of the
frames (Mnih et al. 2015). Same environments as the agent: ``ALE/<Game>-v5``, frame skip
4 (one agent step = 4 frames), the full 18 actions, sticky actions (p = 0.25) unless
``--no-sticky``, training episodes capped at 108 000 frames.

One network per game: ``--games breakout`` trains a network on Breakout alone; run the
script once per game. With several games (``--games pong,breakout,enduro``) one network
learns them in turn, interleaved in blocks of ``--switch-every`` frames as the protocol
does, with a one-hot game context added to the input and one replay memory per game; each
game is then evaluated after every block (``--block-episodes``).

At the end each game is evaluated over ``--eval-episodes`` episodes (default 30) at
epsilon 0.01, capped at ``--eval-max-frames`` (27 000) frames so that an episode ends,
on environment seeds training never used: the scores (mean, s.d.), how often each action
was taken (the most-taken action's share: a constant policy has 100 %), and the mutual
information in bits between the action and the game's RAM state variable
(``mtspark_bio.state_dependence``: Pong ball above / below the paddle, Breakout ball left
/ right of the paddle, Enduro the car's lane) over the steps where that is defined. The
learning curve is the mean return of the training episodes that ended in each 100 000
frames. NumPy on one thread (threadpoolctl).

    python benchmarks/dqn_features.py --games breakout --frames 500000 --seed 0 \\
        --out benchmarks/results/dqn_features/breakout-500k-s0.json

Seeds: one ``numpy.random.SeedSequence(--seed)`` gives the generator of initial weights,
exploration and replay sampling and, separately, the environment seeds; same seed, same
machine, same run. The result (configuration, command, learning curve, every training
episode, evaluations, wall time) goes to ``--out`` (default
``benchmarks/results/dqn_features-<games>-<frames>-seed<seed>-<host>.json``), written to a
temporary file first and renamed, so an interrupted run leaves no half-written result.

Results made before this version (``benchmarks/results/dqn_features-*-vm.json``) came from
commit b44b53c's script: epsilon to 0.05, a one-hot context input also with one game,
evaluation episodes capped at 18 000 frames, no MI.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
from pathlib import Path

import _common
import numpy as np

from mtspark_bio.atari import FRAME_SKIP, N_ACTIONS, Preprocessor, check_games, make_env
from mtspark_bio.state_dependence import action_state_information

CURVE_FRAMES = 100_000  # learning-curve bin
PROGRESS_FRAMES = 50_000


class DuelingMLP:
    """x -> ReLU(W1) -> ReLU(W2) -> value (1) and advantages (18); Q = V + A - mean(A)."""

    def __init__(self, n_in: int, hidden: tuple[int, int], rng: np.random.Generator, n_actions: int = N_ACTIONS):
        sizes = {"W1": (n_in, hidden[0]), "W2": (hidden[0], hidden[1]), "Wv": (hidden[1], 1),
                 "Wa": (hidden[1], n_actions)}
        self.params = {}
        for name, (fan_in, fan_out) in sizes.items():  # He initialisation for ReLU layers
            self.params[name] = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(np.float32)
            self.params["b" + name[1:]] = np.zeros(fan_out, dtype=np.float32)

    @staticmethod
    def dueling(value: np.ndarray, advantage: np.ndarray) -> np.ndarray:
        """Q = V + A - mean over actions of A (Wang et al. 2016, eq. 9)."""
        return value + advantage - advantage.mean(axis=1, keepdims=True)

    def forward(self, x: np.ndarray):
        """Q (batch x actions) and what the backward pass needs."""
        p = self.params
        h1 = np.maximum(x @ p["W1"] + p["b1"], 0)
        h2 = np.maximum(h1 @ p["W2"] + p["b2"], 0)
        value, advantage = h2 @ p["Wv"] + p["bv"], h2 @ p["Wa"] + p["ba"]
        return self.dueling(value, advantage), (x, h1, h2)

    def q_binary(self, x: np.ndarray) -> np.ndarray:
        """Q of one binary input vector: the first layer sums the rows of W1 that the
        active inputs select (the features are sparse), instead of a full product."""
        p = self.params
        h1 = np.maximum(p["W1"][np.flatnonzero(x)].sum(axis=0) + p["b1"], 0)
        h2 = np.maximum(h1 @ p["W2"] + p["b2"], 0)
        return self.dueling((h2 @ p["Wv"] + p["bv"])[None], (h2 @ p["Wa"] + p["ba"])[None])[0]

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
    """Adam (Kingma & Ba 2015), moments kept across every update of the run, updated in
    place (no temporaries the size of W1 beyond one scratch array per parameter)."""

    def __init__(self, params: dict, lr: float, eps: float = 1.5e-4, betas=(0.9, 0.999)):
        self.lr, self.eps, self.betas, self.t = lr, eps, betas, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.scratch = {k: np.empty_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        b1, b2 = self.betas
        # step = lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps sqrt(1 - b2^t)): the bias-corrected form
        root = np.sqrt(1 - b2 ** self.t)
        step, eps = self.lr * root / (1 - b1 ** self.t), self.eps * root
        for k, g in grads.items():
            m, v, s = self.m[k], self.v[k], self.scratch[k]
            m *= b1
            np.multiply(g, 1 - b1, out=s)
            m += s
            v *= b2
            np.multiply(g, g, out=s)
            s *= 1 - b2
            v += s
            np.sqrt(v, out=s)
            s += eps
            np.divide(m, s, out=s)
            s *= step
            params[k] -= s


class Replay:
    """One game's memory of n-step transitions: state, action, the discounted sum of the
    next n clipped rewards, the state n steps later, and the discount its value gets
    (gamma^k after k steps, 0 when the episode ended within them)."""

    def __init__(self, capacity: int, n_in: int, n_step: int, gamma: float):
        self.s = np.zeros((capacity, n_in), dtype=np.uint8)
        self.s_next = np.zeros((capacity, n_in), dtype=np.uint8)
        self.a = np.zeros(capacity, dtype=np.int64)
        self.r = np.zeros(capacity, dtype=np.float32)
        self.discount = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self.next = capacity, 0, 0
        self.n_step, self.gamma = n_step, gamma
        self.pending = collections.deque()  # (s, a, clipped r) of the steps not yet stored

    def add(self, s, a, r, s_next, terminal: bool, truncated: bool = False) -> None:
        """One environment step. Stores the n-step transition this step completes; at an
        episode's end, every pending one (terminal: nothing bootstrapped after it; cut off
        by the frame cap: bootstrapped from the last state after the steps it has)."""
        self.pending.append((s, a, float(np.sign(r))))
        if terminal or truncated:
            while self.pending:
                self._store(s_next, terminal)
        elif len(self.pending) == self.n_step:
            self._store(s_next, False)

    def _store(self, s_next, terminal: bool) -> None:
        s, a, _ = self.pending[0]
        ret = sum(self.gamma ** k * r for k, (_, _, r) in enumerate(self.pending))
        i = self.next
        self.s[i], self.a[i], self.r[i], self.s_next[i] = s, a, ret, s_next
        self.discount[i] = 0.0 if terminal else self.gamma ** len(self.pending)
        self.pending.popleft()
        self.next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng, batch: int):
        idx = rng.integers(0, self.size, batch)
        return self.s[idx], self.a[idx], self.r[idx], self.s_next[idx], self.discount[idx]


class FeaturePlayer:
    """The state: this step's features, the previous step's, and (several games in one
    network) the game's one-hot context."""

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
        return np.concatenate([self.previous, np.zeros_like(self.previous), self.context])

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
        self.adam = Adam(self.online.params, args.lr, eps=args.adam_eps)
        self.replay = {g: Replay(args.replay, n_in, args.n_step, args.gamma) for g in games}
        self.updates = 0

    def act(self, state, epsilon: float) -> int:
        if self.rng.random() < epsilon:
            return int(self.rng.integers(N_ACTIONS))
        return int(self.online.q_binary(state).argmax())

    def update(self, game: str) -> None:
        s, a, r, s_next, discount = self.replay[game].sample(self.rng, self.args.batch)
        batch = len(a)
        both = np.concatenate([s, s_next]).astype(np.float32)
        q_both, cache = self.online.forward(both)  # one pass for Q(s) and the online Q(s')
        q_next_target, _ = self.target.forward(both[batch:])
        best = q_both[batch:].argmax(axis=1)  # double DQN: the online net chooses, the target net values
        y = r + discount * q_next_target[np.arange(batch), best]
        error = q_both[np.arange(batch), a] - y
        dq = np.zeros_like(q_both)
        dq[np.arange(batch), a] = np.clip(error, -1, 1) / batch  # Huber loss (delta 1), mean over the batch
        self.adam.step(self.online.params, self.online.backward(cache, dq))
        self.updates += 1
        if self.updates % self.args.target_every == 0:
            self.target.copy_from(self.online)


def epsilon_at(game_frames: int, args) -> float:
    fraction = min(1.0, game_frames / max(1, args.epsilon_frames))
    return 1.0 + fraction * (args.epsilon_end - 1.0)


class Progress:
    """A line every ``PROGRESS_FRAMES`` frames: frames, episodes, recent mean return, updates/s."""

    def __init__(self, learner: Learner):
        self.learner, self.started = learner, time.perf_counter()
        self.last_time, self.last_updates, self.next_frame = self.started, 0, PROGRESS_FRAMES

    def __call__(self, game: str, game_frames: int, log: list) -> None:
        if game_frames < self.next_frame:
            return
        self.next_frame += PROGRESS_FRAMES
        now, updates = time.perf_counter(), self.learner.updates
        returns = [e["return"] for e in log if e["game"] == game][-20:]
        recent = f"{np.mean(returns):.1f}" if returns else "-"
        print(f"{game} {game_frames} frames, {sum(e['game'] == game for e in log)} episodes, last 20 episodes "
              f"{recent}, {updates} updates ({(updates - self.last_updates) / (now - self.last_time):.1f}/s), "
              f"{game_frames / (now - self.started):.0f} frames/s overall, {now - self.started:.0f} s", flush=True)
        self.last_time, self.last_updates = now, updates


def train_block(learner: Learner, game: str, frames: int, game_frames: int, env_seed: int, log: list,
                progress: Progress) -> int:
    """Play and learn ``frames`` frames of ``game``; returns the game's frames so far."""
    args = learner.args
    env = make_env(game, sticky=args.sticky, max_episode_frames=args.max_episode_frames)
    player = FeaturePlayer(game, learner.games, args.context)
    memory = learner.replay[game]
    observation, _ = env.reset(seed=env_seed)
    state, episode_return, played = player.reset(observation), 0.0, 0
    while played < frames:
        action = learner.act(state, epsilon_at(game_frames + played, args))
        observation, reward, terminated, truncated, _ = env.step(action)
        next_state = player.step(observation)
        memory.add(state, action, reward, next_state, terminated, truncated)
        played += FRAME_SKIP
        episode_return += reward
        state = next_state
        if memory.size >= args.learn_start and (played // FRAME_SKIP) % args.update_every == 0:
            learner.update(game)
        if terminated or truncated:
            log.append({"game": game, "frame": game_frames + played, "return": float(episode_return)})
            observation, _ = env.reset()
            state, episode_return = player.reset(observation), 0.0
        progress(game, game_frames + played, log)
    env.close()
    return game_frames + played


def evaluate(learner: Learner, game: str, episodes: int, env_seed: int, state_information: bool = False) -> dict:
    """Episodes at ``--eval-epsilon``: their scores, how often each action was taken and,
    with ``state_information``, I(action; state) from the RAM each action was chosen on."""
    args = learner.args
    env = make_env(game, sticky=args.sticky, max_episode_frames=args.eval_max_frames)
    player = FeaturePlayer(game, learner.games, args.context)
    scores, lengths, actions, rams = [], [], [], []
    for episode in range(episodes):
        observation, _ = env.reset(seed=env_seed + episode)
        state, total, steps, finished = player.reset(observation), 0.0, 0, False
        while not finished:
            action = learner.act(state, args.eval_epsilon)
            actions.append(action)
            if state_information:
                rams.append(env.unwrapped.ale.getRAM().copy())
            observation, reward, terminated, truncated, _ = env.step(action)
            state, total, steps = player.step(observation), total + reward, steps + 1
            finished = terminated or truncated
        scores.append(float(total))
        lengths.append(steps * FRAME_SKIP)
    env.close()
    counts = np.bincount(actions, minlength=N_ACTIONS)
    out = {"episodes": episodes, "env_seeds": [env_seed, env_seed + episodes - 1], "scores": scores,
           "frames": lengths, "capped": int(sum(n >= args.eval_max_frames for n in lengths)),
           "mean": float(np.mean(scores)), "sd": float(np.std(scores, ddof=1)) if episodes > 1 else 0.0,
           "action_counts": counts.tolist(), "action_shares": (counts / max(1, counts.sum())).round(4).tolist(),
           "most_taken_action": int(counts.argmax()), "most_taken_share": float(counts.max() / max(1, counts.sum()))}
    if state_information:
        out["mutual_information"] = action_state_information(game, actions, rams)
        out["mutual_information_miller_madow_bits"] = action_state_information(
            game, actions, rams, correction="miller-madow")["bits"]
    return out


def learning_curve(log: list, game: str, frames: int) -> list[dict]:
    """Mean return of the training episodes of ``game`` that ended in each 100 000 frames."""
    curve = []
    for start in range(0, frames, CURVE_FRAMES):
        returns = [e["return"] for e in log if e["game"] == game and start < e["frame"] <= start + CURVE_FRAMES]
        curve.append({"frames_start": start, "frames_end": min(start + CURVE_FRAMES, frames),
                      "episodes": len(returns), "mean_return": float(np.mean(returns)) if returns else None})
    return curve


def write_json_atomic(path: Path, record: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=_common._json_default) + "\n")
    os.replace(tmp, path)
    return path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--games", default="breakout", help="comma-separated; several: one network learns them in turn")
    p.add_argument("--frames", type=int, default=500_000, help="training frames per game")
    p.add_argument("--switch-every", type=int, default=None, help="frames per block (default: one block per game)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="result JSON path (default benchmarks/results/dqn_features-...-<host>.json)")
    p.add_argument("--no-sticky", dest="sticky", action="store_false")
    p.add_argument("--context", dest="context", action="store_true", default=None,
                   help="one-hot game input (default: only with several games)")
    p.add_argument("--no-context", dest="context", action="store_false")
    p.add_argument("--hidden1", type=int, default=1024)
    p.add_argument("--hidden2", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--adam-eps", type=float, default=1.5e-4)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--n-step", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--replay", type=int, default=100_000, help="transitions per game")
    p.add_argument("--learn-start", type=int, default=5_000, help="transitions of a game before it trains")
    p.add_argument("--update-every", type=int, default=4, help="agent steps per update")
    p.add_argument("--target-every", type=int, default=2_000, help="updates per target-network copy")
    p.add_argument("--epsilon-end", type=float, default=0.01)
    p.add_argument("--epsilon-frames", type=int, default=None, help="frames of a game to anneal over "
                   "(default: 10 %% of --frames)")
    p.add_argument("--max-episode-frames", type=int, default=108_000, help="frame cap of a training episode")
    p.add_argument("--eval-epsilon", type=float, default=0.01)
    p.add_argument("--eval-episodes", type=int, default=30, help="episodes of the final evaluation per game")
    p.add_argument("--eval-max-frames", type=int, default=27_000, help="frame cap of an evaluation episode")
    p.add_argument("--block-episodes", type=int, default=3, help="evaluation episodes after each block "
                   "(only with more than one block)")
    args = p.parse_args(argv)
    args.games = check_games(args.games.split(","))
    args.switch_every = args.switch_every or args.frames
    if args.frames % args.switch_every:
        p.error("--frames must be a multiple of --switch-every")
    if args.context is None:
        args.context = len(args.games) > 1
    args.epsilon_frames = args.epsilon_frames or args.frames // 10
    return args


def main() -> None:
    from threadpoolctl import threadpool_limits

    args = parse_args()
    started_machine = _common.machine()
    _common.header("dueling double DQN on the agent's features", started_machine)
    learner_seed, env_seed = np.random.SeedSequence(args.seed).spawn(2)
    rng = np.random.default_rng(learner_seed)  # weights, exploration, replay sampling
    env_seeds = np.random.default_rng(env_seed).integers(0, 2 ** 30, size=3)  # training, block and final evaluations
    learner = Learner(args, args.games, rng)
    schedule = [g for _ in range(args.frames // args.switch_every) for g in args.games]
    game_frames = dict.fromkeys(args.games, 0)
    episodes, blocks = [], []
    progress = Progress(learner)
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        for block, game in enumerate(schedule):
            game_frames[game] = train_block(learner, game, args.switch_every, game_frames[game],
                                            env_seed=int(env_seeds[0]) + 1000 * block, log=episodes, progress=progress)
            record = {"block": block, "game": game, "frames": dict(game_frames), "updates": learner.updates,
                      "wall_s": time.perf_counter() - started}
            if len(schedule) > 1:
                record["evaluation"] = {g: evaluate(learner, g, args.block_episodes, int(env_seeds[1]) + 100 * block)
                                        for g in args.games}
            blocks.append(record)
            print(f"block {block + 1}/{len(schedule)} ({game}, {game_frames[game]} frames, {learner.updates} updates, "
                  f"{time.perf_counter() - started:.0f} s)" + ("" if len(schedule) == 1 else ": " + "  ".join(
                      f"{g} {e['mean']:.1f}" for g, e in record["evaluation"].items())), flush=True)
        train_s = time.perf_counter() - started
        final = {g: evaluate(learner, g, args.eval_episodes, int(env_seeds[2]), state_information=True)
                 for g in args.games}
    wall_s = time.perf_counter() - started
    for g, e in final.items():
        mi = e["mutual_information"]
        print(f"final {g}: {e['mean']:.1f} +/- {e['sd']:.1f} over {args.eval_episodes} episodes ({e['capped']} capped); "
              f"most-taken action {e['most_taken_action']} ({100 * e['most_taken_share']:.0f} %); "
              f"I(action; {mi['state']}) = {mi['bits']:.3f} bits (Miller-Madow "
              f"{e['mutual_information_miller_madow_bits']:.3f}) over {mi['steps']} steps")
    total_frames = sum(game_frames.values())
    data = {"config": {k: v for k, v in vars(args).items() if k != "out"}, "env_seeds": env_seeds.tolist(),
            "learning_curve": {g: learning_curve(episodes, g, game_frames[g]) for g in args.games},
            "episodes": episodes, "blocks": blocks, "final": final, "updates": learner.updates,
            "train_s": train_s, "wall_s": wall_s, "train_frames_per_s": total_frames / train_s}
    name = f"dqn_features-{'-'.join(args.games)}-{args.frames}-seed{args.seed}"
    if args.out is None:
        path = _common.write_result(name, data, started_machine)
    else:
        record = {"benchmark": name, "command": _common.command_line(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                  "machine": {**started_machine, "load_end": _common.machine()["load"]},
                  "versions": _common.versions(), **data}
        path = write_json_atomic(Path(args.out), record)
    print(f"results in {path}")


if __name__ == "__main__":
    main()
