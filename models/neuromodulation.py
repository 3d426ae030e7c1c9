"""The reward signal of a classifying readout population, computed inside the network.

Each presentation ends with a reward tick. The readout neurons' spike counts are summed
through all-to-all "volume transmission" synapses into one number every readout neuron
sees, the margin::

    margin = n_label - n_others

(spikes of the neuron coding the label minus spikes of all others), and at the tick::

    reward   = sign(margin)                      # +1 right, -1 wrong, 0 silent or tie
    M        = reward - expected_reward          # modulator (or reward alone)
    expected_reward += (reward - expected_reward) / n_average

M is the dopamine pulse that reward-modulated STDP (``models.plasticity``) turns into
weight change. Subtracting the expected reward makes M a reward prediction error, as
Fremaux & Gerstner (2016, Front. Neural Circuits 9:85) require for a three-factor rule
to follow the reward gradient instead of drifting; AGREL (Roelfsema & van Ooyen 2005,
Neural Comput. 17:2176) shows that a global reward with plasticity confined to the
active output is enough for classification.
"""

from __future__ import annotations

MODULATORS = ("reward", "reward_prediction_error")
SCOPES = ("population", "neuron")

# Added to the readout neurons' equations.
READOUT_EQUATIONS = """
margin : 1           # summed: spikes of the label neuron minus those of the others
reward : 1
expected_reward : 1
M : 1                # modulator delivered at the last reward tick
"""


#: the variables of an output layer the closed loop sets each agent step
MODULATOR_EQUATION = """
M : 1    # neuromodulator (the TD error, broadcast)
tag : 1  # which eligibility the step's action marks, and its sign (models.actor_critic)
"""


#: the classifier's readout variables beyond the neuron model: the reward, and the
#: running activity that homeostasis tracks (a rule adds its own)
CLASSIFIER_READOUT_EQUATIONS = READOUT_EQUATIONS + "\nactivity : 1  # running mean of spikes per training presentation\n"


def intrinsic_homeostasis(trial: str, n_average: float, strength_pA: float, target: float) -> str:
    """Code run once per presentation (in the spirit of Triesch 2005's intrinsic
    plasticity): the running mean ``activity`` of the spikes per training presentation
    (over ``n_average`` presentations) sets a bias current
    ``-strength_pA * (activity - target)``, so a neuron that wins everything is held
    back and one that never fires is pushed up. ``trial`` is 1 in a training presentation."""
    return (f"activity += ({trial})*(count - activity)/{float(n_average)!r}\n"
            f"I_ext = -{float(strength_pA)!r}*pA*(activity - {float(target)!r})")


def lateral_inhibition_gate(training_inhibition: float) -> str:
    """Code of the readout's lateral synapses at the start of each presentation: the
    fraction ``training_inhibition`` of their inhibition stays on in training
    presentations (acetylcholine suppresses intracortical transmission during encoding,
    Hasselmo 1999), all of it in test presentations. Read at mid-rest, an unambiguous
    index of the ``plastic`` TimedArray."""
    return f"w = 1 - plastic(t + 0.5*t_rest)*(1 - {float(training_inhibition)!r})"


def margin_synapse(shown: str) -> str:
    """Model of the readout -> readout (all to all) synapses that carry the margin.

    ``label`` is a TimedArray of class indices and ``shown`` a time expression that
    points into the presentation that is ending (see mtspark_bio.circuit).
    """
    return f"margin_post = count_pre*(2*int(i_pre == label({shown})) - 1) : 1 (summed)"


def reward_tick(modulator: str, trial: str, n_average: float, punishment: float = 1.0,
                scope: str = "population", label_now: str = "") -> str:
    """Code run on the readout group at the end of each presentation.

    ``trial`` is an expression that is 1 for a training presentation and 0 otherwise.

    * ``scope="population"``: one reward for the whole population, from the margin:
      +1 right, ``-punishment`` wrong, 0 silent or tie; ``modulator`` chooses reward or
      reward prediction error as M.
    * ``scope="neuron"``: each readout neuron gets its own reward for its own response —
      +1 if it codes the label (its spikes were right), ``-punishment`` otherwise (its
      spikes were false alarms) — as a neuron-specific ("vector-valued") dopamine signal
      would deliver it (Wärnberg & Kumar 2023, PNAS). Only
      neurons that fired carry eligibility, so only they learn. ``label_now`` is the
      label expression at the tick; there is no prediction to subtract, so M = reward.
    """
    if modulator not in MODULATORS:
        raise ValueError(f"modulator must be one of {MODULATORS}, got {modulator!r}")
    if scope not in SCOPES:
        raise ValueError(f"reward scope must be one of {SCOPES}, got {scope!r}")
    if scope == "neuron":
        if not label_now:
            raise ValueError("scope='neuron' needs the label expression label_now")
        right = f"int(i == int({label_now}))"
        return f"""
reward = ({trial})*({right} - {float(punishment)!r}*(1 - {right}))
M = reward
count = 0
"""
    expected = "expected_reward" if modulator == "reward_prediction_error" else "0"
    return f"""
reward = ({trial})*(int(margin > 0) - {float(punishment)!r}*int(margin < 0))
M = reward - ({trial})*{expected}
expected_reward += ({trial})*(reward - expected_reward)/{float(n_average)!r}
count = 0
"""
