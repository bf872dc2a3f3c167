"""Sphinx configuration of the encmed course book (built by ``python -m encmed_lib.course``).

The book is the committed notebooks with their stored outputs (nothing is re-executed), rendered
by myst-nb with sphinx-book-theme, and it must read offline: every script, style and font comes
from the build folder. Math is typeset in the browser by a local MathJax 3 (SVG output, one
self-contained file shipped by the PyPI package django-static-mathjax), never by a CDN.
:mod:`encmed_lib.book` stages the source folder (``index.md``, ``solutions/``, ``students/``)
and passes this folder to Sphinx as its configuration directory.
"""

from pathlib import Path

import mathjax  # the package django-static-mathjax: MathJax 3.2.2's files, no Django needed

project = "encmed: privacy-preserving medical prediction"
author = "the encmed course"
copyright = "the encmed course"

extensions = ["myst_nb", "sphinx.ext.mathjax"]

# The committed outputs are the book's content: never execute (fast, and the same as reviewed).
nb_execution_mode = "off"
# No require.js / jupyter-widgets from a CDN; progress-bar widgets show their text fallback.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None),
                              ("html", "application/vnd.jupyter.widget-state+json", None)]

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # "notebook.ipynb#a-heading" links resolve to the heading's anchor

# A local MathJax 3: one file with every TeX extension and the SVG output (no web fonts to fetch).
MATHJAX_FILE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
html_static_path = [str(MATHJAX_FILE)]
mathjax_path = MATHJAX_FILE.name  # relative: served from _static/

html_theme = "sphinx_book_theme"
html_title = "encmed"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
# No repository, launch (Binder/Colab) or analytics options: nothing on a page loads from off the book.
# Each page's "download" button offers the notebook itself (copied into _sources/).
html_show_sourcelink = False
