"""The hidden layer the classifier circuit and the Atari agent share.

    inputs ──random receptive fields──▶ hidden (dendritic or point) ⇄ inhibitory pool
       └──────(optional) feed-forward──────────────────────────────▶ inhibitory pool

Each hidden neuron samples a fraction ``p_ff`` of the inputs; the pool gives feedback
inhibition (k-WTA-like sparsity) and, when the inputs reach it too, feed-forward
inhibition that follows the stimulus's summed input; a task's (or game's) context
reaches the distal segments through :func:`wire_context`. Every random draw comes from
the caller's ``rng``, in this order (receptive fields, inhibition, then the feed-forward
inhibition's wiring if it has any), so a network is wired the same on every device and
in every process.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, Synapses, nS

from mtspark_bio.models.neurons import DendriticNeuron, Interneuron, PointNeuron
from mtspark_bio.models.plasticity import static_synapse
from mtspark_bio.network import make_neurons, make_synapses


@dataclass
class HiddenLayer:
    hidden: NeuronGroup
    inhibitory: NeuronGroup
    feedforward: Synapses
    inhibition: list  # hidden -> pool, pool -> hidden
    # the synapses each input, hidden and inhibitory neuron's spike reaches in the layer
    # (known from the wiring drawn here: a standalone network's indices exist only after a run)
    out_degrees: dict

    @property
    def objects(self) -> list:
        return [self.hidden, self.inhibitory, self.feedforward, *self.inhibition]


def build_hidden_layer(rng, inputs, name, *, n_hidden: int, n_inhibitory: int, n_segments: int, g_ff_nS: float,
                       p_ff: float, g_hidden_to_inh_nS: float, g_inh_to_hidden_nS: float, p_inhibition: float,
                       g_input_to_inh_nS: float = 0.0, p_input_to_inh: float = 1.0,
                       extra_equations: str = "", method: str = "") -> HiddenLayer:
    """Hidden neurons fed by ``inputs`` through random receptive fields, with feedback
    inhibition. ``n_segments`` > 0: ``DendriticNeuron``s with that many distal
    segments; 0: ``PointNeuron``s. ``g_input_to_inh_nS`` > 0 also drives the pool from
    the inputs (each pair with probability ``p_input_to_inh``): :func:`feedforward_inhibition`.
    ``extra_equations`` adds variables other parts of the network read or write;
    ``method`` overrides the models' integration method ("" keeps it). ``name(part)``
    names the Brian2 objects."""
    def integrated(spec):
        return dataclasses.replace(spec, method=method) if method else spec

    neuron = DendriticNeuron(n_segments=n_segments) if n_segments > 0 else PointNeuron()
    spec = integrated(neuron.spec())
    if extra_equations:
        spec = dataclasses.replace(spec, equations=spec.equations + extra_equations)
    hidden = make_neurons(spec, n_hidden, name("hidden"))
    inhibitory = make_neurons(integrated(Interneuron().spec()), n_inhibitory, name("inhibitory"))
    feedforward = make_synapses(static_synapse("g_exc", g_ff_nS * nS), inputs, hidden, name("ff"))
    pre, post, w = random_receptive_fields(rng, len(inputs), n_hidden, p_ff)
    feedforward.connect(i=pre, j=post)
    feedforward.w = w
    inhibition, (to_pool, from_pool) = feedback_inhibition(rng, hidden, inhibitory, g_hidden_to_inh_nS * nS,
                                                           g_inh_to_hidden_nS * nS, p_inhibition, name)
    degrees = {"input": np.bincount(pre, minlength=len(inputs)), "hidden": np.bincount(to_pool, minlength=n_hidden),
               "inhibitory": np.bincount(from_pool, minlength=n_inhibitory)}
    if g_input_to_inh_nS > 0:  # absent otherwise: the network and its random streams stay as before
        ff_inhibition, from_input = feedforward_inhibition(rng, inputs, inhibitory, g_input_to_inh_nS * nS,
                                                           p_input_to_inh, name)
        inhibition.append(ff_inhibition)
        degrees["input"] = degrees["input"] + np.bincount(from_input, minlength=len(inputs))
    return HiddenLayer(hidden, inhibitory, feedforward, inhibition, degrees)


def random_receptive_fields(rng, n_inputs: int, n_cells: int, p: float):
    """Feed-forward wiring: each cell samples a fraction ``p`` of the inputs with
    uniform random weights, scaled so every cell has the same total weight
    (``n_inputs / 2``). Returns (pre, post, w) of the existing synapses."""
    w = rng.random((n_inputs, n_cells)) * (rng.random((n_inputs, n_cells)) < p)
    w *= 0.5 * n_inputs / np.maximum(w.sum(axis=0, keepdims=True), 1e-12)
    pre, post = np.nonzero(w)
    return pre, post, w[pre, post]


def feedback_inhibition(rng, cells, pool, g_to_pool, g_from_pool, p: float, name) -> tuple[list, tuple]:
    """cells -> inhibitory pool -> cells, each pair connected with probability ``p``
    and weight 1; returns the two Synapses objects and the presynaptic index of each
    of their synapses."""
    to_pool = make_synapses(static_synapse("g_exc", g_to_pool), cells, pool, name("to_inh"))
    from_pool = make_synapses(static_synapse("g_inh", g_from_pool), pool, cells, name("from_inh"))
    presynaptic = tuple(connect_at_random(rng, syn, p) for syn in (to_pool, from_pool))
    return [to_pool, from_pool], presynaptic


def connect_at_random(rng, synapses, p: float) -> np.ndarray:
    """Connect each (pre, post) pair of ``synapses`` with probability ``p``, weight 1;
    returns each synapse's presynaptic index. Drawn from our rng, not connect(p=...):
    Brian2 would draw from the device's generator, giving different wiring on each
    device and in each process."""
    pre, post = np.nonzero(rng.random((len(synapses.source), len(synapses.target))) < p)
    synapses.connect(i=pre, j=post)
    synapses.w = 1.0
    return pre


def feedforward_inhibition(rng, inputs, pool, g_from_input, p: float, name):
    """inputs -> inhibitory pool, each pair with probability ``p`` and weight 1: the pool
    then fires with the stimulus's summed input, and the inhibition it sends the hidden
    cells subtracts about the same drive from all of them, the part every random positive
    receptive field shares (an image's overall brightness), so a cell fires for how far
    its own sample of the image stands above the average cell's. Feed-forward inhibition
    through fast-spiking interneurons is how thalamic input reaches the cortex (Swadlow
    2003, Cereb. Cortex 13:25; Pouille & Scanziani 2001, Science 293:1159); the inputs stay
    excitatory, so Dale's law holds. Returns the Synapses and each synapse's presynaptic index."""
    synapses = make_synapses(static_synapse("g_exc", g_from_input), inputs, pool, name("input_to_inh"))
    return synapses, connect_at_random(rng, synapses, p)


def wire_context(rng, synapses, n_cells: int, n_segments: int, n_tasks: int, per_task: int,
                 gated_fraction: float, gating: str = "random"):
    """Context -> distal segments; a wired (segment, task) pair receives all of that
    task's ``per_task`` context neurons. Returns the wired (segment, task) pairs as
    arrays ``neuron``, ``segment``, ``task``.

    * ``random``: each (segment, task) pair is wired with probability q chosen so a task
      gates ``gated_fraction`` of the cells; tasks' gated sets overlap by chance, as the
      fixed random 20 % subsets of context-dependent gating (Masse, Grant & Freedman
      2018, PNAS 115:E10467).
    * ``partition``: the cells are dealt out to the tasks in equal shares (a random
      permutation), and each cell's segment k = its task takes that task's context
      only: disjoint gated sets, one per task, as one segment per task with exclusive
      k-winners gives in Iyer et al. 2022 (Front. Neurorobot. 16:846219). A cell then
      learns under one context only, so what another task's block does cannot reach it.
    """
    if gating == "partition":
        task = rng.permutation(np.arange(n_cells) % n_tasks)
        neuron, segment = np.arange(n_cells), task % n_segments
    else:
        q = 1 - (1 - gated_fraction) ** (1 / n_segments)
        wired = rng.random((n_cells, n_segments, n_tasks)) < q
        neuron, segment, task = np.nonzero(wired)
    pre = (task[:, None] * per_task + np.arange(per_task)).ravel()
    synapses.connect(i=pre, j=np.repeat(neuron, per_task))
    synapses.segment = np.repeat(segment, per_task)
    synapses.w = rng.uniform(0.5, 1.0, size=len(pre))
    return {"neuron": neuron, "segment": segment, "task": task}
