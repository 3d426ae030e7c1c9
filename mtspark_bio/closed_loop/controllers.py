"""What answers the network once per agent step: the :class:`Exchange` splits the
output layer among the agents; each agent's controller reads Q, chooses an action,
steps its game and returns the modulator (R-STDP: :class:`AgentController`; the
surrogate-trained dueling head: :class:`SurrogateController`); :func:`play_random` is
the random baseline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtspark_bio.atari import FRAME_SKIP, N_ACTIONS, Preprocessor, make_env
from mtspark_bio.models.actor_critic import (AverageReward, DuelingParams, action_tag, broadcast, greedy_action,
                                             q_values, td_error)
from mtspark_bio.state_dependence import action_state_bits, state_of


class Exchange:
    """What the network's output layer is answered with, once per agent step.

    ``out_slices`` and ``in_slices`` map each agent to its slice of the output layer and
    of the input layer (agents side by side in one network); each agent's controller
    answers its part. Idle agents (finished, or none set) get zero modulator, drive and
    input.
    """

    def __init__(self, out_slices: dict[str, slice], in_slices: dict[str, slice]):
        self.out_slices, self.in_slices = out_slices, in_slices
        self.n_out = max(s.stop for s in out_slices.values())
        self.n_in = max(s.stop for s in in_slices.values())
        self.controllers: dict[str, AgentController | None] = dict.fromkeys(out_slices)

    def prepare_run(self):
        """The next exchange is the first of a new network run."""
        for controller in self.controllers.values():
            if controller is not None:
                controller.prepare_run()

    @property
    def finished(self) -> bool:
        return all(c is None or c.finished for c in self.controllers.values())

    def __call__(self, counts: np.ndarray):
        modulator, tag, drive = np.zeros(self.n_out), np.zeros(self.n_out), np.zeros(self.n_out)
        observation = np.zeros(self.n_in)
        for name, controller in self.controllers.items():
            if controller is None or controller.finished:
                continue
            out = self.out_slices[name]
            m, g, d, o = controller.step(counts[out])
            modulator[out], tag[out], drive[out], observation[self.in_slices[name]] = m, g, d, o
        return modulator, tag, drive, observation


@dataclass
class EpisodeLog:
    scores: list = field(default_factory=list)      # raw score of each finished episode
    lengths: list = field(default_factory=list)     # frames of each finished episode


class AgentController:
    """One agent playing one game: choose, act, compute the TD modulator.

    ``mode="train"`` plays until ``frames`` environment frames are used, with
    epsilon-greedy exploration and learning; ``mode="evaluate"`` plays ``episodes``
    whole episodes (each capped by the environment's frame limit) with a small fixed
    epsilon and no learning (zero modulator).

    Step semantics: each run of the network starts with an exchange at t = 0 whose
    counts mean nothing (the network has not seen anything yet); it only delivers the
    current observation. Every later exchange reads the response to the observation of
    the step that just ended.
    """

    def __init__(self, game: str, config, rng: np.random.Generator, mode: str, frames: int = 0,
                 episodes: int = 0, epsilon=0.05, sticky: bool = True, env_seed: int = 0,
                 drive_amp: float | None = None, grid: int = 16, max_episode_frames: int = 108_000,
                 record_actions: bool = False):
        """``config``: the agent's ``AgentConfig``; ``drive_amp`` (A): the exploratory
        drive's amplitude, by default the readout's ``drive_pA``; ``record_actions``:
        keep every action and the RAM state variable it was chosen in
        (``state_dependence.STATE_VARIABLES``), for :meth:`action_state_information`."""
        if mode not in ("train", "evaluate"):
            raise ValueError(f"mode must be 'train' or 'evaluate', got {mode!r}")
        self.config = config
        self.game, self.rng, self.mode = game, rng, mode
        self.rate_hz = config.input.input_rate_hz
        self.frame_budget, self.episode_budget = int(frames), int(episodes)
        # epsilon: a number, or a function of the frames this controller has played
        self.epsilon = epsilon if callable(epsilon) else (lambda frames, e=float(epsilon): e)
        self.env = make_env(game, sticky=sticky, max_episode_frames=max_episode_frames)
        self.preprocess = Preprocessor(game, grid, motion=config.input.motion)
        self.n_out = config.n_out
        self.drive_amp = config.readout.drive_pA * 1e-12 if drive_amp is None else drive_amp
        self.log = EpisodeLog()
        self.frames = 0
        self.steps = 0
        self.actions: list[int] | None = [] if record_actions else None
        self.states: list[int] = []
        self.deltas: list[float] = []
        self.init_credit(config.readout)
        self._episode_score = 0.0
        self._episode_frames = 0
        self._env_seed = int(env_seed)
        self._features = self._reset_env(seed=self._env_seed)
        self._last = None  # (V(s), reward, terminal) of the previous step
        self.finished = False
        self._fresh_run = True

    def _reset_env(self, seed=None) -> np.ndarray:
        frame, _ = self.env.reset(seed=seed)
        self.preprocess.reset()
        return self.preprocess(frame)

    def prepare_run(self):
        """A new network run starts: its first exchange only delivers the observation."""
        self._fresh_run = True

    def _reply(self, modulator, tag) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        drive = (self.rng.standard_normal(self.n_out) * self.drive_amp if self.drive_amp > 0
                 else np.zeros(self.n_out))
        return modulator, tag, drive, self._features * self.rate_hz

    # -- what differs between readouts: how Q is read, how a transition is learned -------

    def init_credit(self, readout):
        """The TD rule's parameters (``models.agent_readouts.RSTDPActorCritic``)."""
        self.params: DuelingParams = readout.dueling
        self.average_reward = AverageReward(self.params.average_reward_rate)

    def on_first_exchange(self):
        """The run's first exchange arrived. Eligibility restarts with the run, so a
        transition left pending by the last run has nothing to credit."""
        self._last = None

    def values(self, counts: np.ndarray) -> tuple[float, np.ndarray]:
        """(V(s), Q(s, .)) from what the output layer reported for the step that ended."""
        value, _, q = q_values(counts, self.params, N_ACTIONS)
        return value, q

    def credit(self, value: float) -> np.ndarray:
        """The modulator that judges the previous transition (and, through the synapses'
        trace, the ones before), now that V(s') is known: its TD error, broadcast."""
        modulator = np.zeros(self.n_out)
        if self._last is not None:
            last_value, reward, terminal = self._last
            delta = td_error(reward, last_value, value, terminal, self.params, self.average_reward.value)
            self.average_reward.update(delta)
            self.deltas.append(delta)
            modulator = broadcast(delta, self.params, N_ACTIONS)
        return modulator

    def tag(self, action: int | None) -> np.ndarray:
        """What this step's eligibility is marked with: V's, and the chosen action's."""
        return action_tag(action, self.params, N_ACTIONS)

    def remember(self, value: float, action: int, reward: float, terminal: bool):
        """Keep what the next step's credit needs."""
        self._last = (value, reward, terminal)

    def learn_from_run(self, agent, state, n_agent_steps: int):
        """The agent's learned state after a training run of ``n_agent_steps`` steps
        (R-STDP: the weights, read from the network)."""
        return agent.read_state()

    # -- the loop ----------------------------------------------------------------------

    def step(self, counts: np.ndarray):
        if self._fresh_run:
            self._fresh_run = False
            self.on_first_exchange()
            return self._reply(np.zeros(self.n_out), self.tag(None))
        value, q = self.values(counts)
        modulator = self.credit(value) if self.mode == "train" else np.zeros(self.n_out)
        action = greedy_action(q, self.rng, self.epsilon(self.frames))
        if self.actions is not None:
            self.actions.append(action)
            self.states.append(state_of(self.game, self.env))  # the state the action was chosen in
        frame, reward, terminated, truncated, _ = self.env.step(action)
        self.steps += 1
        self.frames += FRAME_SKIP
        self._episode_frames += FRAME_SKIP
        self._episode_score += float(reward)
        self.remember(value, action, float(reward), bool(terminated))
        if terminated or truncated:
            self.log.scores.append(self._episode_score)
            self.log.lengths.append(self._episode_frames)
            self._episode_score, self._episode_frames = 0.0, 0
            self._features = self._reset_env()
        else:
            self._features = self.preprocess(frame)
        if self.mode == "train":
            self.finished = self.frames >= self.frame_budget
        else:
            self.finished = len(self.log.scores) >= self.episode_budget
        return self._reply(modulator, self.tag(action))

    def action_state_information(self) -> float:
        """I(action; state) in bits over the recorded steps where the state is defined
        (Miller-Madow corrected; ``state_dependence``)."""
        return action_state_bits(self.actions or [], self.states)

    def close(self):
        self.env.close()


def controller_class(config) -> type:
    """The controller for ``config.readout``; both take the same arguments. A readout
    that learns in the network from the loop's modulator (R-STDP) is answered by
    :class:`AgentController`; one trained outside it (the surrogate head) by
    :class:`SurrogateController`."""
    return AgentController if config.readout.neuromodulated else SurrogateController


class SurrogateController(AgentController):
    """An agent whose Q comes from the surrogate-trained dueling head.

    The head's integrators report their normalised membrane potential summed over the
    step; divided by the step's time steps that is the NumPy model's ``y`` and
    Q = V + A - mean(A) (``mtspark_bio.surrogate.dueling_q``). The network gets no
    modulator and no exploratory drive.

    Training (``mode="train"``): every transition (s, a, sign(r), s', done) of this
    block is stored as indices of recorded hidden-layer presentations; after every run
    the head is trained by DQN (``train_dqn``: target network, Huber loss, double-DQN
    target) on the transitions stored so far in this block only, starting from the
    weights it acted with, and the next run acts with the new weights. A transition
    left pending at the end of a run is completed by the next run's first step, which
    shows the same observation again.
    """

    def __init__(self, game: str, config, rng: np.random.Generator, mode: str, record_readout: bool = False,
                 **kwds):
        self.n_steps = config.steps_per_agent_step
        self.model = config.surrogate_head() if mode == "train" else None
        self.dqn_rng = np.random.default_rng(rng.integers(2**31 - 1))  # minibatches; not the policy's stream
        # the head's integrators take no exploratory drive (and none is drawn from rng)
        super().__init__(game, config, rng, mode, **{**kwds, "drive_amp": 0.0})
        self.runs: list = []  # this block's recorded hidden trains, one SpikeTrains per run
        self.transitions: list[tuple] = []  # ((run, sample), action, reward, done, (run, sample))
        self.losses: list[float] = []
        self.readouts: list[np.ndarray] | None = [] if record_readout else None
        self._run, self._sample, self._pending = -1, -1, None

    def init_credit(self, readout):
        pass  # the head's credit is the DQN target, computed in learn_from_run

    def on_first_exchange(self):
        self._run += 1
        self._sample = -1

    def values(self, counts):
        from mtspark_bio.surrogate import dueling_q

        self._sample += 1  # the reported step's presentation
        y = np.asarray(counts, dtype=float) / self.n_steps
        if self.readouts is not None:
            self.readouts.append(y)
        q = dueling_q(y[None])[0]
        return float(y[0]), q

    def credit(self, value):
        if self._pending is not None:
            self.transitions.append((*self._pending, (self._run, self._sample)))
        return np.zeros(self.n_out)

    def tag(self, action):
        return np.zeros(self.n_out)  # the head has no neuromodulated synapses

    def remember(self, value, action, reward, terminal):
        if self.mode == "train":
            self._pending = ((self._run, self._sample), action, float(np.sign(reward)), terminal)

    def learn_from_run(self, agent, state, n_agent_steps):
        from mtspark_bio.surrogate import DQNConfig, SpikeTrains, Transitions, train_dqn

        self.runs.append(agent.hidden_trains(n_agent_steps))
        params = agent.head_init if state is None else state
        if not self.transitions or self.config.readout.dqn_updates_per_run == 0:
            return params
        trains = SpikeTrains.concatenate(self.runs)
        per_run = self.runs[0].n_samples
        index = lambda key: key[0] * per_run + key[1]  # noqa: E731
        states, actions, rewards, dones, next_states = zip(*self.transitions)
        batch = Transitions(trains.subset([index(k) for k in states]), actions, rewards,
                            trains.subset([index(k) for k in next_states]), dones)
        head = self.config.readout
        dqn = DQNConfig(updates=head.dqn_updates_per_run, lr=head.dqn_lr, batch=head.dqn_batch, gamma=head.gamma,
                        target_update=head.dqn_target_update, seed=int(self.dqn_rng.integers(2**31 - 1)))
        params, history = train_dqn(self.model, batch, dqn, params=params)
        self.losses += history
        return params


def play_random(game: str, episodes: int, rng: np.random.Generator, sticky: bool = True,
                env_seed: int = 0, max_episode_frames: int = 108_000, record: list | None = None) -> EpisodeLog:
    """A uniformly random agent over the 18 actions, under the agent's settings;
    ``record``: a list that gets every (action, state variable) pair, as the agents' own."""
    env = make_env(game, sticky=sticky, max_episode_frames=max_episode_frames)
    log = EpisodeLog()
    env.reset(seed=int(env_seed))
    score, frames = 0.0, 0
    while len(log.scores) < episodes:
        action = int(rng.integers(N_ACTIONS))
        if record is not None:
            record.append((action, state_of(game, env)))
        _, reward, terminated, truncated, _ = env.step(action)
        score += float(reward)
        frames += FRAME_SKIP
        if terminated or truncated:
            log.scores.append(score)
            log.lengths.append(frames)
            score, frames = 0.0, 0
            env.reset()
    env.close()
    return log
