"""The surrogate-trained readout inside the Brian2 network.

:class:`Brian2Readout` builds the NeuronGroups and Synapses of a
:class:`mtspark_bio.surrogate.LIFReadout` (model ``models.readout``) on top of any group
that spikes — the circuit's hidden layer, or a SpikeGeneratorGroup replaying recorded
hidden spike trains — and takes the trained weights either before the build
(:meth:`Brian2Readout.set`) or, on a compiled network, as run inputs
(:meth:`Brian2Readout.inputs`, for ``Simulation.run``), so one binary serves every
block's weights. Readout state returns to rest at the start of every presentation, so
presentation k of the run is the NumPy model's sample k.

:func:`evaluate_in_brian2` replays recorded spike trains through the readout on one
device and returns what Brian2 computed, to compare with the NumPy forward pass.

In a closed loop (``closed_loop=True``, the Atari agent) nothing is monitored: the
non-spiking output integrators sum their normalised membrane potential into ``count``
every time step, the loop reads ``count`` once per agent step (``count / n_steps`` is
the model's ``y``), and the readout returns to rest right after that exchange, at the
end of the step. Presentation k then covers time steps k N + 1 ... (k + 1) N (N time
steps per agent step), exactly the response to the observation the exchange at time
step k N delivered.
"""

from __future__ import annotations

import numpy as np

from mtspark_bio.models.readout import RESET_TO_REST, neuron_spec, synapse_spec
from mtspark_bio.network import make_neurons, make_synapses
from mtspark_bio.surrogate import LIFReadout, SpikeTrains, record_spike_trains


# the closed loop's per-step readout: the normalised membrane potential summed over the step
SUMMED_MEMBRANE = "summed_membrane : 1  # sum of (v - E_leak) / (V_threshold - E_leak) since the last exchange\n"
ACCUMULATE_MEMBRANE = "summed_membrane += (v - E_leak) / (V_threshold - E_leak)"


class Brian2Readout:
    """Brian2 objects of ``model`` fed by ``source`` (a group of ``model.n_in`` neurons).

    Presentations are ``t_sample`` long and start at t = 0. ``objects`` go into the
    Simulation; ``params`` (optional) are set directly (runtime, or before a build).
    """

    def __init__(self, model: LIFReadout, source, t_sample, name: str = "surrogate", params: dict | None = None,
                 closed_loop: bool = False):
        import dataclasses

        from brian2 import SpikeMonitor, StateMonitor, defaultclock, ms

        if len(source) != model.n_in:
            raise ValueError(f"source has {len(source)} neurons, the readout expects {model.n_in}")
        if not np.isclose(float(defaultclock.dt / ms), model.dt_ms, rtol=1e-9, atol=0):
            raise ValueError(f"the model was trained for dt = {model.dt_ms} ms but the network runs at "
                             f"{defaultclock.dt}; set LIFReadout(dt_ms=...) to the simulation's dt")
        if closed_loop and (model.output != "membrane" or model.window is not None):
            raise ValueError("a closed-loop readout is read from non-spiking integrators over the whole step "
                             "(output='membrane', window=None)")
        self.model, self.t_sample = model, t_sample
        self.dt = model.dt_ms * ms
        self.n_steps = int(round(float(t_sample / self.dt)))
        self.groups, self.synapses = [], []
        pre, n_pre = source, model.n_in
        last = len(model.sizes) - 1
        for layer, (n, spiking) in enumerate(zip(model.sizes, model.spiking)):
            spec = neuron_spec(model.params, spiking)
            rest = RESET_TO_REST
            if closed_loop and layer == last:
                spec = dataclasses.replace(spec, equations=spec.equations + SUMMED_MEMBRANE)
                rest += "\nsummed_membrane = 0"
            group = make_neurons(spec, n, f"{name}_layer{layer}")
            if closed_loop:
                # order 3: after the loop's exchange (orders 0-2) has read ``summed_membrane``
                group.run_regularly(rest, dt=t_sample, when="end", order=3, name=f"{name}_rest{layer}")
                if layer == last:  # after the state update: the model's u~[n]
                    group.run_regularly(ACCUMULATE_MEMBRANE, when="thresholds", name=f"{name}_sum{layer}")
            else:
                group.run_regularly(rest, dt=t_sample, when="start", name=f"{name}_rest{layer}")
            syn = make_synapses(synapse_spec(model.params), pre, group, f"{name}_syn{layer}")
            # row-major (pre, post) order, so w is W.ravel()
            i, j = np.divmod(np.arange(n_pre * n), n)
            syn.connect(i=i, j=j)
            self.groups.append(group)
            self.synapses.append(syn)
            pre, n_pre = group, n
        output = self.groups[-1]
        self.output = output
        self.monitor = None  # a closed-loop head is read through the bridge, not a monitor
        if not closed_loop and model.output == "spikes":
            self.monitor = SpikeMonitor(output, name=f"{name}_spikes")
        elif not closed_loop:  # after the state update, before any threshold/reset: the u~[n] of the model
            self.monitor = StateMonitor(output, "v", record=True, when="thresholds", name=f"{name}_v")
        self.objects = [*self.groups, *self.synapses] + ([self.monitor] if self.monitor is not None else [])
        if params is not None:
            self.set(params)

    def inputs(self, params: dict) -> dict:
        """Variables -> values carrying ``params`` into a run (``Simulation.run``)."""
        unit = self.model.params.I_unit
        out = {}
        for layer, (group, syn) in enumerate(zip(self.groups, self.synapses)):
            out[syn.w] = np.ascontiguousarray(np.asarray(params[f"W{layer}"], dtype=float).ravel())
            out[group.I_bias] = np.asarray(params[f"b{layer}"], dtype=float) * unit
        return out

    def set(self, params: dict) -> None:
        """Write ``params`` into the synapses and groups (runtime, or before a build)."""
        for key, value in self.inputs(params).items():
            key[:] = value

    def output_spikes(self, n_samples: int) -> SpikeTrains:
        """The output layer's spike trains per presentation (spiking output)."""
        if self.model.output != "spikes":
            raise ValueError("the output layer does not spike")
        return record_spike_trains(self.monitor, n_samples, self.model.sizes[-1], self.dt, self.t_sample)

    def readout(self, n_samples: int) -> np.ndarray:
        """What the model calls ``y``: output spike counts, or mean normalised membrane
        potential, over the model's window, per presentation (samples x outputs)."""
        window = self.model.window_steps(self.n_steps)
        if self.model.output == "spikes":
            spikes = self.output_spikes(n_samples)
            keep = (spikes.step >= window.start) & (spikes.step < window.stop)
            counts = np.zeros((n_samples, self.model.sizes[-1]))
            np.add.at(counts, (spikes.sample[keep], spikes.neuron[keep]), 1)
            return counts
        p = self.model.params
        v = np.asarray(self.monitor.v_[:])[:, :n_samples * self.n_steps]  # (outputs, steps)
        u = (v - float(p.E_leak)) / float(p.V_threshold - p.E_leak)
        return u.T.reshape(n_samples, self.n_steps, -1)[:, window.start:window.stop].mean(axis=1)


def spike_source(trains: SpikeTrains, dt, name: str = "recorded"):
    """A SpikeGeneratorGroup replaying ``trains`` back to back from t = 0."""
    from brian2 import SpikeGeneratorGroup, second

    indices, times = trains.generator_spikes(float(dt))
    return SpikeGeneratorGroup(trains.n_neurons, indices, times * second, dt=dt, name=name)


def evaluate_in_brian2(model: LIFReadout, params: dict, trains: SpikeTrains, device: str = "runtime",
                       directory=None, seed: int = 0, extra: list | None = None) -> dict:
    """Replay ``trains`` through the readout(s) on ``device`` ('runtime', 'cpp', 'cuda').

    ``extra`` lists further (model, params) pairs read from the same source in the same
    network (one compiled binary for several readouts). The weights go in as run inputs
    (a compiled binary is built with zero weights and never sees them at build time).
    Returns ``{'y': [...one per model], 'spikes': [...SpikeTrains or None], 'timings'}``.
    """
    from brian2 import ms

    from mtspark_bio.devices import Simulation

    pairs = [(model, params)] + list(extra or [])
    dt = model.dt_ms * ms
    t_sample = trains.n_steps * dt
    with Simulation(device, directory=directory, seed=seed, dt=dt) as sim:
        source = spike_source(trains, dt)
        readouts = [Brian2Readout(m, source, t_sample, name=f"surrogate{k}") for k, (m, _) in enumerate(pairs)]
        sim.add(source)
        inputs = {}
        for readout, (_, p) in zip(readouts, pairs):
            sim.add(*readout.objects)
            inputs.update(readout.inputs(p))
        sim.build(len(trains) * t_sample)
        sim.run(inputs)
        n = len(trains)
        return {"y": [r.readout(n) for r in readouts],
                "spikes": [r.output_spikes(n) if r.model.output == "spikes" else None for r in readouts],
                "timings": dict(sim.timings)}
