"""The surrogate-gradient readout neuron: a current-based leaky integrate-and-fire cell.

Model (current-based LIF with an exponentially decaying synaptic current; the model of
Neftci, Mostafa & Zenke 2019, IEEE Signal Process. Mag. 36(6):51, Eqs. 1-2, in
physical units)::

    C dv/dt       = g_leak (E_leak - v) + I_syn + I_bias
    tau_syn dI_syn/dt = -I_syn
    presynaptic spike:  I_syn += w * I_unit
    v > V_threshold:    v = V_reset        (spiking readout only)

``I_unit = (V_threshold - E_leak) * g_leak`` is the current that would hold the membrane
at threshold, so ``w = 1`` is a step to that current; w is dimensionless and signed
(surrogate-trained weights are not sign-constrained). ``method='exact'``: the equations
are linear, so Brian2 integrates them with their exact propagator. With the normalised
variables::

    u = (v - E_leak) / (V_threshold - E_leak),    i = I_syn / I_unit,    b = I_bias / I_unit

one time step dt of the Brian2 network is exactly the discrete map (alpha = exp(-dt/tau_syn),
beta = exp(-dt/tau_m), tau_m = C/g_leak)::

    u~[n]   = beta u[n] + c i[n] + (1 - beta) b,      c = tau_syn/(tau_syn - tau_m) (alpha - beta)
    z[n]    = H(u~[n] - 1)                                 threshold
    i[n+1]  = alpha i[n] + sum_j w_j x_j[n]                synapses (input spikes of step n)
    u[n+1]  = u~[n] (1 - z[n]) + u_reset z[n]              reset

which is what ``mtspark_bio.surrogate`` trains. The order is Brian2's schedule within a
step: state update ('groups'), threshold ('thresholds'), synaptic propagation of this
step's presynaptic spikes ('synapses'), reset ('resets'). A presynaptic spike at step n
therefore moves the membrane from step n + 1 on, and a readout spike recorded at step n
is the threshold crossing of u~[n]. Readout state is reset to rest at the start of every
presentation (``when='start'``), so each presentation is an independent sample, as in
the NumPy model. No refractory period (one spike per step at most, as in the discrete
model).

The non-spiking variant (no threshold) is the leaky integrator used for Q values and
other real-valued outputs (Zenke & Vogels 2021, Neural Comput. 33:899, use the same
non-spiking readout units for regression and classification).

Defaults: the membrane of the circuit's somata (``models.neurons.SomaParams``: tau_m =
20 ms, rest -70 mV, threshold -50 mV), tau_syn = 5 ms (Neftci et al. 2019; Zenke &
Vogels 2021 use 10 / 5 ms), reset to rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from brian2 import mV, ms

from mtspark_bio.models.neurons import SomaParams
from mtspark_bio.models.spec import NeuronSpec, SynapseSpec, as_namespace, param

_SOMA = SomaParams()

EQUATIONS = """
dv/dt = (g_leak*(E_leak - v) + I_syn + I_bias) / C : volt
dI_syn/dt = -I_syn / tau_syn : amp
I_bias : amp
"""

# Brian2 code that returns a presentation to the initial state of the discrete model
RESET_TO_REST = "v = E_leak\nI_syn = 0*amp"


@dataclass(frozen=True)
class ReadoutParams:
    """LIF readout parameters (see the module docstring for sources)."""

    # the membrane of the circuit's somata (models.neurons.SomaParams, Wang 2002)
    C: object = param(_SOMA.C_soma)
    g_leak: object = param(_SOMA.g_leak_soma)
    E_leak: object = param(_SOMA.E_leak)
    V_threshold: object = param(_SOMA.V_threshold)
    # reset to rest, not the soma's -60 mV: the discrete model trained by surrogate
    # gradients (mtspark_bio.surrogate.lif) sets u back to u_reset = 0 after a spike, as
    # the SpyTorch networks of Neftci, Mostafa & Zenke 2019 do, and Brian2 must run that model
    V_reset: object = param(_SOMA.E_leak)
    tau_syn: object = param(5 * ms)

    @property
    def tau_m(self):
        return self.C / self.g_leak

    @property
    def I_unit(self):
        return (self.V_threshold - self.E_leak) * self.g_leak

    def namespace(self) -> dict:
        return {**as_namespace(self), "I_unit": self.I_unit}

    def coefficients(self, dt) -> "Coefficients":
        """The discrete map of one time step ``dt`` (a Brian2 quantity)."""
        tau_m = float(self.tau_m / ms)
        tau_s = float(self.tau_syn / ms)
        step = float(dt / ms)
        if math.isclose(tau_m, tau_s):
            raise ValueError("tau_syn must differ from tau_m (the exact propagator has a "
                             "different form when they are equal)")
        alpha, beta = math.exp(-step / tau_s), math.exp(-step / tau_m)
        span = float((self.V_threshold - self.E_leak) / mV)
        return Coefficients(alpha=alpha, beta=beta, c=tau_s / (tau_s - tau_m) * (alpha - beta),
                            u_reset=float((self.V_reset - self.E_leak) / mV) / span)


@dataclass(frozen=True)
class Coefficients:
    """One time step of the normalised readout (see the module docstring)."""

    alpha: float  # synaptic current decay
    beta: float  # membrane decay
    c: float  # current -> membrane
    u_reset: float
    threshold: float = 1.0

    @property
    def d(self) -> float:  # bias -> membrane
        return 1.0 - self.beta


def neuron_spec(params: ReadoutParams | None = None, spiking: bool = True) -> NeuronSpec:
    """The readout NeuronGroup: spiking LIF, or (``spiking=False``) a leaky integrator."""
    params = params or ReadoutParams()
    return NeuronSpec(equations=EQUATIONS,
                      threshold="v > V_threshold" if spiking else None,
                      reset="v = V_reset" if spiking else None,
                      method="exact", initial={"v": params.E_leak}, namespace=params.namespace())


def synapse_spec(params: ReadoutParams | None = None) -> SynapseSpec:
    """Static current synapse with a signed, dimensionless trained weight ``w``."""
    params = params or ReadoutParams()
    return SynapseSpec(model="w : 1", on_pre="I_syn_post += w*I_unit", namespace=params.namespace())
