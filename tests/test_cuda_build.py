"""brian2cuda: one project holding a small dendritic R-STDP network and the surrogate
readouts (classification and dueling Q) on replayed spike trains, generated and
compiled for sm_90 (H100/H200) with nvcc, GPU or not. Where a GPU exists the project
runs, and its network is compared with the same network on the runtime device and its
readouts with the NumPy model (the ``gpu`` test). One build for both tests (a module
fixture), because a clean nvcc build takes minutes on 2 cores.
"""

import os

import numpy as np
import pytest

from mtspark_bio.cuda_device import executable_path, gpu_available, nvcc_available

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.slow,
    pytest.mark.skipif(not nvcc_available(), reason="nvcc (CUDA toolkit) not on PATH"),
]

DT_MS = 0.5  # the surrogate readouts' time step (test_surrogate's models)


def draw_inputs(duration_ms=100.0, n_neurons=20, n_inputs=40, rate_hz=20.0, p_connect=0.5):
    """The network's random parts, drawn by NumPy (not by the device's generator, which
    differs between CPU and GPU), so that every device simulates the same network:
    somatic drive, reward pulses, input spike times (on the 1 ms grid), wiring and
    initial weights."""
    rng = np.random.default_rng(1)
    n_steps = int(duration_ms) + 1
    drive = 0.3 * rng.random((n_steps, n_neurons))
    reward = np.where(np.arange(n_steps) % 20 < 5, 1.0, 0.0)
    spike_step, spike_input = np.nonzero(rng.random((int(duration_ms), n_inputs)) < rate_hz * 1e-3)
    pre, post = np.nonzero(rng.random((n_inputs, n_neurons)) < p_connect)
    w = 0.5 * rng.random(len(pre))
    return {"drive_nA": drive, "reward": reward, "input_i": spike_input, "input_t_ms": spike_step.astype(float),
            "pre": pre, "post": post, "w": w}


def build_network(duration_ms=100.0, n_neurons=20, n_inputs=40):
    """Two-compartment neurons with a dendritic plateau event, input spikes through
    reward-modulated STDP synapses, TimedArray drive and reward, SpikeMonitor.

    Call on the cuda (or any) device. Returns every object: they must stay referenced
    until the build (brian2cuda's build reads owners through weak references and fails
    with "ReferenceError: weakly-referenced object no longer exists"). Avoids what
    brian2cuda refuses (store/restore, two summed variables into one target, C++-only
    functions, network_operation), and anything random (see ``draw_inputs``).
    """
    from brian2 import (
        EventMonitor,
        NeuronGroup,
        SpikeGeneratorGroup,
        SpikeMonitor,
        Synapses,
        TimedArray,
        ms,
        mV,
        nA,
        nS,
        pF,
    )

    drawn = draw_inputs(duration_ms, n_neurons, n_inputs)
    drive = TimedArray(drawn["drive_nA"] * nA, dt=1 * ms)
    reward = TimedArray(drawn["reward"], dt=1 * ms)

    eqs = """
    dv_s/dt = (g_L*(E_L - v_s) + g_c*(v_d - v_s) + drive(t, i))/C_s : volt (unless refractory)
    dv_d/dt = (g_L*(E_L - v_d) + g_c*(v_s - v_d) + g_e*(E_e - v_d) + I_pl)/C_d : volt
    dg_e/dt = -g_e/tau_e : siemens
    I_pl = I_plateau*int(not not_plateau) : amp
    not_plateau = t >= plateau_until : boolean
    plateau_until : second
    dM/dt = -M/tau_M : 1
    """
    params = dict(
        g_L=10 * nS, g_c=20 * nS, E_L=-70 * mV, E_e=0 * mV, C_s=200 * pF, C_d=100 * pF,
        tau_e=5 * ms, I_plateau=0.4 * nA, tau_M=50 * ms, drive=drive, reward=reward,
    )
    neurons = NeuronGroup(
        n_neurons, eqs, threshold="v_s > -50*mV", reset="v_s = -65*mV",
        refractory=2 * ms, method="euler", namespace=params,
        events={"plateau": "v_d > -40*mV and not_plateau"}, name="neurons",
    )
    neurons.run_on_event("plateau", "plateau_until = t + 20*ms")
    neurons.v_s = -70 * mV
    neurons.v_d = -70 * mV
    # reward signal into the neuromodulator trace
    neurons.run_regularly("M += reward(t)", dt=5 * ms, name="neurons_reward")

    inputs = SpikeGeneratorGroup(n_inputs, drawn["input_i"], drawn["input_t_ms"] * ms, name="inputs")
    syn = Synapses(
        inputs, neurons,
        model="""
        w : 1
        dApre/dt = -Apre/tau_pre : 1 (event-driven)
        dApost/dt = -Apost/tau_post : 1 (event-driven)
        dc/dt = -c/tau_c : 1 (clock-driven)
        """,
        on_pre="""
        g_e_post += w*w_scale
        Apre += dApre
        c += Apost
        """,
        on_post="""
        Apost += dApost
        c += Apre
        """,
        method="exact",
        namespace=dict(tau_pre=20 * ms, tau_post=20 * ms, tau_c=200 * ms, dApre=0.01,
                       dApost=-0.0105, w_scale=6 * nS, eta=0.5, wmax=1.0),
        name="rstdp",
    )  # w_scale: strong enough for plateaus (measured on runtime: ~2300 spikes, ~600 plateaus in 4 s)
    syn.connect(i=drawn["pre"], j=drawn["post"])
    syn.w = drawn["w"]
    syn.run_regularly("w = clip(w + eta*M_post*c, 0, wmax)", dt=10 * ms, name="rstdp_update")

    spikes = SpikeMonitor(neurons, name="spikes")
    plateaus = EventMonitor(neurons, "plateau", name="plateaus")
    return dict(neurons=neurons, inputs=inputs, syn=syn, spikes=spikes, plateaus=plateaus)


def network_result(net):
    """What a run of ``build_network`` produced, in a device-independent order: spikes
    and plateau events sorted by (time, neuron) (a GPU records the neurons of one step in
    any order), final weights sorted by (pre, post) (a GPU may store synapses in another
    order)."""
    from brian2 import ms

    out = {}
    for label, monitor in (("spike", net["spikes"]), ("plateau", net["plateaus"])):
        i, t = np.asarray(monitor.i[:]), np.asarray(monitor.t[:] / ms, dtype=float)
        order = np.lexsort((i, t))
        out[f"{label}_i"], out[f"{label}_t_ms"] = i[order], t[order]
    pre, post = np.asarray(net["syn"].i[:]), np.asarray(net["syn"].j[:])
    order = np.lexsort((post, pre))
    out["pairs"] = np.column_stack((pre, post))[order]
    out["w"] = np.asarray(net["syn"].w[:])[order]
    return out


def assert_same_network_run(a, b, dt_ms=DT_MS):
    """The same spikes (neuron and time step), plateaus and final weights; the weights
    to 1e-9 (a GPU sums simultaneous synaptic events in another order)."""
    for label in ("spike", "plateau"):
        np.testing.assert_array_equal(a[f"{label}_i"], b[f"{label}_i"], err_msg=label)
        assert np.all(np.abs(a[f"{label}_t_ms"] - b[f"{label}_t_ms"]) < dt_ms / 2), label
    np.testing.assert_array_equal(a["pairs"], b["pairs"])
    np.testing.assert_allclose(a["w"], b["w"], rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def cuda_project(tmp_path_factory):
    """Generate and compile the project for sm_90 (minutes). With a GPU, also run it
    and run the same R-STDP network on the runtime device (numpy); everything the tests
    look at is copied out before each Simulation closes."""
    from brian2 import ms
    from test_surrogate import classification_readout, q_readout, random_trains

    from mtspark_bio.devices import Simulation
    from mtspark_bio.surrogate_brian2 import Brian2Readout, spike_source

    trains = random_trains()
    cls, q = classification_readout(), q_readout()
    dt = DT_MS * ms
    duration = len(trains) * trains.n_steps * dt
    duration_ms = float(duration / ms)
    project = tmp_path_factory.mktemp("cuda") / "cuda_project"
    out = {"project": project, "trains": trains, "cls": cls, "q": q, "duration_ms": duration_ms}
    with Simulation("cuda", directory=project, dt=dt, compute_capability=9.0) as sim:
        net = build_network(duration_ms=duration_ms)
        source = spike_source(trains, dt)
        readouts = [Brian2Readout(m, source, trains.n_steps * dt, name=f"r{k}") for k, (m, _) in enumerate((cls, q))]
        sim.add(*net.values(), source, *readouts[0].objects, *readouts[1].objects)
        sim.build(duration)
        if gpu_available():
            sim.run({**readouts[0].inputs(cls[1]), **readouts[1].inputs(q[1])})
            out["cuda"] = network_result(net)
            out["readouts"] = {"y": [r.readout(len(trains)) for r in readouts],
                               "spikes": [readouts[0].output_spikes(len(trains))]}
    if gpu_available():
        with Simulation("runtime", dt=dt) as sim:
            net = build_network(duration_ms=duration_ms)
            sim.add(*net.values())
            sim.build(duration)
            sim.run()
            out["runtime"] = network_result(net)
    return out


def test_cuda_project_builds_for_sm90(cuda_project):
    """Generated and compiled for an H100/H200 (sm_90), GPU or not."""
    project = cuda_project["project"]
    exe = executable_path(project)
    assert exe.is_file() and os.access(exe, os.X_OK)
    makefile = (project / "makefile").read_text()
    assert "-arch=sm_90" in makefile
    assert "-std=c++17" in makefile
    assert "-march=native" not in makefile
    # the host side gets the cpp build's vectorising flags (mtspark_bio.devices)
    from mtspark_bio.devices import VECTORISING_PARAM

    assert VECTORISING_PARAM in makefile and "-fno-finite-math-only" not in makefile


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="no GPU (nvidia-smi -L lists none): the sm_90 project is built, not run")
def test_gpu_run_matches_runtime_and_numpy(cuda_project):
    """On the GPU the R-STDP network gives the runtime device's spikes, plateaus and
    weights, and the readouts give the NumPy model's spikes and Q values."""
    from test_surrogate import assert_brian2_matches_numpy

    cuda, runtime = cuda_project["cuda"], cuda_project["runtime"]
    # the comparison is not vacuous: the network spikes, plateaus and learns
    drawn = draw_inputs(cuda_project["duration_ms"])
    initial_w = drawn["w"][np.lexsort((drawn["post"], drawn["pre"]))]
    assert len(runtime["spike_i"]) > 20 and len(np.unique(runtime["spike_i"])) > 5
    assert len(runtime["plateau_i"]) > 0
    assert np.abs(runtime["w"] - initial_w).max() > 1e-3
    assert_same_network_run(cuda, runtime)
    assert_brian2_matches_numpy(cuda_project["readouts"], cuda_project["trains"], cuda_project["cls"],
                                cuda_project["q"])
