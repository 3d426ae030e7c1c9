"""The forgetting protocol's library: its plan, its network on a device, its result file.

``protocols/forgetting.py`` composes these into the protocol (methods in its docstring):

* :class:`Plan` — everything decided before simulating (data, tasks, schedule,
  circuit); building it validates the configuration, so bad input fails before any
  simulation;
* :class:`Runner` — the network of all variants, compiled once and run chunk by chunk,
  carrying the learned state from run to run;
* :class:`SurrogateReadouts` — the BPTT-trained readouts of ``readout="surrogate"``;
* :class:`ResultFile` — the HDF5 file: results so far and the state to resume;
* :func:`format_table` — the printed accuracy matrices and metrics.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import numpy as np

from mtspark_bio.blocks import BlockRecord
from mtspark_bio.errors import ConfigError, option
from mtspark_bio.spike_record import DEFAULT_MAX_SPIKE_MB, RECORD_SPIKES

DEFAULTS = {
    "dataset": "digits", "data_dir": None, "tasks": "permuted", "n_tasks": 5,
    "schedule": "sequential", "cycles": 2, "variants": ["dendritic", "point"],
    "train_samples": 500, "test_samples": 100, "epochs": 1, "chunk": 100,
    "device": "cpp", "threads": 1, "compiler_flags": "vectorising", "seed": 0, "dt_ms": 0.25, "circuit": {},
    "readout": "local", "evaluation": "all",
    "surrogate_epochs": 10, "record_spikes": "sample", "max_spike_mb": DEFAULT_MAX_SPIKE_MB,
}
READOUTS = ("local", "surrogate")
#: "all": every task after every block (R complete; cost grows with the square of the
#: number of tasks); "sampled": metrics.sampled_entries (cost linear in it)
EVALUATIONS = ("all", "sampled")


class Plan:
    """Everything decided before simulating: data, tasks, schedule, circuit. Building a
    Plan validates the configuration, so bad input fails before any simulation."""

    def __init__(self, config: dict):
        from mtspark_bio.circuit import VARIANTS, CircuitConfig, input_rate_for
        from mtspark_bio.models.readout_rules import LEGACY_FIELDS
        from mtspark_bio.data import load_dataset, permuted_tasks, split_tasks, subsample

        config = {**DEFAULTS, **config}  # result files written before a key existed
        if config["readout"] == "rstdp":  # the name of "local" before the instar rule
            import warnings

            warnings.warn("readout 'rstdp' is the old name of 'local' (the in-network readout; its rule is "
                          "chosen by the circuit's readout entry)", FutureWarning, stacklevel=2)
            config["readout"] = "local"
        self.config = config
        problems = []
        for key in ("n_tasks", "train_samples", "test_samples", "epochs", "chunk", "cycles", "surrogate_epochs"):
            if int(config[key]) < 1:
                problems.append(f"{option(key)} must be >= 1 (got {config[key]})")
        unknown = [v for v in config["variants"] if v not in VARIANTS]
        if unknown or not config["variants"]:
            problems.append(f"{option('variants')}: unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
        if config["record_spikes"] not in RECORD_SPIKES:
            problems.append(f"unknown {option('record_spikes')} {config['record_spikes']!r}; choose from {', '.join(RECORD_SPIKES)}")
        if not float(config["max_spike_mb"]) > 0:
            problems.append(f"{option('max_spike_mb')} must be > 0 (got {config['max_spike_mb']})")
        if config["evaluation"] not in EVALUATIONS:
            problems.append(f"unknown {option('evaluation')} {config['evaluation']!r}; choose from {', '.join(EVALUATIONS)}")
        if config["readout"] not in READOUTS:
            problems.append(f"unknown {option('readout')} {config['readout']!r}; choose from {', '.join(READOUTS)}")
        if len(set(config["variants"])) != len(config["variants"]):
            twice = sorted({v for v in config["variants"] if config["variants"].count(v) > 1})
            problems.append(f"{option('variants')} lists {', '.join(repr(v) for v in twice)} twice; give each variant once")
        problems += self.device_options().problems()
        if config["device"] == "cuda":
            from mtspark_bio.cuda_device import gpu_available, nvcc_available

            if not nvcc_available():
                problems.append(f"{option('device')} cuda needs nvcc (the CUDA toolkit) on PATH; use {option('device')} cpp")
            elif not gpu_available():
                problems.append(f"{option('device')} cuda needs a GPU to run the protocol and none was found "
                                f"(nvidia-smi lists none); use {option('device')} cpp here")
        if problems:
            raise ConfigError("; ".join(problems))
        dataset = load_dataset(config["dataset"], config["data_dir"])
        if config["tasks"] == "permuted":
            tasks = permuted_tasks(dataset, config["n_tasks"], config["seed"])
        else:
            tasks = split_tasks(dataset, config["n_tasks"])
        self.tasks = [subsample(t, config["train_samples"], config["test_samples"], config["seed"])
                      for t in tasks]
        n = len(self.tasks)
        self.schedule = list(range(n)) * (config["cycles"] if config["schedule"] == "cycling" else 1)
        fields = CircuitConfig.field_names()
        bad = sorted(set(config["circuit"]) - set(fields) - set(CircuitConfig.SECTIONS) - {"readout", "readout_rule", *LEGACY_FIELDS})
        if bad:
            raise ConfigError(f"{option('circuit')} has unknown keys {bad}; known: {sorted(fields)}")
        # the input rate follows the data's summed intensity unless set by hand
        rate = {"input_rate_hz": input_rate_for(dataset.x_train)}
        try:
            self.circuit = CircuitConfig.from_overrides(
                n_features=dataset.x_train.shape[1], n_classes=dataset.n_classes, n_tasks=n,
                **{"seed": config["seed"], **rate, **config["circuit"]}).validate()
        except (ValueError, TypeError) as error:
            raise ConfigError(f"{option('circuit')}: {error}") from None

    @property
    def sampled(self) -> bool:
        return self.config["evaluation"] == "sampled"

    def tasks_to_evaluate(self, block: int) -> np.ndarray | None:
        """The tasks evaluated after ``block`` (-1: before training); None: all of them."""
        from mtspark_bio.metrics import sampled_entries

        if not self.sampled or block < 0:  # the untrained baseline is one test set per task
            return None
        needed = np.flatnonzero(sampled_entries(self.schedule, len(self.tasks))[block])
        return None if len(needed) == len(self.tasks) else needed

    def device_options(self):
        """How the protocol's network is simulated (``devices.DeviceOptions``)."""
        from mtspark_bio.devices import DeviceOptions

        return DeviceOptions.from_protocol_config(self.config)

    def training_order(self, block: int) -> np.ndarray:
        """Indices into the block's training set, one permutation per epoch; a pure
        function of (seed, block) so a resumed run trains on exactly the same order."""
        rng = np.random.default_rng([self.config["seed"], block])
        n = len(self.tasks[self.schedule[block]].y_train)
        return np.concatenate([rng.permutation(n) for _ in range(self.config["epochs"])])

    def runs_per_block(self) -> tuple[int, int]:
        """Compiled runs of one block's training and of one evaluation."""
        chunk = self.config["chunk"]
        return -(-len(self.training_order(0)) // chunk), -(-len(self.test_set()[1]) // chunk)

    def spike_bytes(self) -> tuple[float, float]:
        """Expected bytes of ``--record-spikes all``: the whole run and its largest part
        (a block's training and evaluation; :mod:`mtspark_bio.spike_record`)."""
        from mtspark_bio.spike_record import expected_spike_bytes

        circuit = self.circuit
        run_s = (self.config["chunk"] * circuit.input.t_sample_ms + circuit.input.t_rest_ms) * 1e-3
        train, test = self.runs_per_block()
        n_blocks = len(self.schedule)
        sizes = {"hidden": circuit.hidden.n_hidden, "readout": circuit.n_classes}
        per_run = expected_spike_bytes(run_s, sizes, len(self.config["variants"]))
        return per_run * (n_blocks * (train + test) + test), per_run * (train + test)

    def test_set(self, tasks=None):
        """The test images of ``tasks`` (None: all) in one sequence: (images, labels, task ids)."""
        chosen = self.tasks if tasks is None else [self.tasks[j] for j in tasks]
        x = np.concatenate([t.x_test for t in chosen])
        y = np.concatenate([t.y_test for t in chosen])
        task = np.concatenate([np.full(len(t.y_test), t.index) for t in chosen])
        return x, y, task


class Runner:
    """The compiled (or stored) network of all variants, run chunk by chunk."""

    def __init__(self, plan: Plan, build_dir=None, progress=None, device=None):
        """``device``: :class:`mtspark_bio.devices.DeviceOptions` other than the plan's
        (a benchmark building for a GPU it does not have, a runtime target)."""
        from brian2 import ms

        from mtspark_bio.circuit import Classifier, StimulusSchedule

        self.plan = plan
        config = plan.config
        self.sim = (device or plan.device_options()).simulation(directory=build_dir, seed=config["seed"],
                                                                dt=config["dt_ms"] * ms)
        self.stimuli = StimulusSchedule(plan.circuit, config["chunk"])
        self.variants = {v: Classifier(plan.circuit, v, self.stimuli) for v in config["variants"]}
        for classifier in self.variants.values():
            self.sim.add(*classifier.objects)
        self.surrogate = SurrogateReadouts(self) if config["readout"] == "surrogate" else None
        read_back = [item for classifier in self.variants.values() for item in classifier.read_back()]
        if self.surrogate is not None:
            read_back += [obj for readout in self.surrogate.readouts.values() for obj in readout.objects]
        self.sim.build(self.stimuli.duration, read_back=read_back)
        self.state = {v: None for v in self.variants}  # None = the built initial state
        self.context_rng_seed = config["seed"]
        self.progress = progress
        self.recorder = None  # every spike, with --record-spikes all
        self.part = 0  # 0: the untrained evaluation, b + 1: block b
        if config["record_spikes"] == "all":
            from mtspark_bio.spike_record import SpikeRecorder

            circuit = plan.circuit
            self.recorder = SpikeRecorder(config["dt_ms"] * 1e-3, float(self.stimuli.duration),
                                          circuit.input.t_sample_ms * 1e-3, circuit.input.t_rest_ms * 1e-3)

    def _run_chunk(self, x, y, task, plastic: bool):
        n = len(y)
        shuffled = np.random.default_rng([self.context_rng_seed, self.sim.runs]).integers(
            0, self.plan.circuit.n_tasks, n)
        inputs = self.stimuli.values(x, y, task, np.full(n, float(plastic)), shuffled_tasks=shuffled)
        for name, classifier in self.variants.items():
            if self.state[name] is not None:
                inputs.update(classifier.state_inputs(self.state[name]))
        if self.surrogate is not None:
            inputs.update(self.surrogate.inputs())
        self.sim.run(inputs)
        if self.progress is not None:
            self.progress.update(n)
        from mtspark_bio.circuit import predictions

        out = {}
        for name, classifier in self.variants.items():
            counts = (classifier.spike_counts(self.stimuli.n_presentations) if self.surrogate is None
                      else self.surrogate.counts(name, self.stimuli.n_presentations))
            out[name] = predictions(counts)[:n]
            if plastic:
                self.state[name] = classifier.read_state()
                if self.surrogate is not None:
                    self.surrogate.record(name, n, y)
        if self.recorder is not None:
            monitors = {(name, population): getattr(c, f"{population}_spikes")
                        for name, c in self.variants.items() for population in ("hidden", "readout")}
            self.recorder.add_run(self.part, self.sim.runs - 1, monitors, {
                "task": np.asarray(task, dtype=np.int64), "shuffled_context": shuffled[:n].astype(np.int64),
                "label": np.asarray(y, dtype=np.int64), "train": np.full(n, plastic), "prediction": out})
        return out

    def train(self, block: int):
        self.part = block + 1
        task = self.plan.tasks[self.plan.schedule[block]]
        order = self.plan.training_order(block)
        chunk = self.plan.config["chunk"]
        self._start_progress(f"block {block + 1}/{len(self.plan.schedule)} training", len(order))
        for start in range(0, len(order), chunk):
            idx = order[start:start + chunk]
            self._run_chunk(task.x_train[idx], task.y_train[idx], np.full(len(idx), task.index), True)
        if self.surrogate is not None:
            self.surrogate.train(block)

    def evaluate(self, tasks=None) -> dict[str, np.ndarray]:
        """Accuracy of every variant on every task's test set (plasticity off; ``tasks``:
        only these, the others NaN); after an evaluation of every task, also
        sets ``active_overlap``, the Jaccard overlap of the tasks' active hidden sets
        (:func:`mtspark_bio.metrics.active_set_overlap`), and ``activity``: per task, the
        hidden layer's spikes and their ungated share (:func:`~mtspark_bio.metrics.hidden_activity`),
        the synaptic operations per image (:func:`~mtspark_bio.metrics.synaptic_operations`) and
        the multiply-accumulates of a dense rate network of the same size."""
        from mtspark_bio.metrics import active_set_overlap, hidden_activity, rate_network_macs, synaptic_operations

        x, y, task = self.plan.test_set(tasks)
        chunk = self.plan.config["chunk"]
        self._start_progress("untrained evaluation" if self.part == 0 else
                             f"block {self.part}/{len(self.plan.schedule)} evaluation", len(y))
        correct = {name: np.zeros(len(y), bool) for name in self.variants}
        n_tasks = self.plan.circuit.n_tasks
        circuit = self.plan.circuit
        hidden = {name: np.zeros((n_tasks, circuit.hidden.n_hidden)) for name in self.variants}
        operations = {name: np.zeros(n_tasks) for name in self.variants}
        for start in range(0, len(y), chunk):
            sl = slice(start, start + chunk)
            for name, pred in self._run_chunk(x[sl], y[sl], task[sl], False).items():
                correct[name][sl] = pred == y[sl]
                if tasks is not None:  # a partial evaluation measures accuracy only
                    continue
                counts = {population: c[:len(pred)] for population, c in
                          self.variants[name].population_counts(self.stimuli.n_presentations).items()}
                np.add.at(hidden[name], task[sl], counts["hidden"])
                np.add.at(operations[name], task[sl], synaptic_operations(counts, self.variants[name].out_degree))
        accuracy = {name: np.array([c[task == j].mean() if (task == j).any() else np.nan for j in range(n_tasks)])
                    for name, c in correct.items()}
        if tasks is not None:
            return accuracy
        per_task = np.bincount(task, minlength=n_tasks)
        # which hidden neurons each task uses, from this evaluation (the last one is saved)
        mean = {name: h / np.maximum(per_task, 1)[:, None] for name, h in hidden.items()}
        self.active_overlap = {name: active_set_overlap(m) for name, m in mean.items()}
        macs = rate_network_macs([circuit.n_features, circuit.hidden.n_hidden, circuit.n_classes])
        self.activity = {name: {**hidden_activity(m, self.variants[name].gated_sets()),
                                "synaptic_operations": operations[name] / np.maximum(per_task, 1),
                                "rate_network_macs": np.full(n_tasks, float(macs))} for name, m in mean.items()}
        return accuracy

    def _start_progress(self, stage: str, presentations: int) -> None:
        if self.progress is not None:
            self.progress.start(stage, presentations, "presentations")

    def spike_sample(self, seconds: float = 2.0) -> dict:
        """The last run's spike trains (first ``seconds``) of hidden and readout."""
        sample = {}
        for name, classifier in self.variants.items():
            sample[name] = {}
            for population, monitor in (("hidden", classifier.hidden_spikes), ("readout", classifier.readout_spikes)):
                t = np.asarray(monitor.t_[:])
                keep = t < seconds
                sample[name][population] = {"t": t[keep], "i": np.asarray(monitor.i[:])[keep]}
        return sample

    def close(self):
        self.sim.close()


class SurrogateReadouts:
    """Per variant, a BPTT-trained LIF readout on the hidden layer (``--readout surrogate``).

    The Brian2 readout is part of the compiled network and gets its weights as run
    inputs, so every block's weights run in the same binary. Training uses only the
    hidden spike trains recorded during the current block's training presentations and
    starts from the previous block's weights, so forgetting is measured as for R-STDP.
    As the local rules do, it changes only the synapses from the cells the block's task
    gates, and it trains no bias (which every task would share): with both, the
    dendritic network keeps every task (benchmarks/surrogate_forgetting_ablation.py).
    """

    def __init__(self, runner: "Runner"):
        from brian2 import ms

        from mtspark_bio.surrogate import LIFReadout
        from mtspark_bio.surrogate_brian2 import Brian2Readout

        circuit, config = runner.plan.circuit, runner.plan.config
        self.config = config
        self.t_sample = circuit.input.t_sample_ms * ms
        self.dt = config["dt_ms"] * ms
        self.n_hidden = circuit.hidden.n_hidden
        self.classifiers = runner.variants
        self.model = LIFReadout(circuit.hidden.n_hidden, (circuit.n_classes,), dt_ms=config["dt_ms"])
        self.readouts = {}
        for name, classifier in runner.variants.items():
            self.readouts[name] = Brian2Readout(self.model, classifier.hidden, self.t_sample,
                                                name=f"{name}_surrogate")
            runner.sim.add(*self.readouts[name].objects)
        self.params = {name: self.model.init(config["seed"]) for name in runner.variants}
        self.plan = runner.plan
        self.recorded = {name: [] for name in runner.variants}

    def inputs(self) -> dict:
        out = {}
        for name, readout in self.readouts.items():
            out.update(readout.inputs(self.params[name]))
        return out

    def counts(self, name: str, n_presentations: int) -> np.ndarray:
        return self.readouts[name].readout(n_presentations)

    def record(self, name: str, n: int, labels):
        from mtspark_bio.surrogate import record_spike_trains

        trains = record_spike_trains(self.classifiers[name].hidden_spikes, n, self.n_hidden, self.dt, self.t_sample)
        self.recorded[name].append((trains, np.asarray(labels[:n])))

    def train(self, block: int):
        from mtspark_bio.surrogate import SpikeTrains, TrainConfig, train_classifier

        task = self.plan.tasks[self.plan.schedule[block]].index
        for name, pieces in self.recorded.items():
            trains = SpikeTrains.concatenate([t for t, _ in pieces])
            labels = np.concatenate([y for _, y in pieces])
            gated = self.classifiers[name].gated_sets()
            self.params[name], _ = train_classifier(
                self.model, trains, labels,
                TrainConfig(seed=self.config["seed"] + block, epochs=self.config["surrogate_epochs"],
                            train_bias=False),
                params=self.params[name], rows=None if gated is None else gated[task])
            pieces.clear()


class ResultFile(BlockRecord):
    """The protocol's HDF5 file: results so far plus the state needed to resume."""

    def __init__(self, path: Path, plan: Plan):
        self.path, self.plan = Path(path), plan
        n_blocks, n_tasks = len(plan.schedule), len(plan.tasks)
        self.R = {v: np.full((n_blocks, n_tasks), np.nan) for v in plan.config["variants"]}
        self.baseline = {v: np.full(n_tasks, np.nan) for v in plan.config["variants"]}
        self.blocks_done = -1  # -1: not even the baseline evaluation
        self.runs = 0
        # Jaccard overlap of the tasks' active hidden sets in the last evaluation
        self.active_overlap = {v: np.full((n_tasks, n_tasks), np.nan) for v in plan.config["variants"]}
        # per task, the hidden layer's spikes per test presentation and the share from
        # cells outside the task's gated set (metrics.hidden_activity), last evaluation
        from mtspark_bio.metrics import ACTIVITY

        self.activity = {v: dict.fromkeys(ACTIVITY, np.full(n_tasks, np.nan)) for v in plan.config["variants"]}
        # when the run began (UTC), kept across --resume: NWB's session_start_time
        self.started_utc = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        # wall time of the blocks (after the build) and of the builds, each summed over
        # --resume's processes
        self.elapsed_before, self.opened = 0.0, time.perf_counter()
        self.builds_before = 0.0

    def per_block(self) -> dict:
        return self.R

    def load(self, runner: Runner | None = None):
        """Read the results so far and, given a ``runner``, restore its network state."""
        from mtspark_bio.readers import load_forgetting

        stored = load_forgetting(self.path, state=runner is not None)
        self.blocks_done, self.runs = stored.blocks_done, stored.runs
        self.started_utc = stored.started_utc or self.started_utc
        self.elapsed_before = stored.elapsed_s if np.isfinite(stored.elapsed_s) else 0.0
        self.builds_before = stored.build_s if np.isfinite(stored.build_s) and runner is not None else 0.0
        for v in self.R:
            variant = stored.variants[v]
            self.R[v], self.baseline[v], self.active_overlap[v] = variant.accuracy, variant.baseline, variant.overlap
            self.activity[v].update(variant.activity)
            if runner is None:
                continue
            if variant.state:
                runner.state[v] = variant.state
            if runner.surrogate is not None and variant.surrogate_weights:
                runner.surrogate.params[v] = variant.surrogate_weights
        if runner is not None:
            runner.sim.runs = self.runs

    def save(self, runner: Runner, final: bool = False):
        from mtspark_bio.metrics import METRIC_NAMES, continual_metrics, mean_off_diagonal
        from mtspark_bio.results import atomic_h5, write_arrays

        self.runs = runner.sim.runs
        with atomic_h5(self.path) as f:
            self.write_header(f, "forgetting", "circuit", self.plan.circuit, final)
            f.attrs["runs"] = self.runs
            f.attrs["build_s"] = self.builds_before + runner.sim.timings["build_s"]
            f.attrs["elapsed_s"] = self.elapsed_before + time.perf_counter() - self.opened
            f.attrs["started_utc"] = self.started_utc
            for v, R in self.R.items():
                group = f.create_group(f"variants/{v}")
                group.create_dataset("accuracy_matrix", data=R)
                group.create_dataset("baseline_accuracy", data=self.baseline[v])
                metrics = (continual_metrics(R, self.plan.schedule, self.baseline[v], self.plan.sampled) if final
                           else dict.fromkeys(METRIC_NAMES, np.nan))
                for key, value in metrics.items():
                    group.attrs[key] = value
                overlap = self.active_overlap[v]
                group.create_dataset("active_overlap", data=overlap)
                group.attrs["mean_active_overlap"] = mean_off_diagonal(overlap)
                for key, values in self.activity[v].items():
                    group.create_dataset(key, data=values)
                    group.attrs[f"mean_{key}"] = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
                if runner.state[v] is not None:
                    write_arrays(group.create_group("state"), runner.state[v])
                    weights = group.create_group("weights")
                    weights.create_dataset("hidden_to_readout", data=runner.state[v]["readout_w"])
                    if "context_w" in runner.state[v]:
                        weights.create_dataset("context_to_segments", data=runner.state[v]["context_w"])
                if runner.surrogate is not None:
                    write_arrays(group.create_group("surrogate_weights"), runner.surrogate.params[v])
                wiring = runner.variants[v].context_wiring
                if self.plan.config["record_spikes"] != "none" and wiring is not None:
                    write_arrays(group.create_group("context_wiring"), wiring)
            if final and self.plan.config["record_spikes"] != "none":
                for v, populations in runner.spike_sample().items():
                    write_arrays(f.create_group(f"variants/{v}/spikes"), populations)
            if runner.recorder is not None:
                runner.recorder.write(f, self.path)
        if runner.recorder is not None:
            runner.recorder.written()


def format_table(result: ResultFile) -> str:
    from mtspark_bio.metrics import continual_metrics, mean_off_diagonal

    lines = []
    tasks = result.plan.tasks
    for v, R in result.R.items():
        lines.append(f"\n{v}: accuracy R[block, task] (rows: block, trained task)")
        lines.append("            " + " ".join(f"{'T' + str(t.index):>7}" for t in tasks))
        lines.append("  init      " + " ".join(f"{a:7.3f}" for a in result.baseline[v]))
        for b, row in enumerate(R):
            lines.append(f"  {b:2d} (T{result.plan.schedule[b]:<3d}) "
                         + " ".join(f"{a:7.3f}" for a in row))
    lines.append(f"\n{'variant':<10} {'ACC':>7} {'BWT':>7} {'FWT':>7} {'F':>7} {'overlap':>8} {'spikes':>7} "
                 f"{'ungated':>8} {'SynOps':>8} {'MACs':>8}")
    for v, R in result.R.items():
        m = continual_metrics(R, result.plan.schedule, result.baseline[v], result.plan.sampled)
        activity = {key: np.nanmean(values) if np.isfinite(values).any() else np.nan
                    for key, values in result.activity[v].items()}
        lines.append(f"{v:<10} {m['acc']:7.3f} {m['bwt']:7.3f} {m['fwt']:7.3f} {m['forgetting']:7.3f}"
                     f" {mean_off_diagonal(result.active_overlap[v]):8.3f}"
                     f" {activity['spikes_per_presentation']:7.1f} {activity['ungated_share']:8.3f}"
                     f" {activity['synaptic_operations']:8.0f} {activity['rate_network_macs']:8.0f}")
    lines.append("overlap: mean Jaccard overlap of the tasks' active hidden sets (>= 0.2 spikes per "
                 "test presentation); spikes: the hidden layer's spikes per test presentation; ungated: "
                 "their share from cells outside the task's gated set; SynOps: synaptic operations per "
                 "test image (every spike once per synapse it reaches); MACs: multiply-accumulates of a "
                 "dense rate network of the same size for one image (all in the last evaluation)"
                 + ("; nan in R: not evaluated (--evaluation sampled)" if result.plan.sampled else ""))
    return "\n".join(lines)
