"""The library the block protocols compose: for the forgetting and the Atari protocol,
a ``Plan`` (everything decided before simulating; building it validates the
configuration), a ``Runner`` (the network on a device, run chunk by chunk) and a
``ResultFile`` (the results so far and the state to resume), with ``DEFAULTS`` and
``format_table``. ``protocols/forgetting.py`` and ``protocols/atari.py`` put them
together with the block loop (``mtspark_bio.blocks``)."""
