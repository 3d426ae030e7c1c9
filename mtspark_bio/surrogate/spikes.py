"""Recorded spike trains: sparse (samples, steps, neurons), built from a Brian2 SpikeMonitor."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class SpikeTrains:
    """Spike trains of ``n_neurons`` over ``n_samples`` presentations of ``n_steps`` time
    steps each, stored as events (sample, step, neuron) sorted by sample."""

    def __init__(self, sample, step, neuron, n_samples: int, n_steps: int, n_neurons: int):
        sample, step, neuron = (np.asarray(a, dtype=np.int64).ravel() for a in (sample, step, neuron))
        if not (len(sample) == len(step) == len(neuron)):
            raise ValueError("sample, step and neuron must have the same length")
        for name, a, n in (("sample", sample, n_samples), ("step", step, n_steps), ("neuron", neuron, n_neurons)):
            if len(a) and (a.min() < 0 or a.max() >= n):
                raise ValueError(f"{name} index out of range [0, {n})")
        order = np.lexsort((neuron, step, sample))
        self.sample, self.step, self.neuron = sample[order], step[order], neuron[order]
        self.n_samples, self.n_steps, self.n_neurons = int(n_samples), int(n_steps), int(n_neurons)
        self._offsets = np.searchsorted(self.sample, np.arange(self.n_samples + 1))

    def __len__(self) -> int:
        return self.n_samples

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.n_samples, self.n_steps, self.n_neurons

    @classmethod
    def from_dense(cls, spikes) -> "SpikeTrains":
        """From a (samples, steps, neurons) array of spike counts (0/1)."""
        spikes = np.asarray(spikes)
        s, n, j = np.nonzero(spikes)
        counts = spikes[s, n, j].astype(np.int64)
        return cls(np.repeat(s, counts), np.repeat(n, counts), np.repeat(j, counts), *spikes.shape)

    @classmethod
    def concatenate(cls, parts) -> "SpikeTrains":
        """Presentations of several SpikeTrains (same steps and neurons), in order."""
        parts = list(parts)
        if not parts or len({(p.n_steps, p.n_neurons) for p in parts}) != 1:
            raise ValueError("need one or more SpikeTrains with the same steps and neurons")
        first = np.cumsum([0] + [len(p) for p in parts])
        return cls(np.concatenate([p.sample + f for p, f in zip(parts, first)]),
                   np.concatenate([p.step for p in parts]), np.concatenate([p.neuron for p in parts]),
                   first[-1], parts[0].n_steps, parts[0].n_neurons)

    def _events(self, samples):
        samples = np.asarray(samples, dtype=np.int64)
        starts, stops = self._offsets[samples], self._offsets[samples + 1]
        lengths = stops - starts
        where = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        return np.repeat(np.arange(len(samples)), lengths), where

    def subset(self, samples) -> "SpikeTrains":
        """The presentations ``samples`` (in that order) as a new SpikeTrains."""
        row, where = self._events(samples)
        return SpikeTrains(row, self.step[where], self.neuron[where], len(samples), self.n_steps, self.n_neurons)

    def matrix(self, samples=None) -> sp.csr_matrix:
        """The presentations ``samples`` as a sparse (len(samples) * n_steps, n_neurons)
        matrix, row = sample * n_steps + step: the input of one mini-batch."""
        samples = np.arange(self.n_samples) if samples is None else samples
        row, where = self._events(samples)
        rows = row * self.n_steps + self.step[where]
        return sp.csr_matrix((np.ones(len(rows)), (rows, self.neuron[where])),
                             shape=(len(samples) * self.n_steps, self.n_neurons))

    def dense(self, samples=None) -> np.ndarray:
        samples = np.arange(self.n_samples) if samples is None else samples
        return self.matrix(samples).toarray().reshape(len(samples), self.n_steps, self.n_neurons)

    def counts(self) -> np.ndarray:
        """Spikes per presentation and neuron (samples x neurons)."""
        out = np.zeros((self.n_samples, self.n_neurons), dtype=np.int64)
        np.add.at(out, (self.sample, self.neuron), 1)
        return out

    def generator_spikes(self, dt_s: float):
        """(indices, times in s) for a Brian2 SpikeGeneratorGroup replaying the trains
        back to back, presentation k starting at k * n_steps * dt."""
        steps = self.sample * self.n_steps + self.step
        return self.neuron.copy(), steps * dt_s


def record_spike_trains(monitor, n_samples: int, n_neurons: int, dt, t_sample, t_start=0.0) -> SpikeTrains:
    """Bin a Brian2 SpikeMonitor (or a ``(t in s, i)`` pair) into presentations.

    Presentation k covers time steps [k * n_steps, (k + 1) * n_steps) counted from
    ``t_start``, with ``n_steps = t_sample / dt`` (must be a whole number). Spikes are
    binned by their integer time step (``round(t / dt)``), not by ``floor(t / t_sample)``,
    so a spike on the first step of a presentation is never counted in the previous one
    through rounding. Spikes outside the ``n_samples`` presentations are dropped.

    ``dt``, ``t_sample`` and ``t_start`` are Brian2 quantities or floats in seconds.
    """
    dt_s, t_sample_s, t_start_s = (float(x) for x in (dt, t_sample, t_start))
    n_steps = int(round(t_sample_s / dt_s))
    if not np.isclose(n_steps * dt_s, t_sample_s, rtol=0, atol=1e-6 * dt_s):
        raise ValueError(f"t_sample ({t_sample_s} s) is not a whole number of time steps ({dt_s} s)")
    if isinstance(monitor, tuple):
        t, i = (np.asarray(a) for a in monitor)
    else:
        t, i = np.asarray(monitor.t_[:]), np.asarray(monitor.i[:])
    steps = np.round((t - t_start_s) / dt_s).astype(np.int64)
    keep = (steps >= 0) & (steps < n_samples * n_steps)
    steps, i = steps[keep], i[keep]
    return SpikeTrains(steps // n_steps, steps % n_steps, i, n_samples, n_steps, n_neurons)
