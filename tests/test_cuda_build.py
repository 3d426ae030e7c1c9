"""brian2cuda: one project holding a small dendritic R-STDP network and the surrogate
readouts (classification and dueling Q) on replayed spike trains, generated and
compiled for sm_90 (H100/H200) with nvcc; run and compared with NumPy only where a GPU
exists. One build for both, because a clean nvcc build takes minutes on 2 cores.
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


def build_network(duration_ms=100.0, n_neurons=20, n_inputs=40):
    """Two-compartment neurons with a dendritic plateau event, Poisson input through
    reward-modulated STDP synapses, TimedArray drive and reward, SpikeMonitor.

    Call on the cuda device. Returns every object: they must stay referenced until
    the build (brian2cuda's build reads owners through weak references and fails with
    "ReferenceError: weakly-referenced object no longer exists"). Avoids what brian2cuda refuses
    (store/restore, two summed variables into one target, C++-only functions,
    network_operation).
    """
    from brian2 import (
        EventMonitor,
        Hz,
        NeuronGroup,
        PoissonGroup,
        SpikeMonitor,
        Synapses,
        TimedArray,
        ms,
        mV,
        nA,
        nS,
        pF,
    )

    rng = np.random.default_rng(1)
    n_steps = int(duration_ms) + 1
    drive = TimedArray(0.3 * rng.random((n_steps, n_neurons)) * nA, dt=1 * ms)
    reward = TimedArray(np.where(np.arange(n_steps) % 20 < 5, 1.0, 0.0), dt=1 * ms)

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

    inputs = PoissonGroup(n_inputs, rates=20 * Hz, name="inputs")
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
                       dApost=-0.0105, w_scale=2 * nS, eta=0.5, wmax=1.0),
        name="rstdp",
    )
    syn.connect(p=0.5)
    syn.w = "0.5*rand()"
    syn.run_regularly("w = clip(w + eta*M_post*c, 0, wmax)", dt=10 * ms, name="rstdp_update")

    spikes = SpikeMonitor(neurons, name="spikes")
    plateaus = EventMonitor(neurons, "plateau", name="plateaus")
    return dict(neurons=neurons, inputs=inputs, syn=syn, spikes=spikes, plateaus=plateaus)


def test_cuda_project_builds_for_sm90_and_on_a_gpu_matches_numpy(tmp_path):
    """Generate and compile for an H100/H200 (sm_90), GPU or not; with a GPU, run it:
    the network spikes within bounds and the readouts give the NumPy model's spikes
    and Q values."""
    from brian2 import ms
    from test_surrogate import assert_brian2_matches_numpy, classification_readout, q_readout, random_trains

    from mtspark_bio.devices import Simulation
    from mtspark_bio.surrogate_brian2 import Brian2Readout, spike_source

    trains = random_trains()
    cls, q = classification_readout(), q_readout()
    dt = 0.5 * ms
    duration = len(trains) * trains.n_steps * dt
    project = tmp_path / "cuda_project"
    with Simulation("cuda", directory=project, dt=dt, compute_capability=9.0) as sim:
        net = build_network(duration_ms=float(duration / ms))
        source = spike_source(trains, dt)
        readouts = [Brian2Readout(m, source, trains.n_steps * dt, name=f"r{k}") for k, (m, _) in enumerate((cls, q))]
        sim.add(*net.values(), source, *readouts[0].objects, *readouts[1].objects)
        sim.build(duration)
        exe = executable_path(project)
        assert exe.is_file() and os.access(exe, os.X_OK)
        makefile = (project / "makefile").read_text()
        assert "-arch=sm_90" in makefile
        assert "-std=c++17" in makefile
        assert "-march=native" not in makefile
        if not gpu_available():
            pytest.skip("built for sm_90; no GPU here to run it (nvidia-smi -L lists none)")
        sim.run({**readouts[0].inputs(cls[1]), **readouts[1].inputs(q[1])})
        assert net["spikes"].num_spikes > 0
        assert np.all(np.diff(net["spikes"].t[:]) >= 0)
        assert np.all((net["syn"].w[:] >= 0) & (net["syn"].w[:] <= 1))
        result = {"y": [r.readout(len(trains)) for r in readouts], "spikes": [readouts[0].output_spikes(len(trains))]}
        assert_brian2_matches_numpy(result, trains, cls, q)
