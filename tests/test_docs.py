"""The documentation site builds with warnings as errors, its tutorials executed afresh.

One test rather than a separate step of .ci/run: the README's test command (which CI
runs) stays one pytest call whose summary closes the output, a broken reference or a
failing tutorial is reported as a failing test with Sphinx's log, and
``pytest -m "not docs"`` leaves it out while working on the code.
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docs, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = ["main_job", "physiology", "atari", "sweep", "nwb"]


def test_documentation_site_builds_with_warnings_as_errors_and_executes_every_tutorial(tmp_path):
    pytest.importorskip("sphinx", reason="the docs extra is not installed: pip install -e '.[docs]'")
    html = tmp_path / "html"
    # force: every notebook runs against this code, whatever a local build has cached
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
                            "-D", "nb_execution_mode=force", "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)],
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stdout[-4000:]}\n{build.stderr[-8000:]}"
    for name in TUTORIALS:  # each tutorial shows the figure its run drew
        assert "<img" in (html / "tutorials" / f"{name}.html").read_text(), name
    assert "--train-samples" in (html / "cli.html").read_text()  # options from the parser
    assert "dv_d0/dt" in (html / "models" / "neurons.html").read_text()  # equations from the model's code
    assert "run_forgetting" in (html / "api.html").read_text()
