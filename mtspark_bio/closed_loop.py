"""The agent-environment loop, on compiled code and at runtime.

Brian2's ``network_operation`` (Python code every step) exists only in runtime mode; a
compiled standalone binary has no Python in it. The compiled loop therefore runs the
environment in this Python process and lets the binary talk to it:

* the binary calls C++ functions (``cpp/closed_loop_bridge.cpp``) from ``run_regularly``
  once per agent step: the output neurons report their spike counts, the bridge writes
  them to a named pipe and blocks until the reply (neuromodulator and exploratory drive
  per output neuron, the next observation's firing rates) comes back;
* :class:`PipeServer` runs the binary in a thread (``device.run``) and answers each
  message by calling an :class:`Exchange` handler, which steps the environments.

The runtime loop (the reference) calls the same handler from a ``network_operation``
at the same point of the time step. Both see the same network and the same handler,
so for the same seed they produce the same actions.

:class:`AgentController` is that handler's per-agent logic: Q from the output counts
(``models.actor_critic``), epsilon-greedy choice, one environment step (frame skip 4),
the TD error of the previous transition as the modulator, episode bookkeeping.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtspark_bio.models.actor_critic import DuelingParams, greedy_action, modulator_vector, q_values, td_error
from mtspark_bio.atari import FRAME_SKIP, N_ACTIONS, Preprocessor, make_env

CPP_DIR = Path(__file__).parent / "cpp"


def bridge_functions(project: Path) -> dict:
    """The C++ bridge as Brian2 Functions (cpp_standalone only; no Python version).

    The bridge's source is copied into the standalone ``project`` folder: the generated
    makefile compiles each source to an object file beside it, which must not land in
    the installed package (shared by concurrent builds, possibly read-only).
    """
    from brian2 import Function

    bridge_dir = Path(project) / "closed_loop_bridge"
    bridge_dir.mkdir(parents=True, exist_ok=True)
    for name in ("closed_loop_bridge.cpp", "closed_loop_bridge.h"):
        shutil.copyfile(CPP_DIR / name, bridge_dir / name)

    def unavailable(*args):
        raise NotImplementedError("the closed-loop bridge runs only in compiled code; "
                                  "the runtime device uses a network_operation")

    names = {"bridge_report": 2, "bridge_exchange": 1, "bridge_modulator": 1, "bridge_drive": 1,
             "bridge_observation": 1}
    functions = {}
    for name, n_args in names.items():
        f = Function(unavailable, arg_units=[1] * n_args, return_unit=1, stateless=False)
        f.implementations.add_implementation(
            "cpp", code=None, name=name,
            compiler_kwds={"headers": ['"closed_loop_bridge.h"'], "include_dirs": [str(bridge_dir)],
                           "sources": [str(bridge_dir / "closed_loop_bridge.cpp")]})
        functions[name] = f
    return functions


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
        modulator, drive = np.zeros(self.n_out), np.zeros(self.n_out)
        observation = np.zeros(self.n_in)
        for name, controller in self.controllers.items():
            if controller is None or controller.finished:
                continue
            out = self.out_slices[name]
            m, d, o = controller.step(counts[out])
            modulator[out], drive[out], observation[self.in_slices[name]] = m, d, o
        return modulator, drive, observation


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
        drive's amplitude, by default the config's ``drive_pA``."""
        if mode not in ("train", "evaluate"):
            raise ValueError(f"mode must be 'train' or 'evaluate', got {mode!r}")
        self.config = config
        self.game, self.rng, self.mode = game, rng, mode
        self.params: DuelingParams = config.dueling
        self.rate_hz = config.input_rate_hz
        self.frame_budget, self.episode_budget = int(frames), int(episodes)
        # epsilon: a number, or a function of the frames this controller has played
        self.epsilon = epsilon if callable(epsilon) else (lambda frames, e=float(epsilon): e)
        self.env = make_env(game, sticky=sticky, max_episode_frames=max_episode_frames)
        self.preprocess = Preprocessor(game, grid)
        self.n_out = config.n_out
        self.drive_amp = config.drive_pA * 1e-12 if drive_amp is None else drive_amp
        self.log = EpisodeLog()
        self.frames = 0
        self.steps = 0
        self.actions: list[int] | None = [] if record_actions else None
        self.deltas: list[float] = []
        self._episode_score = 0.0
        self._episode_frames = 0
        self._env_seed = int(env_seed)
        self._features = self._reset_env(seed=self._env_seed)
        self._last = None  # (V(s), action, reward, terminal) of the previous step
        self.finished = False
        self._fresh_run = True

    def _reset_env(self, seed=None) -> np.ndarray:
        frame, _ = self.env.reset(seed=seed)
        self.preprocess.reset()
        return self.preprocess(frame)

    def prepare_run(self):
        """A new network run starts: its first exchange only delivers the observation."""
        self._fresh_run = True

    def _reply(self, modulator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        drive = (self.rng.standard_normal(self.n_out) * self.drive_amp if self.drive_amp > 0
                 else np.zeros(self.n_out))
        return modulator, drive, self._features * self.rate_hz

    # -- what differs between readouts: how Q is read, how a transition is learned -------

    def on_first_exchange(self):
        """The run's first exchange arrived. Eligibility restarts with the run, so a
        transition left pending by the last run has nothing to credit."""
        self._last = None

    def values(self, counts: np.ndarray) -> tuple[float, np.ndarray]:
        """(V(s), Q(s, .)) from what the output layer reported for the step that ended."""
        value, _, q = q_values(counts, self.params, N_ACTIONS)
        return value, q

    def credit(self, value: float) -> np.ndarray:
        """The modulator that judges the previous transition, now that V(s') is known."""
        modulator = np.zeros(self.n_out)
        if self._last is not None:
            last_value, last_action, reward, terminal = self._last
            delta = td_error(reward, last_value, value, terminal, self.params)
            self.deltas.append(delta)
            modulator = modulator_vector(delta, last_action, self.params, N_ACTIONS)
        return modulator

    def remember(self, value: float, action: int, reward: float, terminal: bool):
        """Keep what the next step's credit needs."""
        self._last = (value, action, reward, terminal)

    def learn_from_run(self, agent, state, n_agent_steps: int):
        """The agent's learned state after a training run of ``n_agent_steps`` steps
        (R-STDP: the weights, read from the network)."""
        return agent.read_state()

    # -- the loop ----------------------------------------------------------------------

    def step(self, counts: np.ndarray):
        if self._fresh_run:
            self._fresh_run = False
            self.on_first_exchange()
            return self._reply(np.zeros(self.n_out))
        value, q = self.values(counts)
        modulator = self.credit(value) if self.mode == "train" else np.zeros(self.n_out)
        action = greedy_action(q, self.rng, self.epsilon(self.frames))
        if self.actions is not None:
            self.actions.append(action)
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
        return self._reply(modulator)

    def close(self):
        self.env.close()


def controller_class(config) -> type:
    """The controller for ``config.readout``; both take the same arguments."""
    return SurrogateController if config.readout == "surrogate" else AgentController


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

    def remember(self, value, action, reward, terminal):
        if self.mode == "train":
            self._pending = ((self._run, self._sample), action, float(np.sign(reward)), terminal)

    def learn_from_run(self, agent, state, n_agent_steps):
        from mtspark_bio.surrogate import DQNConfig, SpikeTrains, Transitions, train_dqn

        self.runs.append(agent.hidden_trains(n_agent_steps))
        params = agent.head_init if state is None else state
        if not self.transitions or self.config.dqn_updates_per_run == 0:
            return params
        trains = SpikeTrains.concatenate(self.runs)
        per_run = self.runs[0].n_samples
        index = lambda key: key[0] * per_run + key[1]  # noqa: E731
        states, actions, rewards, dones, next_states = zip(*self.transitions)
        batch = Transitions(trains.subset([index(k) for k in states]), actions, rewards,
                            trains.subset([index(k) for k in next_states]), dones)
        cfg = self.config
        dqn = DQNConfig(updates=cfg.dqn_updates_per_run, lr=cfg.dqn_lr, batch=cfg.dqn_batch, gamma=cfg.gamma,
                        target_update=cfg.dqn_target_update, seed=int(self.dqn_rng.integers(2**31 - 1)))
        params, history = train_dqn(self.model, batch, dqn, params=params)
        self.losses += history
        return params


def play_random(game: str, episodes: int, rng: np.random.Generator, sticky: bool = True,
                env_seed: int = 0, max_episode_frames: int = 108_000) -> EpisodeLog:
    """A uniformly random agent over the 18 actions, under the agent's settings."""
    env = make_env(game, sticky=sticky, max_episode_frames=max_episode_frames)
    log = EpisodeLog()
    env.reset(seed=int(env_seed))
    score, frames = 0.0, 0
    while len(log.scores) < episodes:
        _, reward, terminated, truncated, _ = env.step(int(rng.integers(N_ACTIONS)))
        score += float(reward)
        frames += FRAME_SKIP
        if terminated or truncated:
            log.scores.append(score)
            log.lengths.append(frames)
            score, frames = 0.0, 0
            env.reset()
    env.close()
    return log


class PipeServer:
    """Answers a compiled binary's bridge messages while ``run`` executes it.

    Two FIFOs in a private temporary folder; their paths and the message sizes reach
    the binary through its run's environment variables (:attr:`environment`), set for
    each :meth:`serve` only, so several servers in one process never see each other's.

    ``timeout_s``: the longest the binary may stay silent (from the start of the run
    or from the last reply to its next message; also the longest it may take to open
    the reply pipe) before :meth:`serve` gives up with a TimeoutError. A healthy binary
    simulates one agent step between messages, far less than the default, which only
    stops a binary that hangs. If the binary dies, :meth:`serve` raises its run's error
    (or a RuntimeError when it died before reading a reply); it never waits forever.
    """

    #: seconds to wait for a binary to exit once its pipes were closed on a failure
    RELEASE_S = 5.0

    def __init__(self, n_out: int, n_in: int, timeout_s: float = 300.0):
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.folder = Path(tempfile.mkdtemp(prefix="mtspark-bridge-", dir=root))
        self.to_python = self.folder / "to_python"
        self.from_python = self.folder / "from_python"
        os.mkfifo(self.to_python)
        os.mkfifo(self.from_python)
        self.n_out, self.n_in = n_out, n_in
        self.timeout_s = float(timeout_s)
        self.seconds_in_handler = 0.0

    @property
    def environment(self) -> dict[str, str]:
        """What the bridge reads from its environment (``cpp/closed_loop_bridge.cpp``)."""
        return {"MTSPARK_BRIDGE_TO_PY": str(self.to_python), "MTSPARK_BRIDGE_FROM_PY": str(self.from_python),
                "MTSPARK_BRIDGE_N_OUT": str(self.n_out), "MTSPARK_BRIDGE_N_IN": str(self.n_in)}

    @contextlib.contextmanager
    def _binary_environment(self):
        """This server's :attr:`environment` for the runs inside the block (Brian2 hands
        ``run_environment_variables`` to the binary it starts)."""
        from brian2 import prefs

        before = dict(prefs.devices.cpp_standalone.run_environment_variables)
        prefs.devices.cpp_standalone.run_environment_variables = {**before, **self.environment}
        try:
            yield
        finally:
            prefs.devices.cpp_standalone.run_environment_variables = before

    def _check_silence(self, since: float, what: str):
        if time.monotonic() - since > self.timeout_s:
            raise TimeoutError(f"closed loop: the compiled network {what} for {self.timeout_s:g} s "
                               "(PipeServer.timeout_s); it hangs, so the run was abandoned and its "
                               "pipes closed")

    def _open_writer(self, thread, since: float) -> int | None:
        """The reply FIFO's write end, once the binary opens its read end; None if the
        binary ended first (a blocking open would then wait forever)."""
        while True:
            try:
                writer = os.open(self.from_python, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                if not thread.is_alive():
                    return None
                self._check_silence(since, "did not open the reply pipe")
                time.sleep(0.001)
                continue
            os.set_blocking(writer, True)
            return writer

    def serve(self, run, handler):
        """Run ``run()`` (which executes the binary) in a thread and answer every
        message with ``handler(counts) -> (modulator, drive, observation)``."""
        with self._binary_environment():
            self._serve(run, handler)

    def _serve(self, run, handler):
        message_size = 8 * (1 + self.n_out)
        reader = os.open(self.to_python, os.O_RDONLY | os.O_NONBLOCK)
        writer = None
        failure = []

        def target():
            try:
                run()
            except BaseException as error:  # reported in the serving thread
                failure.append(error)

        thread = threading.Thread(target=target, name="brian2-binary", daemon=True)
        thread.start()
        buffer = bytearray()
        completed = ended_early = False
        heard = time.monotonic()  # the run's start or the last reply
        try:
            while True:
                try:
                    chunk = os.read(reader, message_size - len(buffer))
                except BlockingIOError:  # the binary is connected but has not written
                    self._check_silence(heard, "sent no message")
                    select.select([reader], [], [], 0.2)
                    continue
                if not chunk:  # no writer: the binary has not started or has ended
                    if not thread.is_alive():
                        break
                    self._check_silence(heard, "sent no message")
                    time.sleep(0.0005)
                    continue
                buffer += chunk
                if len(buffer) < message_size:
                    continue
                counts = np.frombuffer(bytes(buffer), dtype=np.float64)[1:]
                buffer.clear()
                start = time.perf_counter()
                modulator, drive, observation = handler(counts)
                self.seconds_in_handler += time.perf_counter() - start
                if writer is None:
                    writer = self._open_writer(thread, time.monotonic())
                    if writer is None:
                        ended_early = True
                        break
                payload = np.concatenate([modulator, drive, observation]).astype(np.float64).tobytes()
                view = memoryview(payload)
                try:
                    while view:
                        view = view[os.write(writer, view):]
                except BrokenPipeError:  # the binary died waiting for this reply
                    ended_early = True
                    break
                heard = time.monotonic()
            completed = True
        finally:
            os.close(reader)  # a binary still writing now gets SIGPIPE
            if writer is not None:
                os.close(writer)  # a binary still waiting for a reply reads EOF and exits
            if not completed:
                self._release_waiting_binary(thread)
                thread.join(self.RELEASE_S)  # never wait forever for a binary that hangs
            else:
                thread.join()
        if failure:
            raise failure[0]
        if ended_early:
            raise RuntimeError("closed loop: the compiled network ended without reading the reply to its "
                               "last message")

    def _release_waiting_binary(self, thread):
        # The serving loop failed (handler error, timeout, interrupt): a binary blocked
        # opening a FIFO waits until the other end appears. Open and close the other end
        # of each, so it reads EOF or gets SIGPIPE and exits (status 75).
        deadline = time.monotonic() + self.RELEASE_S
        while thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                os.close(os.open(self.to_python, os.O_RDONLY | os.O_NONBLOCK))
            with contextlib.suppress(OSError):  # ENXIO: no reader (yet)
                os.close(os.open(self.from_python, os.O_WRONLY | os.O_NONBLOCK))
            time.sleep(0.01)

    def close(self):
        shutil.rmtree(self.folder, ignore_errors=True)


def runtime_loop(agents, exchange, step):
    """The reference loop for the runtime device: a network_operation doing what the
    bridge calls do in compiled code, at the same point of the step."""
    from brian2 import Hz, amp, network_operation

    @network_operation(dt=step, when="end", order=1, name="runtime_exchange")
    def exchange_step(t):
        counts = np.zeros(exchange.n_out)
        for agent in agents:
            reported = getattr(agent.output, agent.reported)
            counts[agent.out_slice] = reported[:]
            reported[:] = 0
        modulator, drive, observation = exchange(counts)
        for agent in agents:
            if agent.neuromodulated:
                agent.output.M[:] = modulator[agent.out_slice]
                agent.output.I_ext[:] = drive[agent.out_slice] * amp
            agent.inputs.rate[:] = observation[agent.in_slice] * Hz

    return exchange_step


class ClosedLoop:
    """Agents side by side in one network on one device, played through an Exchange.

    The network is built (compiled) once for runs of ``chunk_steps`` agent steps; every
    call to :meth:`play` runs it again and again, carrying each agent's learned weights,
    until every controller is finished. The last run of a :meth:`play` may end with
    idle steps (at most one chunk).
    """

    def __init__(self, config, variants, device: str = "cpp", chunk_steps: int = 500, build_dir=None,
                 runtime_target: str = "numpy"):
        from brian2 import ms

        from mtspark_bio.agent import AgentNetwork
        from mtspark_bio.devices import Simulation

        if device == "cuda":
            raise ValueError(CUDA_UNSUPPORTED)
        self.config, self.device, self.chunk_steps = config, device, int(chunk_steps)
        self.sim = Simulation(device, directory=build_dir, seed=config.seed, dt=config.dt_ms * ms,
                              runtime_target=runtime_target)
        self.agents = {}
        offset_out = offset_in = 0
        for variant in variants:
            self.agents[variant] = AgentNetwork(config, variant, offset_out, offset_in)
            offset_out += config.n_out
            offset_in += config.n_features
        self.exchange = Exchange({v: a.out_slice for v, a in self.agents.items()},
                                 {v: a.in_slice for v, a in self.agents.items()})
        step = config.step_ms * ms
        self.server = None
        if device == "runtime":
            self.sim.add(runtime_loop(list(self.agents.values()), self.exchange, step))
        else:
            functions = bridge_functions(self.sim.directory)
            for k, agent in enumerate(self.agents.values()):
                agent.attach_bridge(functions, first=k == 0)
            self.server = PipeServer(self.exchange.n_out, self.exchange.n_in)
        for agent in self.agents.values():
            self.sim.add(*agent.objects)
        self.sim.build(chunk_steps * step)
        self.state = dict.fromkeys(self.agents)  # None = the built initial weights

    def play(self, controllers: dict, game: int, progress=None):
        """Run until every controller is finished; ``game`` selects the context;
        ``progress`` (a tqdm bar) advances once per run."""
        self.exchange.controllers = {v: controllers.get(v) for v in self.agents}
        while not self.exchange.finished:
            self.exchange.prepare_run()
            inputs = {}
            for v, agent in self.agents.items():
                inputs.update(agent.state_inputs(self.state[v], game))
            if self.server is None:
                self.sim.run(inputs)
            else:
                self.server.serve(lambda: self.sim.run(inputs), self.exchange)
            for v, controller in self.exchange.controllers.items():
                if controller is not None and controller.mode == "train":
                    self.state[v] = controller.learn_from_run(self.agents[v], self.state[v], self.chunk_steps)
            if progress is not None:
                progress.update(1)

    def close(self):
        if self.server is not None:
            self.server.close()
        self.sim.close()


CUDA_UNSUPPORTED = (
    "--device cuda: the closed loop has no CUDA route. brian2cuda runs run_regularly code "
    "as GPU kernels, so the C++ bridge cannot be called from it (brian2cuda also refuses "
    "functions with only a C++ implementation); the remaining route, one binary run per "
    "agent step through run_args, would pay a process start (tens of ms) per step. Use "
    "--device cpp (compiled closed loop) or --device runtime")
