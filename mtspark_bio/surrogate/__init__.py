"""Surrogate-gradient training of an LIF readout on recorded hidden-layer spike trains.

The biologically plausible default of mtspark-bio trains its readout by reward-modulated
STDP inside the simulator. This module is the optional alternative of MTSpark (Devkota,
Putra & Shafique 2024): a readout of leaky integrate-and-fire neurons trained with
backpropagation through time (BPTT) and a surrogate derivative of the spike function
(Neftci, Mostafa & Zenke 2019, IEEE Signal Process. Mag. 36(6):51; Zenke & Vogels 2021,
Neural Comput. 33:899), in NumPy.

The NumPy model is the discrete map of the Brian2 readout (``models.readout``), with
Brian2's order of operations inside a time step, so weights trained here and loaded
into the Brian2 synapses (``mtspark_bio.surrogate_brian2``) give the same spikes there.

Pieces (one module each)
------------------------
* ``spikes`` — :class:`SpikeTrains` — recorded spike trains, sparse, (samples, steps, neurons); built
  from a Brian2 SpikeMonitor and the presentation timing (:func:`record_spike_trains`).
* ``lif`` — :class:`LIFReadout`: layers of LIF neurons (optional spiking hidden layers, then the
  output layer: spiking, read as spike counts, or non-spiking leaky integrators, read as
  mean membrane potential), forward pass and BPTT.
* Surrogates: ``fast_sigmoid`` (SuperSpike, Zenke & Ganguli 2018, Neural Comput.
  30:1514) and ``arctan`` (Fang et al. 2021, ICCV), slope a parameter. Both are the
  derivatives of sigmoids rising from 0 to 1, so the smooth model that uses the sigmoid
  in place of the step has exactly the gradient BPTT computes (the gradient check).
* Reset: the gradient through the reset is cut by default (``detach_reset``), as Zenke &
  Vogels 2021 recommend; it can be kept.
* ``classifier`` (:func:`train_classifier`): softmax cross-entropy on the output spike
  counts. Counts, not membrane potentials, because the decision in the simulator is then
  the circuit's own rule — the class whose readout neuron fires most
  (``mtspark_bio.circuit.predictions``) — the rule the R-STDP readout is scored by, so
  the two readouts are compared on the same decision, and the Brian2 evaluation reads a
  quantity the spiking network produces (spikes) rather than a membrane trace.
* ``dqn`` (:func:`dueling_readout`, :func:`train_dqn`): two streams of LIF
  neurons (value, advantage) feed non-spiking integrators, one for V and one per action
  for A; Q = V + A - mean(A) (Wang et al. 2016, ICML) from the integrators' mean membrane
  potential over the presentation; DQN on stored transitions (Mnih et al. 2015, Nature
  518:529): Huber loss, target network, discount gamma, double-DQN target optional (van
  Hasselt et al. 2016), Adam (Kingma & Ba 2015, ``optimise``). :class:`DQNLearner`
  keeps what a standard DQN keeps between updates (target, Adam's moments, a replay
  memory per game) for the closed-loop agent.
* ``replay`` — :class:`SpikeReplay`: transitions between recorded presentations, each
  presentation stored once; :class:`NStepReturns` turns steps into n-step transitions.
* ``gradient_check`` — BPTT against central finite differences of the smooth model.
"""

from mtspark_bio.surrogate.classifier import TrainConfig, cross_entropy, train_classifier
from mtspark_bio.surrogate.dqn import (DQNConfig, DQNLearner, Transitions, dqn_step, dueling_q, dueling_readout, huber,
                                      train_dqn)
from mtspark_bio.surrogate.gradient_check import gradient_check
from mtspark_bio.surrogate.lif import LIFReadout, surrogate_functions
from mtspark_bio.surrogate.optimise import Adam, Optimisation
from mtspark_bio.surrogate.replay import NStepReturns, PresentationStore, SpikeReplay
from mtspark_bio.surrogate.spikes import SpikeTrains, record_spike_trains

__all__ = ["Adam", "DQNConfig", "DQNLearner", "LIFReadout", "NStepReturns", "Optimisation", "PresentationStore",
           "SpikeReplay", "SpikeTrains", "TrainConfig", "Transitions", "cross_entropy", "dqn_step", "dueling_q",
           "dueling_readout", "gradient_check", "huber", "record_spike_trains", "surrogate_functions",
           "train_classifier", "train_dqn"]
