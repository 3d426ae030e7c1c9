"""Atari games through gymnasium + ale-py, and the frames' preprocessing.

Environments are ``ALE/<Game>-v5`` with the ROMs bundled in ale-py, greyscale
observations, frame skip 4 and the full 18-action space, so every game shares one output
layer (as in MTSpark and SwitchMT). Sticky actions (p = 0.25) are ale-py's registered
default; ``sticky=False`` gives the deterministic setting of Mnih et al. 2015. Every
score reports which one it used.

Preprocessing (:class:`Preprocessor`), chosen so that a small spiking network sees the
objects that matter and not the static background:

1. **Crop** to the playfield (per game, :data:`CROPS`): scores, borders and the
   dashboard go.
2. **Foreground**: a pixel is foreground when its grey level differs from the crop's
   most frequent grey level (the background colour of these games).
3. **Motion**: a pixel changed since the previous observation (the frame difference;
   it carries the ball's speed, which one frame lacks). With ``motion="on_off"`` it is
   split, as the retina splits it into ON and OFF transient channels, into a map of
   pixels that became foreground and one of pixels that stopped being foreground: the
   leading and the trailing edge of a moving object, so the maps carry its direction
   (whether the ball comes or goes), which the undirected change map does not.
4. **Max-pool** each binary map onto a ``grid x grid`` lattice (default 16 x 16), so a
   2-pixel ball still lights its cell.

The features are the maps concatenated, values in {0, 1}; the encoder turns them into
firing rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: game name -> gymnasium id
GAMES = {"pong": "ALE/Pong-v5", "breakout": "ALE/Breakout-v5", "enduro": "ALE/Enduro-v5"}
#: playfield (rows, columns) of the 210 x 160 frame; measured on the frames
CROPS = {
    "pong": (slice(34, 194), slice(0, 160)),       # between the top and bottom walls
    "breakout": (slice(32, 196), slice(8, 152)),   # inside the side walls, below the score
    "enduro": (slice(50, 154), slice(8, 160)),     # the road, above the dashboard
}
N_ACTIONS = 18  # full action space
FRAME_SKIP = 4
STICKY_PROBABILITY = 0.25  # ale-py's registered default for v5
#: (random, human) scores per game, Mnih et al. 2015 (Nature 518:529), Extended Data
#: Table 2 (no sticky actions): the zero and the 100 of the human-normalised score
RANDOM_HUMAN = {"pong": (-20.7, 9.3), "breakout": (1.7, 31.8), "enduro": (0.0, 309.6)}


def human_normalised(scores, games) -> np.ndarray:
    """``100 (score - random) / (human - random)`` per game (Mnih et al. 2015), so that
    games with different score ranges average on one scale; ``games`` names the last
    axis of ``scores``."""
    random, human = np.array([RANDOM_HUMAN[g] for g in games], dtype=float).T
    return 100.0 * (np.asarray(scores, dtype=float) - random) / (human - random)


def check_games(games) -> list[str]:
    """Validate a list of game names (case-insensitive); returns them lower-cased."""
    names = [g.strip().lower() for g in games if g.strip()]
    unknown = [g for g in names if g not in GAMES]
    if unknown or not names:
        raise ValueError(f"unknown game(s) {unknown or games}; choose from {', '.join(GAMES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a game is listed twice in {names}")
    return names


def make_env(game: str, sticky: bool = True, max_episode_frames: int = 108_000):
    """A gymnasium ALE environment with greyscale frames, frame skip 4 and 18 actions."""
    import ale_py
    import gymnasium as gym

    gym.register_envs(ale_py)
    return gym.make(GAMES[game], obs_type="grayscale", full_action_space=True, frameskip=FRAME_SKIP,
                    repeat_action_probability=STICKY_PROBABILITY if sticky else 0.0,
                    max_num_frames_per_episode=max_episode_frames)


def _max_pool(mask: np.ndarray, grid: int) -> np.ndarray:
    rows = np.linspace(0, mask.shape[0], grid + 1).astype(int)[:-1]
    cols = np.linspace(0, mask.shape[1], grid + 1).astype(int)[:-1]
    return np.maximum.reduceat(np.maximum.reduceat(mask, rows, axis=0), cols, axis=1)


MOTION_CODES = ("change", "on_off")


@dataclass
class Preprocessor:
    """Frame -> feature vector (foreground and motion maps: ``2 * grid**2`` values, or
    ``3 * grid**2`` with ``motion="on_off"``)."""

    game: str
    grid: int = 16
    motion: str = "change"

    def __post_init__(self):
        if self.game not in CROPS:
            raise ValueError(f"no crop for game {self.game!r}")
        rows, cols = CROPS[self.game]
        if not 1 <= self.grid <= min(rows.stop - rows.start, cols.stop - cols.start):
            raise ValueError(f"grid must be between 1 and the crop size, got {self.grid}")
        if self.motion not in MOTION_CODES:
            raise ValueError(f"motion must be one of {', '.join(MOTION_CODES)}, got {self.motion!r}")
        self._previous = self._previous_foreground = None

    @property
    def n_features(self) -> int:
        return (3 if self.motion == "on_off" else 2) * self.grid * self.grid

    def reset(self):
        """Forget the previous frame (a new episode has no motion yet)."""
        self._previous = self._previous_foreground = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        rows, cols = CROPS[self.game]
        crop = np.asarray(frame)[rows, cols]
        background = np.bincount(crop.ravel(), minlength=256).argmax()
        foreground = (crop != background).astype(np.uint8)
        if self.motion == "on_off":
            before = self._previous_foreground
            if before is None:  # a new episode has no motion: nothing appeared or vanished yet
                on = off = np.zeros_like(foreground)
            else:
                on, off = foreground & ~before, before & ~foreground
            self._previous_foreground = foreground
            maps = [foreground, on, off]
        else:
            changed = (np.zeros_like(foreground) if self._previous is None
                       else (crop != self._previous).astype(np.uint8))
            self._previous = crop.copy()
            maps = [foreground, changed]
        return np.concatenate([_max_pool(m, self.grid).ravel() for m in maps]).astype(float)
