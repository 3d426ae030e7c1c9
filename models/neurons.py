"""Neuron models: a soma with explicit dendritic compartments, and its point-neuron twin.

The dendritic neuron has three kinds of compartment, each its own membrane equation,
coupled by axial conductances (the reduced-compartment approach of Dendrify,
Pagkalos, Chavlis & Poirazi 2023, Nat. Commun. 14:131):

* **soma** — leaky (optionally adaptive) integrate-and-fire; it spikes. ::

      C_soma dv_s/dt = g_leak_soma (E_leak - v_s) + g_axial_basal (v_b - v_s)
                       + sum_k g_axial_segment (v_d_k - v_s) + g_inh (E_inh - v_s)
                       - w_adapt + I_ext

* **basal (proximal) dendrite** — receives the feed-forward synapses (conductance g_exc). ::

      C_basal dv_b/dt = g_leak_basal (E_leak - v_b) + g_axial_basal (v_s - v_b)
                        + g_exc (E_exc - v_b)

* **K distal segments** — each receives context synapses (conductance g_ctx_k) and can
  fire an NMDA-like plateau: when v_d_k crosses ``V_plateau_threshold`` a plateau
  conductance opens for ``plateau_duration`` (all-or-none, Schiller et al. 2000,
  Nature 404:285; Major et al. 2013, Annu. Rev. Neurosci. 36:1) and clamps the segment
  near ``E_plateau``, depolarising the soma by about 10 mV through its coupling. ::

      C_segment dv_d_k/dt = g_leak_segment (E_leak - v_d_k) + g_axial_segment (v_s - v_d_k)
                            + g_ctx_k (E_exc - v_d_k) + g_plateau p_k (E_plateau - v_d_k)
      p_k = 1 while t - t_plateau_k < plateau_duration, else 0

Feed-forward input alone brings the soma close to threshold; a plateau in the segment
that matches the current context supplies the rest. Plateaus are all-or-none and
conductance based, so two plateaus add sublinearly and the best-matching segment — the
one whose context drive crosses threshold — decides whether the neuron is gated. This
is the biophysical counterpart of the active-dendrite gate of Iyer et al. 2022
(Front. Neurorobot. 16:846219) and MTSpark (Devkota et al. 2024, arXiv 2412.04847),
y = f(w.x) * sigmoid(max_k u_k.c).

``dendritic_gate`` records whether a segment fired a plateau since a protocol last
cleared it (per presentation): the presynaptic gate of the readout's learning rule
(``models.plasticity.normalised_instar``). The point neuron is the same soma with the
feed-forward conductance on the soma itself and no dendrites, the ablation; having no
gate, its ``dendritic_gate`` is always 1. ``CountingReadout`` is the classifier's
readout neuron, a perfect integrator that counts its weighted input.

Parameter values lie within published ranges; each dataclass names its sources.
The conductance-based neurons integrate with forward Euler (``SOMA_METHOD``; the
evidence for that choice is next to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brian2 import Hz, mV, ms, nS, pA, pF, second

from mtspark_bio.models.spec import NeuronSpec, SynapseSpec, as_namespace, param


@dataclass(frozen=True)
class SomaParams:
    """Integrate-and-fire soma.

    Membrane time constant 20 ms, rest -70 mV, threshold -50 mV and a 2 ms refractory
    period as for the pyramidal cells of Wang 2002 (Neuron 36:955), scaled to a 200 pF
    soma. The reset, -60 mV, is this model's own: Wang 2002 resets to -55 mV (and the
    COBA benchmark of Brette et al. 2007, J. Comput. Neurosci. 23:349, to its -60 mV
    rest); every result in this project was measured with -60 mV, and the surrogate
    readout (``models.readout``) resets to rest instead, as its integrators need. Adaptation (a, b, tau_adapt) is off by default; the
    adaptive preset takes Brette & Gerstner 2005 (J. Neurophysiol. 94:3637).
    """

    C_soma: object = param(200 * pF)
    g_leak_soma: object = param(10 * nS)
    E_leak: object = param(-70 * mV)
    V_threshold: object = param(-50 * mV)
    V_reset: object = param(-60 * mV)
    t_refractory: object = param(2 * ms)
    a_adapt: object = param(0 * nS)
    b_adapt: object = param(0 * pA)
    tau_adapt: object = param(144 * ms)

    @classmethod
    def adaptive(cls) -> "SomaParams":
        """Spike-frequency adaptation with Brette & Gerstner's (2005) a, b, tau_w."""
        return cls(a_adapt=4 * nS, b_adapt=80.5 * pA, tau_adapt=144 * ms)

    @classmethod
    def fast_spiking(cls) -> "SomaParams":
        """Fast-spiking interneuron: 10 ms membrane, 1 ms refractory (Wang 2002)."""
        return cls(C_soma=100 * pF, g_leak_soma=10 * nS, t_refractory=1 * ms)


@dataclass(frozen=True)
class SynapticParams:
    """Reversal potentials and decay of AMPA- and GABA_A-like conductances
    (Destexhe, Mainen & Sejnowski 1998, in Methods in Neuronal Modeling)."""

    E_exc: object = param(0 * mV)
    E_inh: object = param(-80 * mV)
    tau_exc: object = param(5 * ms)
    tau_inh: object = param(10 * ms)


@dataclass(frozen=True)
class BasalParams:
    """Proximal (basal) dendrite, electrotonically close to the soma (strong coupling)."""

    C_basal: object = param(50 * pF)
    g_leak_basal: object = param(2.5 * nS)
    g_axial_basal: object = param(15 * nS)


@dataclass(frozen=True)
class SegmentParams:
    """Distal dendritic segment with an NMDA-like plateau.

    A local threshold near -45 mV, plateaus of tens of ms at about -25 mV locally and a
    somatic depolarisation of ~10 mV follow Schiller et al. 2000 and Major et al. 2013;
    the weak axial coupling (4 nS) makes the segment electrotonically distant.
    """

    C_segment: object = param(10 * pF)
    g_leak_segment: object = param(1 * nS)
    g_axial_segment: object = param(4 * nS)
    tau_context: object = param(5 * ms)
    V_plateau_threshold: object = param(-45 * mV)
    E_plateau: object = param(-20 * mV)
    g_plateau: object = param(20 * nS)
    plateau_duration: object = param(50 * ms)
    plateau_refractory: object = param(20 * ms)


SOMA_EQUATIONS = """
dv_s/dt = (g_leak_soma*(E_leak - v_s) + I_in + g_inh*(E_inh - v_s) - w_adapt + I_ext) / C_soma : volt (unless refractory)
dw_adapt/dt = (a_adapt*(v_s - E_leak) - w_adapt) / tau_adapt : amp
dg_inh/dt = -g_inh / tau_inh : siemens
I_ext : amp
count : 1  # somatic spikes since the counter was last cleared
"""

SOMA_RESET = "v_s = V_reset; w_adapt += b_adapt; count += 1"

# Whether the neuron's distal dendrite gated it (fired a plateau) since the gate was last
# cleared (a protocol clears it per presentation); a point neuron has no gate and holds 1.
GATE_EQUATION = "dendritic_gate : 1\n"


# Integration method of the conductance-based neurons (soma, dendrites, interneurons):
# forward Euler, because at the protocols' dt of 0.25 ms it times spikes closer to a
# fine-step reference than exponential_euler does and costs less (no exp per variable
# and step); rk2 is closer still but dearer (benchmarks/integration_methods.py, numbers
# in benchmarks/README.md). Euler is stable while
# dt < 2 x the fastest compartment time constant (a distal segment during a plateau
# with strong context input: 10 pF / ~60 nS = 0.17 ms, so dt/tau ~ 1.5). Runs made
# before the change: CircuitConfig.run.integration = "exponential_euler".
INTEGRATION_METHODS = ("exponential_euler", "euler", "rk2", "rk4")
SOMA_METHOD = "euler"


def _soma_spec(equations: str, soma: SomaParams, synaptic: SynapticParams, extra_namespace,
               **kwds) -> NeuronSpec:
    namespace = {**as_namespace(soma), **as_namespace(synaptic), **extra_namespace}
    initial = {"v_s": soma.E_leak, **kwds.pop("initial", {})}
    return NeuronSpec(equations=equations, threshold="v_s > V_threshold", reset=SOMA_RESET,
                      refractory=soma.t_refractory, initial=initial, namespace=namespace,
                      method=SOMA_METHOD, **kwds)


@dataclass(frozen=True)
class PointNeuron:
    """The soma alone; feed-forward conductance ``g_exc`` acts on the soma."""

    soma: SomaParams = field(default_factory=SomaParams)
    synaptic: SynapticParams = field(default_factory=SynapticParams)

    def spec(self) -> NeuronSpec:
        equations = SOMA_EQUATIONS + """
I_in = g_exc*(E_exc - v_s) : amp
dg_exc/dt = -g_exc / tau_exc : siemens
"""
        return _soma_spec(equations + GATE_EQUATION, self.soma, self.synaptic, {}, initial={"dendritic_gate": 1})


@dataclass(frozen=True)
class DendriticNeuron:
    """Soma + basal dendrite + ``n_segments`` distal segments with plateaus."""

    n_segments: int = 4
    soma: SomaParams = field(default_factory=SomaParams)
    synaptic: SynapticParams = field(default_factory=SynapticParams)
    basal: BasalParams = field(default_factory=BasalParams)
    segment: SegmentParams = field(default_factory=SegmentParams)

    def __post_init__(self):
        if self.n_segments < 1:
            raise ValueError(f"n_segments must be >= 1, got {self.n_segments}")

    def spec(self) -> NeuronSpec:
        segments = range(self.n_segments)
        coupling = " + ".join(f"g_axial_segment*(v_d{k} - v_s)" for k in segments)
        equations = SOMA_EQUATIONS + f"""
I_in = g_axial_basal*(v_b - v_s) + {coupling} : amp
dv_b/dt = (g_leak_basal*(E_leak - v_b) + g_axial_basal*(v_s - v_b) + g_exc*(E_exc - v_b)) / C_basal : volt
dg_exc/dt = -g_exc / tau_exc : siemens
n_plateaus = {" + ".join(f"plateau{k}" for k in segments)} : 1
""" + GATE_EQUATION
        for k in segments:
            equations += f"""
dv_d{k}/dt = (g_leak_segment*(E_leak - v_d{k}) + g_axial_segment*(v_s - v_d{k}) + g_ctx{k}*(E_exc - v_d{k}) + g_plateau*plateau{k}*(E_plateau - v_d{k})) / C_segment : volt
dg_ctx{k}/dt = -g_ctx{k} / tau_context : siemens
plateau{k} = int(t - t_plateau{k} < plateau_duration) : 1
t_plateau{k} : second
"""
        # One custom event for all segments keeps the number of compiled code objects
        # independent of K; the action stamps the onset time of each segment that crossed.
        can_start = "v_d{k} > V_plateau_threshold and t - t_plateau{k} > plateau_duration + plateau_refractory"
        condition = " or ".join(f"({can_start.format(k=k)})" for k in segments)
        action = "\n".join(
            f"onset{k} = int({can_start.format(k=k)})\n"
            f"t_plateau{k} = onset{k}*t + (1 - onset{k})*t_plateau{k}"
            for k in segments) + "\ndendritic_gate = 1"
        initial = {"v_b": self.soma.E_leak, "dendritic_gate": 0}
        for k in segments:
            initial[f"v_d{k}"] = self.soma.E_leak
            initial[f"t_plateau{k}"] = -1 * second  # no plateau at the start
        return _soma_spec(equations, self.soma, self.synaptic,
                          {**as_namespace(self.basal), **as_namespace(self.segment)},
                          events={"plateau": condition}, event_actions={"plateau": action},
                          initial=initial)


@dataclass(frozen=True)
class Interneuron:
    """Fast-spiking inhibitory interneuron (point neuron) for lateral inhibition.

    Driven by the principal cells and projecting GABA_A conductance back onto their
    somata, a pool of these enforces k-winners-take-all-like sparsity (Iyer et al. 2022
    use explicit kWTA; here it emerges from feedback inhibition).
    """

    soma: SomaParams = field(default_factory=SomaParams.fast_spiking)
    synaptic: SynapticParams = field(default_factory=SynapticParams)

    def spec(self) -> NeuronSpec:
        return PointNeuron(self.soma, self.synaptic).spec()


#: a neuron's per-presentation state cleared once the presentation's learning step ran:
#: its spike counter and, for dendritic neurons, the gate a plateau still under way keeps open
PRESENTATION_CLEAR = "count = 0"
DENDRITIC_PRESENTATION_CLEAR = PRESENTATION_CLEAR + "\ndendritic_gate = int(n_plateaus > 0)"


def regular_encoder(rate: str = "") -> NeuronSpec:
    """Input neurons that fire regularly at ``rate`` (a phase that grows at the rate and
    fires at 1), started at a random phase by the caller. ``rate``: an expression in Hz
    (e.g. a stimulus TimedArray's, the classifier's ``input.encoding = "regular"``); ""
    gives the neurons a ``rate`` variable the caller sets, the Atari agent's encoding of
    pixel features and game context. Against a Poisson train of the same rate, the
    count in a presentation varies by at most one spike, so what a hidden cell sums is
    its receptive field's drive and not the input's sampling noise."""
    return NeuronSpec(equations=f"""
dphase/dt = {rate or 'rate'} : 1
""" + ("" if rate else "rate : Hz\n"), threshold="phase >= 1", reset="phase -= 1", method="euler")


@dataclass(frozen=True)
class DivisiveNormalisation:
    """Regular encoders whose rates are divisively normalised across the population
    (Carandini & Heeger 2012, Nat. Rev. Neurosci. 13:51; Heeger 1992, Vis. Neurosci. 9:181
    for V1's contrast gain control)::

        rate_i = drive_i * total_rate / (semi_saturation + sum_j drive_j)

    ``drive_i`` is what the observation asks of input i (feature x rate); the pool's sum
    reaches every input through one pooling neuron. With many active features the
    population's summed rate tends to ``total_rate`` whatever the frame, so a game whose
    frames light 12 features (Pong) drives the next layer about as hard as one that lights
    70 (Breakout); ``semi_saturation`` keeps a nearly blank frame from being amplified
    without bound. Why here: the hidden cells' feedforward weights are normalised per
    cell, so without it their drive scales with the number of active inputs (issue 17).
    """

    total_rate: object = param(14_000.0 * Hz)  # ~70 active features x 200 Hz (Breakout)
    semi_saturation: object = param(1_000.0 * Hz)  # about 5 features at 200 Hz

    def encoder(self) -> NeuronSpec:
        return NeuronSpec(equations="""
dphase/dt = rate : 1
rate = drive*total_rate/(semi_saturation + pooled_drive) : Hz
drive : Hz                    # the observation's request: feature x rate
pooled_drive : Hz (linked)    # sum of all drives (the pool's ``total``)
""", threshold="phase >= 1", reset="phase -= 1", method="euler", namespace=as_namespace(self))

    def pool(self) -> NeuronSpec:
        """The pooling neuron: a non-spiking sum of the encoders' drives."""
        return NeuronSpec(equations="total : Hz", threshold=None, reset=None)

    def pooling(self) -> SynapseSpec:
        """Encoder -> pool: each drive joins the sum."""
        return SynapseSpec(model="total_post = drive_pre : Hz (summed)")


@dataclass(frozen=True)
class CountingReadout:
    """A perfect (non-leaky) integrate-and-fire readout neuron (Lapicque 1907; Tuckwell
    1988, Introduction to Theoretical Neurobiology, ch. 3) with current-based input.

    Each presynaptic spike adds its weight times ``gain`` to a dimensionless potential
    v; at v > 1 the neuron spikes and v drops by 1 (reset by subtraction). Over a
    presentation that starts at v = 0 its spike count is therefore floor(gain * sum_i
    w_i n_i): the neuron *counts* its weighted input, and the readout neuron with the
    most spikes is the one with the largest weighted input, with a resolution of
    1/gain. A leaky conductance-based readout loses that order to leak, saturation and
    input noise (docs/results.md compares the two on the same weights). ::

        v += gain * w       at each presynaptic spike
        v > 1:  spike, v -= 1, count += 1
    """

    def spec(self) -> NeuronSpec:
        equations = """
v : 1
count : 1  # spikes since the counter was last cleared
I_ext : amp  # unused; kept so the readout shares the soma's interface
"""
        return NeuronSpec(equations=equations, threshold="v > 1", reset="v -= 1; count += 1",
                          method="euler")

    #: the potential cleared once the presentation's learning step ran
    CLEAR = "v = 0"
