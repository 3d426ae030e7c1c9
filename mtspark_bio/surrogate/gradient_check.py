"""BPTT against central finite differences of the smooth model."""

from __future__ import annotations

import numpy as np

from mtspark_bio.surrogate.lif import LIFReadout


def gradient_check(model: LIFReadout, params: dict, x, loss, eps: float = 1e-6, n_checks: int | None = None,
                   seed: int = 0) -> float:
    """Largest relative error between BPTT and central finite differences.

    The model runs smooth (the surrogate's sigmoid in place of the step), so BPTT's
    gradient is that function's exact gradient. ``loss(y) -> (value, dL/dy)``. With
    ``detach_reset`` the reset is evaluated with the unperturbed network's values
    (fixed), which is the function whose gradient the detached BPTT computes.
    ``n_checks`` entries per parameter array are checked (all when None).
    """
    rng = np.random.default_rng(seed)
    cache = model.forward(params, x, smooth=True)
    grads = model.backward(params, cache, loss(cache["y"])[1])
    fixed = [r if s else None for r, s in zip(cache["reset"], model.spiking)] if model.detach_reset else None

    def value(p):
        return loss(model.forward(p, x, smooth=True, fixed_resets=fixed)["y"])[0]

    worst = 0.0
    for key, array in params.items():
        flat = np.arange(array.size)
        if n_checks is not None and n_checks < array.size:
            flat = rng.choice(array.size, n_checks, replace=False)
        mask = np.broadcast_to(model.mask(int(key[1:])) if key[0] == "W" else 1.0, array.shape).ravel()
        for index in flat:
            if mask[index] == 0:
                continue
            plus, minus = dict(params), dict(params)
            plus[key] = array.copy()
            minus[key] = array.copy()
            plus[key].flat[index] += eps
            minus[key].flat[index] -= eps
            numeric = (value(plus) - value(minus)) / (2 * eps)
            analytic = grads[key].flat[index]
            worst = max(worst, abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-8))
    return worst
