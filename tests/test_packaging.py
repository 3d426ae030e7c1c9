"""The wheel installs and works outside the repository: built from a copy of the
sources, installed without dependencies into a fresh venv (the dependencies come from
this environment's site-packages through a .pth line, so nothing is downloaded), and
run from a folder that has its own ``models/`` and ``figures/``, which must not shadow
``mtspark_bio.models`` / ``mtspark_bio.figures``."""

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: what pyproject.toml builds the wheel from
SOURCES = ("pyproject.toml", "README.md", "mtspark_bio", "models", "protocols", "figures")


def run(*command, cwd=None) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, venv bin folder, the wheel) for a wheel built from a copy of the
    sources (building in the working tree would leave build/ there)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        kwds = {"ignore": shutil.ignore_patterns("__pycache__", "*.egg-info", "*.o")} if copy is shutil.copytree else {}
        copy(REPO / name, source / name, **kwds)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", root / "dist", source)
    wheel, = (root / "dist").glob("mtspark_bio-*.whl")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)  # on the base interpreter of this venv
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    # a .pth line is a sys.path entry; .pth files inside that folder are not processed, so
    # the editable install's finder does not leak in. Brian2 imports distutils, which on
    # Python 3.12 is setuptools' shim, normally switched on by a .pth file there.
    (site / "dependencies.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n"
                                           "import _distutils_hack; _distutils_hack.add_shim()\n")
    return python, venv / "bin", wheel, site


@pytest.mark.slow
def test_wheel_holds_the_package_and_the_bridge_sources(installed):
    names = zipfile.ZipFile(installed[2]).namelist()
    for name in ("mtspark_bio/front/cli.py", "mtspark_bio/models/neurons.py", "mtspark_bio/protocols/forgetting.py",
                 "mtspark_bio/figures/forgetting.py", "mtspark_bio/surrogate/lif.py", "mtspark_bio/closed_loop/pipes.py",
                 "mtspark_bio/cpp/closed_loop_bridge.cpp",
                 "mtspark_bio/cpp/closed_loop_bridge.h"):
        assert name in names
    assert not [n for n in names if n.startswith(("models/", "figures/", "protocols/", "tests/"))]


@pytest.mark.slow
def test_installed_wheel_imports_and_runs_beside_a_users_own_models_and_figures(installed, tmp_path):
    python, bin_dir, _, site = installed
    for own in ("models", "figures"):  # a user's folders that would shadow ours if imported as top level
        (tmp_path / own).mkdir()
        (tmp_path / own / "__init__.py").write_text(f"raise ImportError('the user\\'s own {own}/ was imported')\n")
    where = run(python, "-c", "import mtspark_bio, mtspark_bio.models.neurons as n, mtspark_bio.figures as f; "
                              "print(mtspark_bio.__file__, n.__file__, f.__file__)", cwd=tmp_path).split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    text = run(bin_dir / "mtspark-bio", "--help", cwd=tmp_path)
    assert "example: mtspark-bio" in text and "forgetting" in text
    assert run(bin_dir / "mtspark-bio", "protocol", "--help", cwd=tmp_path).count("stdp-window") >= 2
