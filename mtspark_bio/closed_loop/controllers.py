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

    def remember(self, value: float, action: int, reward: float, terminal: bool, truncated: bool = False):
        """Keep what the next step's credit needs."""
        self._last = (value, reward, terminal)

    def learn_from_run(self, agent, state, n_agent_steps: int):
        """The agent's learned state after a training run of ``n_agent_steps`` steps
        (R-STDP: the weights, read from the network)."""
        return agent.read_state()

    @staticmethod
    def stored(state) -> dict:
        """The learned state as the nested dict of arrays a result file keeps."""
        return state

    @staticmethod
    def restore(arrays: dict, config):
        """The learned state back from :meth:`stored`'s arrays (``--resume``)."""
        return arrays

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
        self.remember(value, action, float(reward), bool(terminated), bool(truncated))
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

    Training (``mode="train"``), a standard DQN set-up (Mnih et al. 2015; Hessel et al.
    2018) around the spiking head: every step (s, a, sign(r), s', done) is kept as
    numbers of recorded hidden-layer presentations; after each run the run's
    presentations go into the game's replay memory (``mtspark_bio.surrogate.replay``),
    the steps into n-step transitions, and the head gets one DQN update
    (``DQNLearner``: double-DQN target, Huber loss, target copy every few thousand
    updates, Adam's moments kept) per ``dqn_update_every`` steps played; the next run
    acts with the new weights. The learner, its memories included, is the agent's
    state: it carries over to the next block and is saved for ``--resume``. A
    transition left pending at the end of a run is completed by the next run's first
    step, which shows the same observation again; an episode cut by the frame cap, and
    the block's end, bootstrap the pending n-step returns from the last state reached.
    """

    def __init__(self, game: str, config, rng: np.random.Generator, mode: str, record_readout: bool = False,
                 **kwds):
        from mtspark_bio.surrogate.replay import NStepReturns

        self.n_steps = config.steps_per_agent_step
        self.dqn_rng = np.random.default_rng(rng.integers(2**31 - 1))  # minibatches; not the policy's stream
        # the head's integrators take no exploratory drive (and none is drawn from rng)
        super().__init__(game, config, rng, mode, **{**kwds, "drive_amp": 0.0})
        head = config.readout
        self.runs: list = []  # this block's recorded hidden trains, one SpikeTrains per run
        self.transitions: list[tuple] = []  # ((run, sample), action, reward, done, (run, sample))
        self.losses: list[float] = []
        self.readouts: list[np.ndarray] | None = [] if record_readout else None
        self.n_step = NStepReturns(head.n_step, head.gamma)
        self._bases: dict[int, int] = {}  # run -> replay number of its first presentation
        self._done = 0  # transitions passed to the replay memory
        self._steps_learned = 0  # steps already paid for with DQN updates
        self._run, self._sample, self._pending = -1, -1, None

    # the agent's state across runs and blocks: a DQNLearner (stored as arrays)

    @staticmethod
    def restore(arrays: dict, config):
        from mtspark_bio.surrogate.dqn import DQNLearner

        head = config.readout
        return DQNLearner.from_arrays(arrays, config.surrogate_head(), head.dqn_lr, head.dqn_target_update)

    @staticmethod
    def stored(state) -> dict:
        return state.to_arrays()

    def learner(self, agent, state):
        """The learner carried in ``state``, or a fresh one on the head's initial weights."""
        from mtspark_bio.surrogate.dqn import DQNLearner
        from mtspark_bio.surrogate.replay import SpikeReplay

        head = self.config.readout
        learner = state if state is not None else DQNLearner(agent.head_model, agent.head_init, head.dqn_lr,
                                                             head.dqn_target_update)
        if self.game not in learner.replays or (head.replay == "block" and not self.runs):
            learner.replays[self.game] = SpikeReplay(head.replay_capacity, self.n_steps, self.config.hidden.n_hidden)
        return learner

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
            self._pending = None
        return np.zeros(self.n_out)

    def tag(self, action):
        return np.zeros(self.n_out)  # the head has no neuromodulated synapses

    def remember(self, value, action, reward, terminal, truncated=False):
        if self.mode == "train":
            # an episode cut by the frame cap has no presentation of its last state: its
            # last step is dropped and the returns before it bootstrap (NStepReturns.cut)
            self._pending = (None if truncated and not terminal
                             else ((self._run, self._sample), action, float(np.sign(reward)), terminal))
            if self._pending is None:
                self.transitions.append(None)

    def _to_replay(self, replay):
        """Pass the completed steps on, as n-step transitions between replay numbers."""
        number = lambda key: self._bases[key[0]] + key[1]  # noqa: E731
        for step in self.transitions[self._done:]:
            if step is None:
                completed = self.n_step.cut()
            else:
                state, action, reward, done, following = step
                completed = self.n_step.add(number(state), action, reward, number(following), done)
            for transition in completed:
                replay.add(*transition)
        self._done = len(self.transitions)
        if self.finished:
            for transition in self.n_step.cut():
                replay.add(*transition)

    def learn_from_run(self, agent, state, n_agent_steps):
        learner = self.learner(agent, state)
        replay = learner.replays[self.game]
        trains = agent.hidden_trains(n_agent_steps)
        self.runs.append(trains)
        self._bases[self._run] = replay.store.append(trains)
        self._to_replay(replay)
        head = self.config.readout
        if head.dqn_update_every > 0 and len(replay) >= max(head.learn_start, 1):
            n_updates = (self.steps - self._steps_learned) // head.dqn_update_every
            self._steps_learned += n_updates * head.dqn_update_every
            self.losses += [learner.update(self.game, self.dqn_rng, head.dqn_batch) for _ in range(n_updates)]
        else:
            self._steps_learned = self.steps
        return learner


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
