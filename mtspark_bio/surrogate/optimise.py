"""Adam (Kingma & Ba 2015) and the mini-batch settings shared by the classifier and DQN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class Adam:
    """Adam (Kingma & Ba 2015) on a dict of arrays."""

    def __init__(self, lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        for key, g in grads.items():
            m = self.m[key] = self.beta1 * self.m.get(key, 0.0) + (1 - self.beta1) * g
            v = self.v[key] = self.beta2 * self.v.get(key, 0.0) + (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1 ** self.t)
            v_hat = v / (1 - self.beta2 ** self.t)
            params[key] = params[key] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

@dataclass
class Optimisation:
    """Adam on mini-batches from weights drawn with ``init_scale`` (see LIFReadout.init)."""

    batch: int = 32
    lr: float = 1e-3
    seed: int = 0
    init_scale: float = 1.0
