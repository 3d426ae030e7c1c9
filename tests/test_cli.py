"""The command line speaks to users: plain descriptions with an example, the protocols
listed with what each measures, --version; no developer docstrings (reST markup)."""

import importlib.metadata

import pytest

from mtspark_bio.front import cli
from mtspark_bio.protocols import physiology


def help_text(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in cli.USER_HELP if name != "mtspark-bio"])
def test_each_help_is_a_user_description_with_an_example(capsys, argv):
    text = help_text(capsys, argv)
    assert "``" not in text and "Methods\n-------" not in text, text  # no reST from the docstrings
    assert "\nexample: mtspark-bio " in text
    assert cli.USER_HELP[argv[0] if len(argv) == 2 else "mtspark-bio"] in text


def test_protocol_help_lists_every_protocol_with_what_it_measures(capsys):
    text = help_text(capsys, ["protocol", "--help"])
    measures = physiology.measures()
    assert list(measures) == list(physiology.PROTOCOLS)
    for name, what in measures.items():
        assert f"  {name:<23} {what}" in text
        assert len(what.split()) >= 5 and not what.startswith(name)  # a description, not a title
    assert "STDP window:" not in text  # the module's own title is not repeated


def test_version_is_the_installed_distribution(capsys):
    text = help_text(capsys, ["--version"])
    assert text.strip() == f"mtspark-bio {importlib.metadata.version('mtspark-bio')}"



def test_python_dash_m_is_the_command_line():
    """``python -m mtspark_bio ARGS`` is ``mtspark-bio ARGS``: same parser, same usage
    line, same errors (here: --out without a value)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "mtspark_bio", "forgetting", "--out"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: mtspark-bio forgetting"), done.stderr


def test_protocols_import_nothing_of_the_front_layer():
    """The command line depends on the protocols, never the reverse (no import loop)."""
    from pathlib import Path

    import mtspark_bio.protocols

    for path in Path(mtspark_bio.protocols.__file__).parent.glob("*.py"):
        assert "mtspark_bio.front" not in path.read_text(), path.name


@pytest.mark.parametrize("script", ["readout_feedback", "surrogate_readout"])
def test_research_scripts_run_as_modules(script):
    """The two research scripts without a mtspark-bio command are reachable as documented
    (docs/guide/protocols.md): their parsers answer --help."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", f"mtspark_bio.protocols.{script}", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--out" in done.stdout or "--seed" in done.stdout
