"""mtspark-bio: spiking networks with active dendrites that learn tasks one after another.

The engine is this package's modules; ``mtspark_bio.front`` is how a user reaches it (the
command line, the typed Python API, the sweep). ``from mtspark_bio import api`` gives the
Python API (``mtspark_bio.front.api``).
"""


def __getattr__(name):
    if name == "api":  # the public name of the Python API, loaded only when asked for
        from mtspark_bio.front import api

        return api
    raise AttributeError(f"module 'mtspark_bio' has no attribute {name!r}")
