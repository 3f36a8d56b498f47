"""Sphinx configuration for the taskrouter_flask documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors).
Pages are Markdown (MyST) or reStructuredText; the API reference comes from docstrings.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import taskrouter_flask  # noqa: E402

project = "taskrouter_flask"
author = "taskrouter_flask developers"
copyright = "taskrouter_flask developers"
release = taskrouter_flask.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Markdown: `#section` links within and between pages.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = f"taskrouter_flask {release}"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": True}
pygments_style = "friendly"
