"""The front layer: how a user reaches the engine.

* :mod:`~mtspark_bio.front.api` — typed configurations and run functions (Python);
* :mod:`~mtspark_bio.front.cli` — the ``mtspark-bio`` command line;
* :mod:`~mtspark_bio.front.options` — the command line's options, turned into the
  protocols' configurations;
* :mod:`~mtspark_bio.front.sweep` — seeds x settings of a protocol in parallel.

This layer imports the protocols and the figures; the engine below it (``mtspark_bio``'s
other modules) imports neither. ``from mtspark_bio import api`` still works.
"""
