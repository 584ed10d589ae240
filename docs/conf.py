"""Sphinx configuration of minpack's documentation (built by ``bash scripts/docs``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import minpack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))  # the performance plots' helper

project = "minpack"
author = "the minpack developers"
copyright = "2026, the minpack developers"
release = minpack.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/README.rst", "auto_examples/*.ipynb", "**/*.py.md5"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Offline: no intersphinx, nothing fetched.  Every warning is an error (scripts/docs: -W).
nitpicky = False
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()
autodoc_typehints = "none"  # the numpydoc sections give the types
autodoc_default_options = {"members": False}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "min_reported_time": 0,
}

# The performance page's plots read the recorded benchmark runs in docs/performance/.
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.autolayout": True}
plot_basedir = str(HERE)

html_theme = "pydata_sphinx_theme"
html_title = f"minpack {release}"
html_static_path = ["_static"]
html_css_files = ["minpack.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "navbar_align": "left",
}
html_context = {"default_mode": "light"}
# Pages without sub-pages get the width of the left sidebar for their tables and code.
html_sidebars = {
    page: []
    for page in ("index", "getting-started", "migrating", "performance", "api", "changelog")
}

os.environ.setdefault("MPLBACKEND", "Agg")
