"""The agent-environment loop, on compiled code and at runtime.

Brian2's ``network_operation`` (Python code every step) exists only in runtime mode; a
compiled standalone binary has no Python in it. The compiled loop therefore runs the
environment in this Python process and lets the binary talk to it:

* the binary calls C++ functions (``cpp/closed_loop_bridge.cpp``) from ``run_regularly``
  once per agent step: the output neurons report their spike counts, the bridge writes
  them to a named pipe and blocks until the reply (neuromodulator, action tag and
  exploratory drive per output neuron, the next observation's firing rates) comes back;
* :class:`PipeServer` runs the binary in a thread (``device.run``) and answers each
  message by calling an :class:`Exchange` handler, which steps the environments.

The runtime loop (the reference) calls the same handler from a ``network_operation``
at the same point of the time step. Both see the same network and the same handler,
so for the same seed they produce the same actions.

:class:`AgentController` is that handler's per-agent logic: Q from the output counts
(``models.actor_critic``), epsilon-greedy choice, one environment step (frame skip 4),
the TD error of the previous transition as the modulator and the chosen action as the
tag, episode bookkeeping.

Modules: ``pipes`` (the C++ bridge's Brian2 functions and :class:`PipeServer`),
``controllers`` (:class:`Exchange`, the agents' controllers, the random baseline) and
this one: the runtime reference loop and :class:`ClosedLoop`, which builds the agents'
network once and plays it run after run.
"""

from __future__ import annotations

import numpy as np

from mtspark_bio.closed_loop.controllers import (AgentController, EpisodeLog, Exchange, SurrogateController,
                                                 controller_class, play_random)
from mtspark_bio.closed_loop.pipes import CPP_DIR, PipeServer, bridge_functions
from mtspark_bio.errors import ConfigError, option

__all__ = ["AgentController", "CPP_DIR", "CUDA_UNSUPPORTED", "ClosedLoop", "EpisodeLog", "Exchange", "PipeServer",
           "SurrogateController", "bridge_functions", "controller_class", "play_random", "runtime_loop"]


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
        modulator, tag, drive, observation = exchange(counts)
        for agent in agents:
            if agent.neuromodulated:
                agent.output.M[:] = modulator[agent.out_slice]
                agent.output.tag[:] = tag[agent.out_slice]
                agent.output.I_ext[:] = drive[agent.out_slice] * amp
            getattr(agent.inputs, agent.observed)[:] = observation[agent.in_slice] * Hz

    return exchange_step


class ClosedLoop:
    """Agents side by side in one network on one device, played through an Exchange.

    The network is built (compiled) once for runs of ``chunk_steps`` agent steps; every
    call to :meth:`play` runs it again and again, carrying each agent's learned weights,
    until every controller is finished. The last run of a :meth:`play` may end with
    idle steps (at most one chunk). ``device``: a device name or a
    :class:`mtspark_bio.devices.DeviceOptions` (threads, compiler flags, ...).
    """

    def __init__(self, config, variants, device="cpp", chunk_steps: int = 500, build_dir=None,
                 runtime_target: str = "numpy"):
        from brian2 import ms

        from mtspark_bio.agent import AgentNetwork
        from mtspark_bio.devices import DeviceOptions

        options = device if isinstance(device, DeviceOptions) else DeviceOptions(device, runtime_target=runtime_target)
        if options.device == "cuda":
            raise ConfigError(CUDA_UNSUPPORTED)
        self.config, self.device, self.chunk_steps = config, options.device, int(chunk_steps)
        self.sim = options.simulation(directory=build_dir, seed=config.run.seed, dt=config.run.dt_ms * ms)
        self.agents = {}
        offset_out = offset_in = 0
        for variant in variants:
            self.agents[variant] = AgentNetwork(config, variant, offset_out, offset_in)
            offset_out += config.n_out
            offset_in += config.n_features
        self.exchange = Exchange({v: a.out_slice for v, a in self.agents.items()},
                                 {v: a.in_slice for v, a in self.agents.items()})
        step = config.run.step_ms * ms
        self.server = None
        if self.device == "runtime":
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
        ``progress`` (a :class:`mtspark_bio.progress.Progress`) advances after every run
        to the frames (training) or episodes (evaluation) the slowest controller has done."""
        self.exchange.controllers = {v: controllers.get(v) for v in self.agents}
        while not self.exchange.finished:
            self.exchange.prepare_run()
            inputs = {}
            for v, agent in self.agents.items():
                inputs.update(agent.state_inputs(self.state[v], game))
            if self.server is None:
                self.sim.run(inputs)
            else:
                self.server.serve(lambda: self.sim.run(inputs, environment=self.server.environment), self.exchange)
            for v, controller in self.exchange.controllers.items():
                if controller is not None and controller.mode == "train":
                    self.state[v] = controller.learn_from_run(self.agents[v], self.state[v], self.chunk_steps)
            if progress is not None:
                progress.advance_to(min((c.frames if c.mode == "train" else len(c.log.scores))
                                        for c in self.exchange.controllers.values() if c is not None))

    def close(self):
        if self.server is not None:
            self.server.close()
        self.sim.close()


CUDA_UNSUPPORTED = (
    f"{option('device')} cuda: the closed loop has no CUDA route. brian2cuda runs run_regularly code "
    "as GPU kernels, so the C++ bridge cannot be called from it (brian2cuda also refuses "
    "functions with only a C++ implementation); the remaining route, one binary run per "
    "agent step through run_args, would pay a process start (tens of ms) per step. Use "
    f"{option('device')} cpp (compiled closed loop) or {option('device')} runtime")
