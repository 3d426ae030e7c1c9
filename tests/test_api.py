"""The Python API: the README's "From Python" lines run as written and return result
objects; the configuration is checked on construction with the command line's errors."""

import re
from pathlib import Path

import numpy as np
import pytest

from mtspark_bio.front import api
from mtspark_bio.readers import load_forgetting

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python() -> str:
    section = README.read_text().split("### From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.runtime
@pytest.mark.slow
def test_readme_from_python_runs_and_returns_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(readme_python(), namespace)
    result, stdp = namespace["result"], namespace["stdp"]
    R = result.variants["dendritic"].accuracy
    assert R.shape == (2, 2) and np.isfinite(R).all()
    assert set(result.variants) == {"dendritic", "point"}
    assert np.isfinite(list(result.variants["point"].metrics.values())).all()
    np.testing.assert_array_equal(load_forgetting(tmp_path / "forgetting.h5").variants["dendritic"].accuracy, R)
    assert api.ForgettingConfig.from_protocol_config(result.config) == namespace["config"]
    assert stdp.numbers and all(np.isfinite(v) for v in stdp.numbers.values())
    assert (tmp_path / "forgetting.pdf").stat().st_size > 0 and (tmp_path / "forgetting.png").exists()
    assert not (tmp_path / "stdp.pdf").exists()  # no figure unless asked
    printed = capsys.readouterr().out
    assert "results in" not in printed and "wall time" not in printed  # the runs print nothing themselves


def test_configuration_round_trips_through_the_stored_form():
    config = api.ForgettingConfig(n_tasks=3, variants=("dendritic", "shuffled"), device="runtime",
                                  circuit={"n_hidden": 30})
    stored = config.as_protocol_config()
    assert stored["variants"] == ["dendritic", "shuffled"] and stored["dt_ms"] == 0.25
    assert api.ForgettingConfig.from_protocol_config(stored) == config


@pytest.mark.parametrize("kwds, message", [
    ({"n_tasks": 0}, "n_tasks must be >= 1"),
    ({"variants": ("dendritic", "dendritc")}, "unknown variant(s) ['dendritc']"),
    ({"dt": 0.25}, "dt must be a time"),
])
def test_configuration_is_checked_on_construction(kwds, message):
    with pytest.raises(ValueError) as error:
        api.ForgettingConfig(device="runtime", **kwds)
    assert message in str(error.value)


def test_errors_name_keys_in_python_and_flags_on_the_command_line(tmp_path, capsys):
    from mtspark_bio.front import cli

    with pytest.raises(ValueError) as error:
        api.ForgettingConfig(device="runtime", train_samples=0)
    assert str(error.value).startswith("train_samples must be >= 1") and "--" not in str(error.value)
    assert cli.main(["forgetting", "--device", "runtime", "--train-samples", "0", "--out", str(tmp_path / "x.h5")]) == 2
    assert "error: --train-samples must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("make, message", [
    (lambda: api.AtariConfig(games=("pong", "chess")), "unknown game(s) ['chess']"),
    (lambda: api.AtariConfig(frames=0), "frames must be >= 1"),
    (lambda: api.AtariConfig(agent={"n_hiden": 3}), "agent has unknown keys ['n_hiden']"),
    (lambda: api.CapacityConfig(task_counts=(0, 2)), "task_counts needs task counts >= 1"),
    (lambda: api.CapacityConfig(variants=("dendritic", "pointy")), "unknown variant(s) ['pointy']"),
    (lambda: api.ProtocolConfig("stdp"), "unknown protocol 'stdp'"),
    (lambda: api.ProtocolConfig("stdp-window", device="cuda"), "unknown device 'cuda'"),
    (lambda: api.ProtocolConfig("stdp-window", preset="full"), "unknown preset 'full' for stdp-window"),
])
def test_every_configuration_is_checked_on_construction(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


def test_typed_configurations_fill_the_protocol_defaults():
    from mtspark_bio.experiments import atari, forgetting
    from mtspark_bio.protocols import capacity

    assert api.ForgettingConfig().as_protocol_config() == forgetting.DEFAULTS
    assert api.AtariConfig().as_protocol_config() == atari.DEFAULTS
    assert api.CapacityConfig(task_counts=(5, 2, 5)).task_counts == (2, 5)
    assert api.CapacityConfig().as_protocol_config() == capacity.DEFAULTS
    assert api.ProtocolConfig("distal-reward").device == "cpp" and api.ProtocolConfig("stdp-window").device == "runtime"
    assert api.AtariConfig.from_protocol_config(atari.DEFAULTS) == api.AtariConfig()
