"""Continual-learning metrics from an accuracy matrix.

``R[i, j]`` is the accuracy (or score) on task ``j`` measured after training
block ``i``; ``schedule[i]`` is the task trained in block ``i``. A sequential
schedule (A B C D E) gives a square ``R`` with ``schedule = range(T)``; a
cycling schedule (A B C A B C ...) gives more blocks than tasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

METRIC_NAMES = ("acc", "bwt", "fwt", "forgetting")


def _mean(values: list[float]) -> float:
    # An empty set (e.g. a single task) has no transfer to average: NaN, no warning.
    return float(np.mean(values)) if values else float("nan")


def _validate(R, schedule, baseline, sampled: bool = False):
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] == 0 or R.shape[1] == 0:
        raise ValueError(f"R must be a non-empty 2-D array (n_blocks, n_tasks), got shape {R.shape}")
    n_blocks, n_tasks = R.shape
    if np.isinf(R).any() or (not sampled and np.isnan(R).any()):
        raise ValueError("R contains NaN or inf: the accuracy matrix must be complete (every block evaluated on every task)")
    schedule = np.asarray(schedule)
    if schedule.ndim != 1 or len(schedule) != n_blocks:
        raise ValueError(f"schedule must have one task index per block: R has {n_blocks} blocks, schedule has shape {schedule.shape}")
    if not np.issubdtype(schedule.dtype, np.integer):
        raise ValueError(f"schedule must hold integer task indices, got dtype {schedule.dtype}")
    bad = schedule[(schedule < 0) | (schedule >= n_tasks)]
    if bad.size:
        raise ValueError(f"schedule holds task index {int(bad[0])} out of range 0..{n_tasks - 1} (R has {n_tasks} task columns)")
    if baseline is not None:
        baseline = np.asarray(baseline, dtype=float)
        if baseline.shape != (n_tasks,):
            raise ValueError(f"baseline must have one value per task, shape ({n_tasks},), got shape {baseline.shape}")
        if not np.all(np.isfinite(baseline)):
            raise ValueError("baseline contains NaN or inf")
    if sampled:
        needed = sampled_entries(schedule, n_tasks)
        missing = sorted(zip(*np.nonzero(needed & np.isnan(R))))
        if missing:
            block, task = missing[0]
            raise ValueError(f"R[{block}, {task}] is NaN, but a sampled evaluation must evaluate every task after the "
                             f"last block, after each block its task and the next block's task "
                             f"({len(missing)} such entries missing)")
    return R, schedule, baseline


def sampled_entries(schedule: Sequence[int], n_tasks: int) -> np.ndarray:
    """The entries of R a sampled evaluation measures (the least the metrics need):
    every task after the last block, and after each block the task it trained and the
    task the next block trains. Its cost grows linearly with the number of tasks
    (about three test sets per block) where the full matrix grows with its square."""
    schedule = np.asarray(schedule)
    needed = np.zeros((len(schedule), n_tasks), bool)
    needed[-1] = True
    needed[np.arange(len(schedule)), schedule] = True
    needed[np.arange(len(schedule) - 1), schedule[1:]] = True
    return needed


def continual_metrics(R, schedule: Sequence[int], baseline=None, sampled: bool = False) -> dict[str, float]:
    """Average accuracy, backward/forward transfer and forgetting.

    Definitions follow Lopez-Paz & Ranzato 2017 (GEM: ACC, BWT, FWT) and
    Chaudhry et al. 2018 (RWalk: forgetting), generalised from one block per
    task to any schedule. Let ``first(j)`` / ``last(j)`` be the first / last
    block that trained task ``j`` and ``final`` the task of the last block.

    * ``acc = mean_j R[-1, j]`` over all tasks.
    * ``bwt = mean_{j != final} R[-1, j] - R[last(j), j]``: how later training
      changed task ``j`` since it was last trained (negative = interference).
    * ``fwt = mean_{j != schedule[0]} R[first(j) - 1, j] - baseline[j]``:
      zero-shot gain on ``j`` from earlier tasks over the accuracy at random
      initialisation; NaN when ``baseline`` is None.
    * ``forgetting = mean_{j != final} max_{first(j) <= l < n_blocks - 1}
      R[l, j] - R[-1, j]``: drop from the best accuracy ever reached on ``j``.

    Only tasks trained at least once enter bwt, fwt and forgetting. With a
    sequential schedule (``schedule = range(T)``, ``R`` square) these are the
    textbook formulas: ``bwt = 1/(T-1) sum_{j<T-1} R[T-1, j] - R[j, j]``,
    ``fwt = 1/(T-1) sum_{j>=1} R[j-1, j] - b_j``. For forgetting the maximum
    starts at the block that first trained ``j``: accuracy before any training
    on ``j`` is forward transfer, not something that can be forgotten (the two
    agree with ``max_{l<T-1}`` whenever pre-training accuracy is not the peak).
    A metric whose task set is empty (a single task) is NaN.

    ``sampled``: R came from a sampled evaluation (:func:`sampled_entries`); NaN marks
    an entry not evaluated. The metrics are computed from the entries that were, so
    forgetting's maximum runs over the blocks at which the task was evaluated (with one
    block per task, its own block): a lower bound on forgetting as defined above.

    Parameters
    ----------
    R : array_like, shape (n_blocks, n_tasks)
        Accuracy matrix; must be finite.
    schedule : sequence of int, length n_blocks
        Task index trained in each block.
    baseline : array_like, shape (n_tasks,), optional
        Accuracy of the untrained network on each task.

    Returns
    -------
    dict
        ``{"acc", "bwt", "fwt", "forgetting"}`` as floats.

    Raises
    ------
    ValueError
        On a shape mismatch, a wrong schedule length, an out-of-range task
        index, or non-finite values in ``R`` or ``baseline``.
    """
    R, schedule, baseline = _validate(R, schedule, baseline, sampled)
    final = schedule[-1]
    trained = [int(j) for j in np.unique(schedule)]
    blocks = {j: np.flatnonzero(schedule == j) for j in trained}

    bwt, fwt = [], []
    for j in trained:
        first, last = blocks[j][0], blocks[j][-1]
        if j != final:
            bwt.append(R[-1, j] - R[last, j])
        if baseline is not None and j != schedule[0]:
            fwt.append(R[first - 1, j] - baseline[j])
    forgetting = forgetting_per_task(R, schedule, sampled)

    return {
        "acc": float(R[-1].mean()),
        "bwt": _mean(bwt),
        "fwt": _mean(fwt),
        "forgetting": _mean([float(f) for f in forgetting if np.isfinite(f)]),
    }


def forgetting_per_task(R, schedule: Sequence[int], sampled: bool = False) -> np.ndarray:
    """Each task's drop from the best accuracy (or score) it reached since it was first
    trained to its final one, ``max_{first(j) <= l < n_blocks - 1} R[l, j] - R[-1, j]``
    (the terms :func:`continual_metrics` averages); NaN for the task of the last block
    and for tasks never trained. ``sampled``: the maximum over the evaluated entries."""
    R, schedule, _ = _validate(R, schedule, None, sampled)
    out = np.full(R.shape[1], np.nan)
    for j in np.unique(schedule):
        if j != schedule[-1]:
            # j is not the last block's task, so its first block is before the last one
            first = np.flatnonzero(schedule == j)[0]
            out[j] = np.nanmax(R[first:-1, j]) - R[-1, j]
    return out


def summarise_over_seeds(results: Sequence[Mapping[str, float]]) -> dict[str, tuple[float, float]]:
    """Mean and sample standard deviation (ddof=1) of each metric over seeds.

    Parameters
    ----------
    results : sequence of dict
        One metric dict per seed (e.g. from :func:`continual_metrics`); all
        must have the same keys.

    Returns
    -------
    dict
        ``name -> (mean, std)``. The std is NaN for a single seed, and a
        metric that is NaN in any seed (e.g. ``fwt`` without a baseline)
        summarises to ``(nan, nan)``.
    """
    if not results:
        raise ValueError("summarise_over_seeds needs at least one metric dict")
    keys = set(results[0])
    for i, r in enumerate(results):
        if set(r) != keys:
            raise ValueError(f"metric dict {i} has keys {sorted(r)}, expected {sorted(keys)}")
    summary = {}
    for k in sorted(keys):
        v = np.array([r[k] for r in results], dtype=float)
        if len(v) < 2 or not np.all(np.isfinite(v)):
            std = float("nan")
        else:
            std = float(v.std(ddof=1))
        mean = float(v.mean()) if np.all(np.isfinite(v)) else float("nan")
        summary[k] = (mean, std)
    return summary


def active_set_overlap(mean_counts: np.ndarray, active_level: float = 0.2) -> np.ndarray:
    """Jaccard overlap of the tasks' active sets.

    ``mean_counts[t, i]`` is hidden neuron i's mean spike count per test presentation of
    task t; neuron i is in task t's active set if it fires at least ``active_level``
    spikes per presentation on average. Returns the (tasks x tasks) matrix
    |A_s & A_t| / |A_s | A_t| (1 on the diagonal of a non-empty set; NaN where both
    sets are empty).
    """
    active = np.asarray(mean_counts) >= active_level
    inter = (active[:, None, :] & active[None, :, :]).sum(-1)
    union = (active[:, None, :] | active[None, :, :]).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


#: what a forgetting result file keeps of the hidden layer's activity, per task
ACTIVITY = ("spikes_per_presentation", "ungated_share", "synaptic_operations", "rate_network_macs")


def hidden_activity(mean_counts: np.ndarray, gated: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per task, from ``mean_counts[t, i]`` (hidden neuron i's mean spike count per test
    presentation of task t) and ``gated[t, i]`` (True where task t's context gates
    neuron i; None for a network without context):

    * ``spikes_per_presentation``: the whole hidden layer's spikes per presentation;
    * ``ungated_share``: the share of those spikes from neurons outside task t's gated
      set (NaN without context, or where the layer is silent).

    A readout that learns from every spiking cell is protected by the gating only as
    far as this share is small."""
    counts = np.asarray(mean_counts, dtype=float)
    total = counts.sum(axis=1)
    if gated is None:
        return {"spikes_per_presentation": total, "ungated_share": np.full(len(counts), np.nan)}
    outside = (counts * ~np.asarray(gated, dtype=bool)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"spikes_per_presentation": total, "ungated_share": np.where(total > 0, outside / total, np.nan)}


def synaptic_operations(counts: dict[str, np.ndarray], out_degree: dict[str, np.ndarray]) -> np.ndarray:
    """Synaptic operations per presentation, the energy proxy spiking-network papers
    argue from (e.g. Merolla et al. 2014, Science 345:668; Rueckauer et al. 2017, Front.
    Neurosci. 11:682): every spike counts once for each synapse it reaches, summed over
    the network's populations. ``counts[p]``: presentations x neurons of population p;
    ``out_degree[p]``: the synapses leaving each of its neurons."""
    return sum(np.asarray(counts[p], dtype=float) @ np.asarray(out_degree[p], dtype=float) for p in out_degree)


def rate_network_macs(layer_sizes) -> int:
    """Multiply-accumulates a dense rate network with these layer sizes (input first)
    needs for one input: what a conventional network of the same size costs per image."""
    sizes = [int(n) for n in layer_sizes]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def mean_off_diagonal(matrix: np.ndarray) -> float:
    """Mean of a square matrix's off-diagonal entries (NaN for a 1 x 1 matrix)."""
    matrix = np.asarray(matrix, dtype=float)
    off = matrix[~np.eye(len(matrix), dtype=bool)]
    return float(np.nanmean(off)) if off.size and np.isfinite(off).any() else float("nan")
