"""Bad input, named for whoever gave it.

The engine names an option in an error message by its configuration key, marked with
:func:`option`. Read from Python the message shows the key (``n_tasks must be >= 1``);
the command line shows the option's flag instead (``--n-tasks must be >= 1``,
:func:`for_command_line`), so neither reader meets the other's names.
"""

from __future__ import annotations

import re

_MARK = "\x00"
_OPTION = re.compile(f"{_MARK}(\\w+){_MARK}")
#: keys whose command-line flag is not ``--`` + the key with dashes
FLAGS = {"sticky": "--no-sticky", "dt_ms": "dt (Python API only)"}


def option(key: str) -> str:
    """``key`` (a configuration key, e.g. ``"n_tasks"``) as it appears in a message."""
    return f"{_MARK}{key}{_MARK}"


def flag(key: str) -> str:
    """The command-line flag of configuration key ``key``."""
    return FLAGS.get(key, "--" + key.replace("_", "-"))


def for_python(message: str) -> str:
    return _OPTION.sub(lambda m: m.group(1), message)


def for_command_line(message: str) -> str:
    return _OPTION.sub(lambda m: flag(m.group(1)), message)


class ConfigError(ValueError):
    """A configuration, option or input file that cannot be run; the message says what
    and how to fix it. ``str(error)`` names options by key; the command line prints
    :meth:`command_line`."""

    def __str__(self) -> str:
        return for_python(super().__str__())

    def command_line(self) -> str:
        return for_command_line(super().__str__())


class ResultFileError(ConfigError):
    """A result file that cannot be read: missing, empty, truncated, damaged (checksum
    mismatch), foreign (another program's HDF5 or another protocol's layout) or held by
    a running writer. The message names the file, what is wrong and what to do."""
