"""The Python API: the README's "From Python" lines run as written and return result
objects; the configuration is checked on construction with the command line's errors."""

import re
from pathlib import Path

import numpy as np
import pytest

from mtspark_bio import api
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
    ({"n_tasks": 0}, "--n-tasks must be >= 1"),
    ({"variants": ("dendritic", "dendritc")}, "unknown variant(s) ['dendritc']"),
    ({"dt": 0.25}, "dt must be a time"),
])
def test_configuration_is_checked_on_construction(kwds, message):
    with pytest.raises(ValueError) as error:
        api.ForgettingConfig(device="runtime", **kwds)
    assert message in str(error.value)
