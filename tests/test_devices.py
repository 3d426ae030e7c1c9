"""Runtime and cpp_standalone give the same network, and the compiled binary re-runs
with new inputs without recompiling (``mtspark_bio.devices.Simulation``).

One module-scoped fixture builds the cpp project once (in a pytest temporary directory)
and does every run the tests look at, copying the results out before closing the
Simulation; the tests then only compare numbers. Run with ``-s`` for the timings.
"""

import numpy as np
import pytest

from mtspark_bio.devices import Simulation, binary_mtime

pytestmark = pytest.mark.filterwarnings("ignore:'parseAll' argument is deprecated")

N_CELLS, N_INPUTS = 20, 30
DURATION_MS = 300.0
DT_MS = 0.1
DRIVE_BIN_MS = 10.0


def make_inputs(scale=1.0, learning=1.0):
    """Deterministic inputs (numpy-seeded, nothing random inside Brian2): a step-wise
    somatic current per cell in units of I_drive and a spike pattern of the input
    population (one value per time step and input neuron, 1 = spike)."""
    rng = np.random.default_rng(7)
    n_bins = int(DURATION_MS / DRIVE_BIN_MS)
    drive = rng.uniform(0.6, 1.3, size=(n_bins, N_CELLS))
    n_steps = int(round(DURATION_MS / DT_MS))
    pattern = (rng.random((n_steps, N_INPUTS)) < 15.0 * DT_MS / 1000).astype(float)  # ~15 Hz
    return {"drive": scale * drive, "pattern": scale * pattern, "plastic": np.array([learning])}


def build_network(sim):
    """20 DendriticNeurons (2 segments): TimedArray current drive, an input population
    spiking on a TimedArray pattern, STDP synapses onto the basal dendrites (learning
    gated by a TimedArray) and static context synapses onto segment 0 of every other
    cell. All TimedArrays start at zero; every run passes its own values."""
    from brian2 import EventMonitor, NeuronGroup, SpikeMonitor, TimedArray, ms, nS, pA

    from mtspark_bio.models.neurons import DendriticNeuron
    from mtspark_bio.models.plasticity import static_synapse, stdp
    from mtspark_bio.network import make_neurons, make_synapses

    n_steps = int(round(DURATION_MS / DT_MS))
    drive = TimedArray(np.zeros((int(DURATION_MS / DRIVE_BIN_MS), N_CELLS)), dt=DRIVE_BIN_MS * ms,
                       name="drive")
    pattern = TimedArray(np.zeros((n_steps, N_INPUTS)), dt=DT_MS * ms, name="pattern")
    plastic = TimedArray(np.zeros(1), dt=DT_MS * ms, name="plastic")  # one value: whole run
    namespace = {"drive": drive, "pattern": pattern, "plastic": plastic, "I_drive": 300 * pA}

    inputs = NeuronGroup(N_INPUTS, "", threshold="pattern(t, i) > 0.5", reset="", namespace=namespace,
                         name="inputs")
    cells = make_neurons(DendriticNeuron(n_segments=2).spec(), N_CELLS, "cells", namespace=namespace)
    cells.run_regularly("I_ext = I_drive*drive(t, i)", when="start", name="cells_drive")
    ff = make_synapses(stdp("g_exc", 1.5 * nS, learning="plastic(t)"), inputs, cells, "ff",
                       namespace=namespace)
    ff.connect()
    ff.w = np.linspace(0.2, 0.8, N_INPUTS * N_CELLS)
    context = make_synapses(static_synapse("g_ctx0", 3 * nS), inputs, cells, "context")
    context.connect(condition="i < 10 and j % 2 == 0")
    context.w = 1.0
    spikes = SpikeMonitor(cells, name="spikes")
    plateaus = EventMonitor(cells, "plateau", record=False, name="plateaus")
    sim.add(inputs, cells, ff, context, spikes, plateaus)
    return {"drive": drive, "pattern": pattern, "plastic": plastic, "ff": ff, "spikes": spikes,
            "plateaus": plateaus}


def reset_brian2():
    """As tests/conftest.py does after every test: runtime device, numpy, default dt."""
    import brian2
    from brian2.devices.device import reinit_devices

    reinit_devices()
    brian2.set_device("runtime")
    brian2.prefs.codegen.target = "numpy"
    brian2.defaultclock.dt = 0.1 * brian2.ms


def run_inputs(objects, values, weights=None):
    inputs = {objects[name]: values[name] for name in ("drive", "pattern", "plastic")}
    if weights is not None:
        inputs[objects["ff"].w] = weights
    return inputs


def collect(objects):
    spikes = objects["spikes"]
    from brian2 import ms

    return {"i": np.array(spikes.i[:]), "t_ms": np.array(spikes.t[:] / ms, dtype=float),
            "w": np.array(objects["ff"].w[:]), "n_plateaus": int(objects["plateaus"].num_events)}


def result_files() -> set[str]:
    """The array files the last standalone run wrote."""
    import os

    from brian2.devices.device import get_device

    return {name for name in os.listdir(get_device().results_dir) if name.startswith("_")}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    import brian2
    from brian2 import ms

    out = {}
    make_args = list(brian2.prefs.devices.cpp_standalone.extra_make_args_unix)
    brian2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]  # 2 shared cores
    try:
        base, doubled = make_inputs(), make_inputs(scale=2.0)
        zero = make_inputs(scale=0.0)
        frozen = make_inputs(learning=0.0)
        carried = np.random.default_rng(3).uniform(0.0, 1.0, N_INPUTS * N_CELLS)

        with Simulation("cpp", directory=tmp_path_factory.mktemp("cpp"), dt=DT_MS * ms) as sim:
            objects = build_network(sim)
            # writes back only what collect() reads (the build below writes everything)
            sim.build(DURATION_MS * ms, read_back=[objects["spikes"], objects["plateaus"], objects["ff"].w])
            out["written_arrays"] = sim.written_arrays
            out["initial_w"] = np.linspace(0.2, 0.8, N_INPUTS * N_CELLS)
            out["mtime_build"] = binary_mtime(sim.directory)
            out["makefile"] = (sim.directory / "makefile").read_text()
            for name, values, weights in (("base", base, None), ("zero", zero, None),
                                          ("doubled", doubled, None), ("carried", frozen, carried),
                                          ("base_again", base, None)):
                sim.run(run_inputs(objects, values, weights))
                out[f"cpp_{name}"] = collect(objects)
            out["mtime_after"] = binary_mtime(sim.directory)
            out["read_back_files"] = result_files()
            try:
                objects["ff"].lastupdate[:]  # never read back, so not written
            except FileNotFoundError as error:
                out["unwritten_read"] = error
            out["cpp_timings"] = dict(sim.timings)
            out["carried_w"] = carried
        reset_brian2()

        # the same network built with Brian2's own gcc flags (no vector maths)
        with Simulation("cpp", directory=tmp_path_factory.mktemp("cpp_brian2_flags"), dt=DT_MS * ms,
                        compiler_flags="brian2") as sim:
            objects = build_network(sim)
            sim.build(DURATION_MS * ms)
            out["brian2_flags_makefile"] = (sim.directory / "makefile").read_text()
            sim.run(run_inputs(objects, base))
            out["cpp_brian2_flags_base"] = collect(objects)
            out["all_files"] = result_files()
        reset_brian2()

        with Simulation("runtime", dt=DT_MS * ms) as sim:
            objects = build_network(sim)
            sim.build(DURATION_MS * ms)
            for name, values in (("base", base), ("doubled", doubled)):
                sim.run(run_inputs(objects, values))
                out[f"runtime_{name}"] = collect(objects)
            out["runtime_timings"] = dict(sim.timings)
    finally:
        brian2.prefs.devices.cpp_standalone.extra_make_args_unix = make_args
        reset_brian2()
    return out


def assert_same_spikes(a, b, dt_ms=DT_MS):
    order_a = np.lexsort((a["t_ms"], a["i"]))
    order_b = np.lexsort((b["t_ms"], b["i"]))
    np.testing.assert_array_equal(a["i"][order_a], b["i"][order_b])
    assert np.all(np.abs(a["t_ms"][order_a] - b["t_ms"][order_b]) < dt_ms / 2)


@pytest.mark.standalone
@pytest.mark.runtime
@pytest.mark.slow
@pytest.mark.parametrize("run", ["base", "doubled"])
def test_runtime_and_cpp_give_the_same_spikes(results, run):
    rt, cpp = results[f"runtime_{run}"], results[f"cpp_{run}"]
    print(f"\n[devices/{run}] runtime {len(rt['i'])} spikes, {rt['n_plateaus']} plateaus; "
          f"cpp {len(cpp['i'])} spikes, {cpp['n_plateaus']} plateaus; "
          f"max |w_runtime - w_cpp| = {np.abs(rt['w'] - cpp['w']).max():.2e}")
    assert len(rt["i"]) > 20 and rt["n_plateaus"] > 0  # the comparison is not vacuous
    assert len(np.unique(rt["i"])) > N_CELLS // 2
    assert_same_spikes(rt, cpp)
    assert rt["n_plateaus"] == cpp["n_plateaus"]
    np.testing.assert_allclose(cpp["w"], rt["w"], rtol=0, atol=1e-9)


@pytest.mark.standalone
@pytest.mark.slow
def test_cpp_build_uses_the_vectorising_flags(results):
    """The cpp project is compiled with glibc's vector maths allowed (no
    -fno-finite-math-only) and a vectoriser alias-check budget large enough for the
    dendritic update (mtspark_bio.devices.vectorising_gcc_flags); with them, runtime
    and cpp still give the same spikes (test above)."""
    from mtspark_bio.devices import VECTORISING_PARAM

    flags = next(line for line in results["makefile"].splitlines() if line.startswith("OPTIMISATIONS"))
    assert VECTORISING_PARAM in flags and "-ffast-math" in flags
    assert "-fno-finite-math-only" not in flags
    brian2_flags = next(line for line in results["brian2_flags_makefile"].splitlines()
                        if line.startswith("OPTIMISATIONS"))
    assert "-fno-finite-math-only" in brian2_flags and VECTORISING_PARAM not in brian2_flags


@pytest.mark.standalone
@pytest.mark.slow
def test_vectorising_flags_keep_the_spike_trains(results):
    """Vectorised exp (libmvec) and the vectorised state update give the same spike
    trains, plateaus and learned weights as Brian2's own flags: the maths is unchanged."""
    vectorised, plain = results["cpp_base"], results["cpp_brian2_flags_base"]
    assert len(plain["i"]) > 20 and plain["n_plateaus"] > 0
    np.testing.assert_array_equal(vectorised["i"], plain["i"])
    np.testing.assert_array_equal(vectorised["t_ms"], plain["t_ms"])
    assert vectorised["n_plateaus"] == plain["n_plateaus"]
    np.testing.assert_allclose(vectorised["w"], plain["w"], rtol=0, atol=1e-9)


@pytest.mark.standalone
@pytest.mark.slow
def test_cpp_reruns_with_new_inputs_without_recompiling(results):
    timings = results["cpp_timings"]
    print(f"\n[cpp] build {timings['build_s']:.1f} s; runs " + ", ".join(f"{s:.2f}" for s in timings["run_s"])
          + " s; runtime (numpy) build {:.2f} s, runs {}".format(
              results["runtime_timings"]["build_s"],
              ", ".join(f"{s:.2f}" for s in results["runtime_timings"]["run_s"])) + " s")
    assert results["mtime_build"] is not None
    assert results["mtime_after"] == results["mtime_build"]

    base, zero, doubled = results["cpp_base"], results["cpp_zero"], results["cpp_doubled"]
    print(f"[cpp] spikes: base {len(base['i'])}, zero input {len(zero['i'])}, "
          f"doubled input {len(doubled['i'])}")
    # zero input: nothing spikes, no plateau, and (learning on) no weight moves
    assert len(zero["i"]) == 0 and zero["n_plateaus"] == 0
    np.testing.assert_array_equal(zero["w"], results["initial_w"])
    # doubled input: more spikes
    assert len(doubled["i"]) > 1.5 * len(base["i"]) > 0
    # learning on in the base run moves the weights away from their initial values
    assert np.abs(base["w"] - results["initial_w"]).max() > 1e-3
    # carried weights with learning off are read back unchanged
    np.testing.assert_array_equal(results["cpp_carried"]["w"], results["carried_w"])
    assert not np.array_equal(results["cpp_carried"]["i"], base["i"]) or not np.array_equal(
        results["cpp_carried"]["t_ms"], base["t_ms"])
    # every run starts from the initial state: repeating the base run reproduces it
    again = results["cpp_base_again"]
    assert_same_spikes(base, again)
    np.testing.assert_array_equal(again["w"], base["w"])


@pytest.mark.standalone
@pytest.mark.slow
def test_binary_writes_only_what_is_read_back(results):
    """build(read_back=...): the binary writes the monitors, the weights and what Brian2
    checks itself (state variables, clocks), not connectivity or lastupdate; the
    spikes and weights it gives are those of the build that writes everything
    (the vectorised and Brian2-flag builds give identical spikes, see above)."""
    kept, everything = results["read_back_files"], results["all_files"]
    assert kept < everything
    assert results["written_arrays"]["kept"] == len(kept)
    assert results["written_arrays"]["removed"] == len(everything) - len(kept)
    names = " ".join(sorted(everything - kept))
    assert "_synaptic_pre" in names and "ff_lastupdate" in names and "ff_delay" in names
    assert any("ff_w" in name for name in kept) and any("spikes_t" in name for name in kept)
    assert any("cells_v" in name for name in kept)  # Brian2's NaN check reads it after every run
    assert "ff_lastupdate" in str(results["unwritten_read"])
    assert_same_spikes(results["cpp_base"], results["cpp_brian2_flags_base"])
    np.testing.assert_array_equal(results["cpp_base"]["w"], results["cpp_brian2_flags_base"]["w"])


def test_write_only_arrays_refuses_code_it_does_not_know(tmp_path):
    from mtspark_bio.devices import write_only_arrays

    source = tmp_path / "objects.cpp"
    source.write_text("void _write_arrays()\n{\n    some_other_writer();\n}\n")
    with pytest.raises(ValueError, match="template changed"):
        write_only_arrays(source, {"_array_x"})
    assert "some_other_writer" in source.read_text()


def test_two_cpp_simulations_in_one_process(tmp_path):
    """A protocol may build one network after another; the second Simulation must start
    from a clean cpp device: each project holds its own network's code and none of the
    other's. Code generation only (compile=False), so this is cheap."""
    from brian2 import NeuronGroup, ms

    for k in range(2):
        with Simulation("cpp", directory=tmp_path / f"project{k}") as sim:
            group = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", name=f"group{k}")
            sim.add(group)
            sim.build(10 * ms, compile=False)
    for k, other in ((0, 1), (1, 0)):
        project = tmp_path / f"project{k}"
        code_objects = sorted(p.name for p in (project / "code_objects").iterdir())
        main = (project / "main.cpp").read_text()
        assert f"group{k}_stateupdater_codeobject.cpp" in code_objects, code_objects
        assert f"group{k}_stateupdater_codeobject" in main
        assert not [name for name in code_objects if f"group{other}" in name], code_objects
        assert f"group{other}" not in main


def test_device_options_are_checked_naming_the_option():
    from mtspark_bio.devices import DeviceOptions

    assert DeviceOptions("cpp", threads=2).problems() == []
    from mtspark_bio.errors import for_command_line

    problems = [for_command_line(p) for p in DeviceOptions("tpu", threads=0, compiler_flags="O9").problems()]
    assert len(problems) == 3
    assert "--device must be one of runtime, cpp, cuda" in problems[0]
    assert "--threads must be >= 1" in problems[1]
    assert "--compiler-flags must be one of vectorising, brian2" in problems[2]


def test_the_protocol_reaches_the_device_options_through_its_configuration(tmp_path):
    """threads and compiler flags go from the typed configuration (and the command line)
    to the Simulation the forgetting runner builds; a bad value fails before building."""
    from mtspark_bio.front import api, cli
    from mtspark_bio.devices import DeviceOptions
    from mtspark_bio.errors import ConfigError
    from mtspark_bio.experiments.forgetting import Runner

    config = api.ForgettingConfig(n_tasks=1, train_samples=4, test_samples=2, chunk=4, threads=2,
                                  compiler_flags="brian2", device="runtime")
    assert config._plan.device_options().threads == 2
    runner = Runner(config._plan)
    assert runner.sim.options == DeviceOptions("runtime", threads=2, compiler_flags="brian2")
    runner.sim.close()
    with pytest.raises(ConfigError, match="threads must be >= 1"):
        api.ForgettingConfig(threads=0)
    assert cli.build_parser().parse_args(["forgetting", "--threads", "3"]).threads == 3
