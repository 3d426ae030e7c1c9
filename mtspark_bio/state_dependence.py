"""Does a policy depend on the game's state? Mutual information between the action taken
and a coarse state variable read from the Atari RAM.

A policy that presses one button whatever happens (a "constant" policy, which can score
above random in Breakout and Enduro) has zero mutual information with every state
variable; one that tracks the ball or keeps to a lane has more. :func:`mutual_information_bits`
estimates I(action; state) in bits from the two sequences; :data:`STATE_VARIABLES` gives,
per game, a function of the 128-byte RAM (``env.unwrapped.ale.getRAM()``) that returns
the state as an integer in ``range(n_states)``, or :data:`UNDEFINED` (-1) when it has no
meaning at that step (no ball in play); drop those steps before estimating.

RAM addresses (indices into the 128 bytes of the console's RAM):

* Pong: player (right, green) paddle y = ram[51], ball y = ram[54], ball x = ram[49],
  from the AtariARI annotations (Anand et al. 2019, "Unsupervised state representation
  learning in Atari", NeurIPS; ``atariari/benchmark/ram_annotations.py``, entry "pong":
  player_y 51, ball_x 49, ball_y 54). Checked here on ALE frames (ale-py 0.12, 400 random
  steps): the paddle's top pixel row is ram[51] - 13.5 (+/- 0.5) and it is 16 rows tall,
  so its centre is at ram[51] - 6; the ball's top row is ram[54] - 14 and it is 4 rows
  tall, centre ram[54] - 12.5; ram[54] is 0 while no ball is on the screen (before a
  serve). State: 0 = ball (centre) above the paddle's centre or level with it
  (ram[54] - 12.5 <= ram[51] - 6, i.e. ram[54] <= ram[51] + 6), 1 = below, undefined when ram[54] == 0.
* Breakout: player (paddle) x = ram[72], ball x = ram[99], ball y = ram[101], AtariARI
  entry "breakout" (player_x 72, ball_x 99, ball_y 101). Checked here on ALE frames
  (1 500 random steps): the paddle's left pixel column is ram[72] - 47 and it is 16
  pixels wide (centre ram[72] - 39.5); the ball's left column is ram[99] - 49, 2 pixels
  wide (centre ram[99] - 48); ram[101] is 0 while no ball is in play (before FIRE serves
  it, and after a life is lost). State: 0 = ball (centre) left of the paddle's centre
  or level with it (ram[99] - 48 <= ram[72] - 39.5, i.e. ram[99] <= ram[72] + 8), 1 = right, undefined when ram[101] == 0.
* Enduro: AtariARI has no Enduro entry, so the byte was found by experiment (ale-py
  0.12, no sticky actions): RAM recorded over about 1 300 steps of random runs of
  LEFTFIRE / RIGHTFIRE / LEFT / RIGHT / FIRE / NOOP (5-40 steps each), the player car's
  screen column found in the frame (pixels of grey 192 in rows 144-153, columns with
  >= 4 lit rows) and the road's edges in row 150. The byte most correlated with the
  car's place on the road is ram[46] read as a signed byte (int8): r = -0.996 with the
  car's relative position between the road's edges, -0.991 with its screen column,
  +0.988 with the road's left edge (slope 1.00 pixel per unit: ram[46] is the road's
  horizontal offset under the car). It runs from about -26 (car at the right edge of
  the road) to +24 (left edge); steering LEFT raises it, RIGHT lowers it
  (``tests/test_state_dependence.py`` checks both on the real game). (ram[54], which
  follows the screen column in a short straight run, does not in a longer one.) State:
  the lane, thirds of that range: 0 = left (int8(ram[46]) > 8), 1 = centre
  (-8 <= . <= 8), 2 = right (< -8); always defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: the state has no meaning at this step (no ball in play); drop such steps
UNDEFINED = -1


def _entropy_terms(counts: np.ndarray, n: int) -> tuple[float, int]:
    """(plug-in entropy in bits, number of occupied bins) of a count array."""
    p = counts[counts > 0] / n
    return float(-(p * np.log2(p)).sum()), int((counts > 0).sum())


def mutual_information_bits(actions, states, correction: str | None = None) -> float:
    """Mutual information I(action; state) in bits between two equally long sequences of
    discrete values (any integers or labels), estimated from their contingency table.

    ``correction=None`` (the default): the plug-in estimate
    ``sum_{a,s} p(a,s) log2(p(a,s) / (p(a) p(s)))`` with p the observed frequencies; it is
    biased upwards for short sequences (about ``(|A|-1)(|S|-1) / (2 N ln 2)`` bits for
    independent sequences). ``correction="miller-madow"``: each of H(A), H(S), H(A,S)
    gets the Miller-Madow term ``(m - 1) / (2 N ln 2)`` (m = occupied bins), so the
    estimate is ``I_plugin - (m_AS - m_A - m_S + 1) / (2 N ln 2)``; it can be slightly
    negative, and is returned as it is.
    """
    a, s = np.asarray(actions).ravel(), np.asarray(states).ravel()
    if a.shape != s.shape:
        raise ValueError(f"actions and states differ in length ({a.size} vs {s.size})")
    if correction not in (None, "miller-madow"):
        raise ValueError(f"correction must be None or 'miller-madow', got {correction!r}")
    n = a.size
    if n == 0:
        return 0.0
    _, ai = np.unique(a, return_inverse=True)
    _, si = np.unique(s, return_inverse=True)
    table = np.zeros((ai.max() + 1, si.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, si), 1)
    h_a, m_a = _entropy_terms(table.sum(1), n)
    h_s, m_s = _entropy_terms(table.sum(0), n)
    h_as, m_as = _entropy_terms(table.ravel(), n)
    mi = h_a + h_s - h_as
    if correction == "miller-madow":
        mi -= (m_as - m_a - m_s + 1) / (2 * n * np.log(2))
    elif mi < 0:  # rounding only: the plug-in estimate is never negative
        mi = 0.0
    return float(mi)


@dataclass(frozen=True)
class StateVariable:
    """A coarse game state read from the RAM: ``fn(ram)`` gives an int in
    ``range(n_states)`` or :data:`UNDEFINED`."""

    game: str
    description: str
    labels: tuple[str, ...]
    fn: Callable[[np.ndarray], int]

    @property
    def n_states(self) -> int:
        return len(self.labels)

    def __call__(self, ram) -> int:
        return self.fn(np.asarray(ram, dtype=np.uint8))


def _pong(ram: np.ndarray) -> int:
    ball_y, paddle_y = int(ram[54]), int(ram[51])
    if ball_y == 0:
        return UNDEFINED
    return 0 if ball_y <= paddle_y + 6 else 1


def _breakout(ram: np.ndarray) -> int:
    if int(ram[101]) == 0:
        return UNDEFINED
    return 0 if int(ram[99]) <= int(ram[72]) + 8 else 1


def enduro_road_offset(ram) -> int:
    """ram[46] as a signed byte: the road's horizontal offset under the player's car
    (about +24 with the car at the road's left edge, -26 at its right edge)."""
    return int(np.asarray(ram, dtype=np.uint8)[46:47].view(np.int8)[0])


def _enduro(ram: np.ndarray) -> int:
    offset = enduro_road_offset(ram)
    return 0 if offset > 8 else (2 if offset < -8 else 1)


#: game -> its state variable (RAM addresses and how they were checked: module docstring)
STATE_VARIABLES: dict[str, StateVariable] = {
    "pong": StateVariable("pong", "ball above or below the player's paddle (ram[54] vs ram[51])",
                          ("above", "below"), _pong),
    "breakout": StateVariable("breakout", "ball left or right of the paddle (ram[99] vs ram[72])",
                              ("left", "right"), _breakout),
    "enduro": StateVariable("enduro", "the player's car's lane: int8(ram[46]) in thirds",
                            ("left", "centre", "right"), _enduro),
}


def state_of(game: str, env) -> int:
    """``game``'s state variable read from a gymnasium ALE environment's RAM now."""
    return STATE_VARIABLES[game](env.unwrapped.ale.getRAM())


def defined_steps(actions, states) -> tuple[np.ndarray, np.ndarray]:
    """The actions and states of the steps whose state is defined."""
    actions, states = np.asarray(actions), np.asarray(states, dtype=np.int64)
    defined = states != UNDEFINED
    return actions[defined], states[defined]


def action_state_bits(actions, states) -> float:
    """I(action; state) in bits, Miller-Madow corrected, over the steps whose state is
    defined (the Atari protocol's measure); NaN when none is."""
    actions, states = defined_steps(actions, states)
    return mutual_information_bits(actions, states, correction="miller-madow") if states.size else float("nan")


def action_state_information(game: str, actions, rams, correction: str | None = None) -> dict:
    """I(action; state) in bits for ``game`` from actions and the RAM each was chosen
    on, over the steps where the state is defined; also that fraction of steps and the
    state's distribution."""
    variable = STATE_VARIABLES[game]
    all_states = np.array([variable(r) for r in rams], dtype=np.int64)
    actions, states = defined_steps(actions, all_states)
    counts = np.bincount(states, minlength=variable.n_states)
    return {"bits": mutual_information_bits(actions, states, correction),
            "correction": correction, "state": variable.description, "labels": list(variable.labels),
            "state_counts": counts.tolist(),
            "defined_fraction": states.size / all_states.size if all_states.size else 0.0, "steps": int(states.size)}
