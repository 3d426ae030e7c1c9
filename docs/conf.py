"""Sphinx configuration of the mtspark-bio documentation site.

Build it (warnings are errors, as in CI):

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

Nothing is downloaded at build time: no intersphinx, no remote images. The tutorials
are MyST notebooks executed by myst-nb on this environment's kernel at every build from
a fresh clone (cached in docs/_build/.jupyter_cache between local builds).
"""

import sys
from importlib.metadata import version as _version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "mtspark-bio"
author = "the mtspark-bio authors"
release = _version("mtspark-bio")
version = release

extensions = [
    "myst_nb",  # MyST Markdown and executed notebooks (it loads myst_parser itself)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxarg.ext",
    "model_pages",  # docs/_ext: the Brian2 equations a model hands to the engine, readable defaults
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "_headline_results.md", "**/.ipynb_checkpoints"]

# MyST: ``:::`` fences for directives, $...$ is not maths (the text has no maths markup)
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# notebooks: executed at build time; a failing cell fails the build
nb_execution_mode = "cache"
nb_execution_cache_path = str(Path(__file__).parent / "_build" / ".jupyter_cache")
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_in_temp = True  # result files go to a temporary folder, not into docs/
nb_merge_streams = True

# autodoc: the docstrings are the single source; napoleon reads their numpydoc sections
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "furo"
html_title = f"mtspark-bio {release}"
html_show_copyright = False  # the repository states no licence or copyright holder
html_static_path = []
highlight_language = "text"  # literal blocks in docstrings are equations, not Python
smartquotes = False  # "--resume" stays two hyphens, not an en dash
