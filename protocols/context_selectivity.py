"""Context selectivity: which dendritic segments win for which task context, and how
sparse and separate the task sub-networks are.

Methods
-------
In the active-dendrites network of Iyer et al. (2022, Front. Neurorobot. 16:846219) the
task context selects, in each neuron, the segment that best matches it; with k-winners
(5 % active) this carves the hidden layer into sparse, largely separate sub-networks,
one per task, which is what protects old tasks from new learning. MTSpark (Devkota,
Putra & Shafique 2024, arXiv 2412.04847) uses the same gate in a spiking network.

Here the hidden layer of the project's classifier (``mtspark_bio.circuit.Classifier``,
dendritic variant: ``models.neurons.DendriticNeuron`` with one distal segment per task,
plateau-gated context plasticity; by default the classifier's ``partition`` gating,
each neuron's segments wired to one task's context neurons, or ``gating="random"``,
each (segment, task) pair wired with a probability that gates ``gated_fraction``) sees scikit-learn's digits as ``n_tasks`` permuted-pixel tasks
(``mtspark_bio.data.permuted_tasks``). It is tested before training, then trained on
the tasks in turn (``n_train`` presentations each, context plasticity and readout
R-STDP on), and tested again; every test presents ``n_test`` images of each task with
that task's context and plasticity off. During test presentations the plateau state
of every segment is sampled every 2 ms and the hidden neurons' spikes are counted.

Per task t and neuron j: the fraction of presentation time each segment spends in
plateau; neuron j is *gated* by t if a segment is in plateau for more than
``gate_level`` of the time, and its *winning segment* for t is the segment in plateau
longest; j is *active* for t if it fires on average at least ``active_level`` spikes per
presentation. Measured: the fraction of neurons gated and active per task (sparsity),
the mean pairwise Jaccard overlap of the gated and of the active sets between tasks,
next to the overlap two independent random sets of the same sizes would have
(p1 p2 / (p1 + p2 - p1 p2)), and segment selectivity: the fraction of segments that
plateau for any task that plateau for exactly one.

Published values: the 5 % of active units and the sparse, mostly separate sub-networks
are quoted from Iyer et al. 2022 from memory; the paper was not readable from here, so
neither value nor its figure number is checked.

Key numbers (root attributes), after training (``*_before`` before it):
``gated_fraction``, ``active_fraction``, ``gated_overlap``, ``gated_overlap_chance``,
``active_overlap``, ``active_overlap_chance``, ``segment_selectivity``,
``winner_is_task_segment`` (fraction of gated neuron-task pairs whose winning segment
is wired to that task's context).
"""

from __future__ import annotations

import itertools

import numpy as np

from mtspark_bio.protocols.physiology import Measurement, simulation

NAME = "context-selectivity"
PUBLISHED = {
    "active_fraction": {"value": 0.05, "unit": "",
                        "source": "Iyer et al. 2022 (Front. Neurorobot. 16:846219): k-winners, 5 % active; "
                                  "not checked here"},
    "sub_networks": {"value": "sparse, mostly non-overlapping, one per task", "unit": "",
                     "source": "Iyer et al. 2022 (their sub-network analysis); not checked here"},
}


def _jaccard(a, b):
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else float("nan")


def _chance(p1, p2):
    denominator = p1 + p2 - p1 * p2
    return float(p1 * p2 / denominator) if denominator > 0 else float("nan")


def selectivity(plateau_fraction, spikes_per_presentation, task_segment, gate_level=0.2, active_level=0.5):
    """Sparsity, overlap and segment selectivity from per-task measurements.

    ``plateau_fraction``: (tasks, neurons, segments) time fraction in plateau;
    ``spikes_per_presentation``: (tasks, neurons); ``task_segment``: (neurons, segments,
    tasks) bool, segment wired to the task's context neurons."""
    n_tasks = plateau_fraction.shape[0]
    gated = plateau_fraction.max(axis=2) > gate_level             # (tasks, neurons)
    active = spikes_per_presentation >= active_level               # (tasks, neurons)
    winner = plateau_fraction.argmax(axis=2)                      # (tasks, neurons)
    pairs = list(itertools.combinations(range(n_tasks), 2))
    out = {"gated_fraction": float(gated.mean()), "active_fraction": float(active.mean())}
    for label, sets in (("gated", gated), ("active", active)):
        out[f"{label}_overlap"] = float(np.nanmean([_jaccard(sets[a], sets[b]) for a, b in pairs]))
        out[f"{label}_overlap_chance"] = float(np.nanmean(
            [_chance(sets[a].mean(), sets[b].mean()) for a, b in pairs]))
    responds = plateau_fraction > gate_level                       # (tasks, neurons, segments)
    n_tasks_per_segment = responds.sum(axis=0)
    used = n_tasks_per_segment > 0
    out["segment_selectivity"] = float((n_tasks_per_segment[used] == 1).mean()) if used.any() else float("nan")
    t_idx, j_idx = np.nonzero(gated)
    out["winner_is_task_segment"] = (float(task_segment[j_idx, winner[t_idx, j_idx], t_idx].mean())
                                     if len(t_idx) else float("nan"))
    return out, gated, active, winner


def measure(device: str = "runtime", seed: int = 0, n_tasks: int = 3, n_hidden: int = 120, n_train: int = 30,
            n_test: int = 10, gate_level: float = 0.2, active_level: float = 0.5, directory=None,
            gating: str = "partition") -> Measurement:
    from brian2 import StateMonitor, ms

    from mtspark_bio.circuit import Classifier, CircuitConfig, StimulusSchedule
    from mtspark_bio.data import load_dataset, permuted_tasks, subsample

    dataset = load_dataset("digits")
    tasks = [subsample(t, n_train, n_test, seed) for t in permuted_tasks(dataset, n_tasks, seed)]
    config = CircuitConfig.from_overrides(n_features=dataset.x_train.shape[1], n_classes=dataset.n_classes, n_tasks=n_tasks,
                           n_hidden=n_hidden, seed=seed, gating=gating).validate()
    chunk = max(n_train, n_tasks * n_test)
    sample_ms = 2.0
    sim = simulation(device, seed, dt=0.25 * ms, directory=directory)
    try:
        schedule = StimulusSchedule(config, chunk)
        net = Classifier(config, "dendritic", schedule)
        K = config.segments
        plateau_monitor = StateMonitor(net.hidden, [f"plateau{k}" for k in range(K)], record=True,
                                       dt=sample_ms * ms, name="plateau_monitor")
        sim.add(*net.objects, plateau_monitor)
        sim.build(schedule.duration)

        x_test = np.concatenate([t.x_test[:n_test] for t in tasks])
        y_test = np.concatenate([t.y_test[:n_test] for t in tasks])
        task_test = np.repeat(np.arange(n_tasks), [len(t.y_test[:n_test]) for t in tasks])
        state = None

        def run(x, y, task, plastic):
            inputs = schedule.values(x, y, task, np.full(len(y), float(plastic)))
            if state is not None:
                inputs.update(net.state_inputs(state))
            sim.run(inputs)

        def test():
            run(x_test, y_test, task_test, False)
            t_s = np.asarray(plateau_monitor.t / ms) / 1000
            sample_index = np.floor(t_s / (config.input.t_sample_ms / 1000)).astype(int)
            presenting = (t_s - sample_index * config.input.t_sample_ms / 1000) >= config.input.t_rest_ms / 1000
            plateau = np.stack([np.asarray(getattr(plateau_monitor, f"plateau{k}")) for k in range(K)], axis=-1)
            counts = net.hidden_counts(chunk)[:len(y_test)]
            fraction = np.zeros((n_tasks, n_hidden, K))
            spikes = np.zeros((n_tasks, n_hidden))
            for t in range(n_tasks):
                rows = np.flatnonzero(task_test == t)
                keep = presenting & np.isin(sample_index, rows)
                fraction[t] = plateau[:, keep].mean(axis=1)
                spikes[t] = counts[rows].mean(axis=0)
            return fraction, spikes

        before = test()
        # which segments are wired to which task's context neurons (fixed wiring; a
        # standalone device can read it only after a run)
        seg = np.asarray(net.context_synapses.segment[:])
        post = np.asarray(net.context_synapses.j[:])
        pre_task = np.asarray(net.context_synapses.i[:]) // config.hidden.context_per_task
        task_segment = np.zeros((n_hidden, K, n_tasks), dtype=bool)
        task_segment[post, seg, pre_task] = True
        for task in tasks:
            run(task.x_train[:n_train], task.y_train[:n_train], np.full(len(task.y_train[:n_train]), task.index),
                True)
            state = net.read_state()
        after = test()
        context_w = np.asarray(net.context_synapses.w[:])
    finally:
        sim.close()

    numbers, arrays = {}, {"task_segment": task_segment.astype(np.int8), "context_w": context_w,
                           "context_segment": seg, "context_post": post, "context_task": pre_task}
    for label, (fraction, spikes) in (("before", before), ("after", after)):
        result, gated, active, winner = selectivity(fraction, spikes, task_segment, gate_level, active_level)
        suffix = "" if label == "after" else "_before"
        numbers.update({key + suffix: value for key, value in result.items()})
        arrays[label] = {"plateau_fraction": fraction, "spikes_per_presentation": spikes,
                         "gated": gated.astype(np.int8), "active": active.astype(np.int8), "winner": winner}
    cfg = {"device": device, "seed": seed, "n_tasks": n_tasks, "n_hidden": n_hidden, "n_train": n_train,
           "n_test": n_test, "gate_level": gate_level, "active_level": active_level, "dataset": "digits",
           "tasks": "permuted", "dt_ms": 0.25, "plateau_sample_ms": sample_ms, "n_segments": K,
           "gated_fraction_param": config.hidden.gated_fraction, "gating": gating}
    return Measurement(numbers, arrays, cfg, PUBLISHED)

