"""Sphinx configuration of the sklearn_ubergnn documentation.

Build with ``bash docs/build.sh`` (after ``pip install -e ".[docs]"``): a warning-free (``-W``)
HTML build into ``docs/_build/html``. Generated sources (``api/``, ``auto_examples/``) are
rebuilt on every run and ignored by git.
"""
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))

import sklearn_ubergnn  # noqa: E402  (after the path set-up above)

# -- Project -------------------------------------------------------------------------------------
project = "sklearn_ubergnn"
author = "the sklearn_ubergnn developers"
copyright = "the sklearn_ubergnn developers, BSD-3-Clause"
release = sklearn_ubergnn.__version__
version = release

# -- General -------------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "ubergnn_docs",  # docs/sphinxext: API page, Shapes sections, gallery arguments
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "sphinxext", "Thumbs.db", ".DS_Store"]
default_role = "literal"  # `x` reads as code, as in the markdown pages
pygments_style = "sphinx"

# -- autodoc, autosummary, numpydoc --------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"  # the numpydoc Parameters sections say it all
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False  # the class template lists members with autodoc
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Our torch docstrings have a "Shapes" section (STYLE.md §4) that numpydoc does not know:
# docs/sphinxext/ubergnn_docs.py moves it into Notes before numpydoc renders a docstring, but
# numpydoc also parses the raw docstring when it reads signatures and would warn there.
warnings.filterwarnings("ignore", message="Unknown section Shapes", category=UserWarning)

# -- Markdown pages (MyST) -------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- Gallery ---------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # every script of examples/ runs (they are not prefixed with plot_), in their --quick mode
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "ubergnn_docs.reset_argv",
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "abort_on_example_error": False,  # run them all, then fail the build listing the failures
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": True,
}

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_ubergnn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": [], "benchmarks": []}
html_show_sourcelink = True
html_copy_source = True
