"""Catastrophic forgetting under alternating tasks, with and without active dendrites.

Methods
-------
A network of dendritic neurons (``models.neurons.DendriticNeuron``) learns a sequence of
image-classification tasks by a local three-factor rule at its readout (the readout
paragraph below) and is tested on every task after every training block; the
accuracies form the matrix R[block, task]
(Lopez-Paz & Ranzato 2017, NeurIPS, "Gradient Episodic Memory").

* Tasks: ``permuted`` — the same 10-class problem under a fixed pixel permutation per
  task, one shared readout population, so only the task context can tell tasks apart
  (Goodfellow et al. 2013; Kirkpatrick et al. 2017); ``split`` — task t holds classes
  2t and 2t+1 (Zenke, Poole & Ganguli 2017).
* Schedules: ``sequential`` (A B C D E) or ``cycling`` (A B C A B C ..., MTSpark's
  alternation at a fixed switching interval; Devkota, Putra & Shafique 2024).
* Variants, side by side in one simulation with the same wiring, seed and data:
  ``dendritic`` — the task context drives the distal segments, whose plateaus gate a
  task-specific subset of neurons; ``point`` — the same network with point neurons and
  no context; ``shuffled`` — dendritic, with a random context per presentation (control).
* Gating (``CircuitConfig.hidden.gating``): by default the hidden neurons are dealt out to the
  tasks in equal shares and each neuron's segments take one task's context only
  (``partition``: disjoint gated sets, as one segment per task with exclusive k-winners
  in Iyer et al. 2022, Front. Neurorobot. 16:846219); ``random`` gates a random 20 %
  per task with chance overlaps (Masse, Grant & Freedman 2018, PNAS 115:E10467). The
  hidden layer scales with the number of tasks, ``n_hidden = hidden_per_task * T``, so
  each task gets the same number of neurons. The protocol reports the Jaccard overlap
  of the tasks' active sets (neurons firing >= 0.2 spikes per test presentation).
* Encoding: pixel intensities as Poisson rates during a presentation window that
  follows a rest window, the per-pixel rate set so the average training image has a
  summed rate of 6 kHz whatever its size (``mtspark_bio.circuit.input_rate_for``);
  labels, contexts and the training flag are TimedArrays and the teacher / reward
  signal is computed by the readout population at the end of each presentation, so
  training runs entirely in compiled code (``mtspark_bio.circuit``).
* Readout (``--readout``): ``local`` (default) — one neuron per class inside the
  network. Its synapses learn by the normalised instar rule
  (``models.plasticity.normalised_instar``, a local three-factor rule: presynaptic
  count x a neuron-specific teacher signal, toward the divisively normalised input),
  and the readout neurons are perfect integrate-and-fire counters
  (``models.neurons.CountingReadout``) with balanced feed-forward inhibition, so the
  neuron with most spikes is the class with the largest weighted input.
  ``--circuit '{"readout": {"rule": "rstdp"}}'`` selects the earlier reward-modulated
  STDP readout (``models.readout_rules``). ``surrogate`` — the same network (its
  plasticity still runs), but decisions come from a current-based LIF readout trained by backpropagation through time with a
  surrogate spike derivative (``mtspark_bio.surrogate``; Neftci, Mostafa & Zenke 2019)
  on the hidden spike trains of the block's own training presentations only, starting
  from the previous block's weights, then loaded into Brian2 and evaluated in the
  simulator.
* Metrics: ACC, BWT, FWT and forgetting (``mtspark_bio.metrics``; Lopez-Paz & Ranzato
  2017; Chaudhry et al. 2018).

Results go to one HDF5 file, rewritten atomically after every block, so an interrupted
run keeps every finished block and ``--resume`` continues from there.

Run ``mtspark-bio forgetting --help`` (from Python: ``from mtspark_bio import api``, ``api.run_forgetting``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtspark_bio.blocks import BlockProtocol, run_protocol
from mtspark_bio.experiments import forgetting as experiment
from mtspark_bio.results import writes_result


def _check_spike_record(plan, out):
    if plan.config["record_spikes"] == "all":
        from mtspark_bio.spike_record import check_fits

        check_fits(*plan.spike_bytes(), float(plan.config["max_spike_mb"]), out)


def _describe(result, plan):
    def line(block):
        summary = "  ".join(f"{v} {np.nanmean(R[block]):.3f}" for v, R in result.R.items())
        return f"(task {plan.tasks[plan.schedule[block]].name}) mean test accuracy: {summary}"
    return line


def _evaluate(result, runner):
    def evaluate(block):
        runner.part = block + 1
        tasks = runner.plan.tasks_to_evaluate(block)
        accuracies = runner.evaluate(tasks)
        if tasks is None:  # overlap and activity come from evaluations of every task
            result.active_overlap, result.activity = runner.active_overlap, runner.activity
        return accuracies
    return evaluate


PROTOCOL = BlockProtocol(
    "forgetting", experiment,
    building=lambda plan: f"building the network ({', '.join(plan.config['variants'])}) on {plan.config['device']} ...",
    built_seconds=lambda runner: runner.sim.timings["build_s"],
    describe=_describe, evaluate=_evaluate, check=_check_spike_record)


@writes_result
def run(config: dict, out: Path, resume: bool = False, build_dir=None, log=print,
        plan: experiment.Plan | None = None) -> experiment.ResultFile:
    """Run (or resume) the protocol; returns the finished result file (draws nothing:
    ``mtspark_bio.figures.render(out)`` does). ``plan``: one already built for
    ``config`` (``api.ForgettingConfig`` has one), so the data are not loaded twice;
    a resumed run with another stored configuration builds its own."""
    return run_protocol(PROTOCOL, config, Path(out), resume, build_dir, log, plan=plan)
