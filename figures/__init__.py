"""Figures of mtspark-bio result files.

``render(h5_path)`` draws the figure of one result file, chosen by the file's
root attribute ``protocol`` from :data:`RENDERERS`, the table of every protocol's
renderer. Code outside the package adds one with ``register("my_protocol",
plot_my_protocol)``; a renderer takes the HDF5 path (and optional ``out_stem``) and
returns the paths it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


from . import atari, capacity, distal_reward, forgetting, physiology, style

Renderer = Callable[..., list[Path]]

#: protocol name (root attribute ``protocol`` of a result file) -> renderer
RENDERERS: dict[str, Renderer] = {"forgetting": forgetting.plot_forgetting, "atari": atari.plot_atari,
                                  "capacity": capacity.plot_capacity,
                                  **physiology.RENDERERS, **distal_reward.RENDERERS}


def register(protocol_name: str, function: Renderer) -> Renderer:
    """Register ``function`` as the renderer of ``protocol_name`` (replacing any); returns it."""
    if not isinstance(protocol_name, str) or not protocol_name:
        raise ValueError(f"protocol name must be a non-empty string, got {protocol_name!r}")
    if not callable(function):
        raise TypeError(f"renderer for {protocol_name!r} must be callable, got {function!r}")
    RENDERERS[protocol_name] = function
    return function


def protocol_of(h5_path) -> str | None:
    """The root attribute ``protocol`` of a result file (None if it has none)."""
    from mtspark_bio.readers import open_result
    from mtspark_bio.results import read_text_attr

    with open_result(h5_path) as f:
        return read_text_attr(f, "protocol")


def render(h5_path, out_stem=None, **kwargs) -> list[Path]:
    """Draw the figure of a result file with its protocol's renderer; returns the written paths.

    Default output: next to the file, same name without ``.h5`` (``.pdf`` and ``.png``).
    Raises ValueError for a file with no ``protocol`` attribute or a protocol with no
    registered renderer.
    """
    protocol = protocol_of(h5_path)
    if protocol is None:
        raise ValueError(f"{h5_path} has no root attribute 'protocol', so it is not a result file of "
                         f"mtspark-bio; known protocols: {sorted(RENDERERS)}")
    try:
        renderer = RENDERERS[protocol]
    except KeyError:
        raise ValueError(f"{h5_path}: no figure renderer for protocol {protocol!r}; "
                         f"known protocols: {sorted(RENDERERS)}") from None
    return renderer(h5_path, out_stem, **kwargs)


__all__ = ["RENDERERS", "register", "render", "protocol_of", "atari", "capacity", "distal_reward", "forgetting",
           "physiology", "style"]
