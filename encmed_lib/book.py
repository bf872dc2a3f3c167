"""The course book: the notebooks as a Sphinx book (myst-nb, sphinx-book-theme) that reads offline.

::

    python -m encmed_lib.course --book-only   # the committed notebooks -> build/book/index.html

The book has two parts, listed in its table of contents: the notebooks as executed (outputs,
figures, solutions) under ``solutions/``, and the student versions written by
:func:`encmed_lib.labs.make_student_versions` under ``students/``.  Nothing is executed: myst-nb
renders the outputs stored in the notebooks (``nb_execution_mode = "off"``), so a build takes
seconds, not the ten minutes of the course.

:func:`build_book` stages a Sphinx source folder in a temporary directory::

    index.md                   # docs/book/index.md: the two toctrees
    solutions/NN_name.ipynb    # copies of the source notebooks
    students/NN_name.ipynb     # their student versions

and runs Sphinx with ``docs/book/`` as configuration directory (``conf.py``: theme, local
MathJax, no widget JavaScript).  Two changes are made to the copies' Markdown: the Colab badge,
an image on a remote server that an offline reader cannot load, becomes a text link to Colab
followed by a link to the page's other version (solution <-> student); and each prose mention
"notebook NN" becomes a link to notebook NN in the same part (:func:`link_mentions`).  Sphinx
runs with warnings as errors, so a link that does not resolve (``[see](02_tree.ipynb)`` to a
missing notebook) fails the build instead of shipping.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

from .data.paths import REPO_ROOT
from .labs.students import make_student_versions

__all__ = ["CONF_DIR", "SECTIONS", "build_book", "link_mentions", "stage_sources"]

CONF_DIR = REPO_ROOT / "docs" / "book"
"""The Sphinx configuration (``conf.py``) and the book's front page (``index.md``)."""

SECTIONS = ("solutions", "students")
"""The book's two parts, as folders of the staged source (and of the built book)."""

_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((?P<url>[^)]+)\)")
_OTHER = {"solutions": ("students", "student version of this notebook (exercises to complete)"),
          "students": ("solutions", "solution version of this notebook (as executed)")}


def _unbadge(source: str, name: str, section: str) -> str:
    """Replace the Colab badge of a Markdown cell by offline-safe text links.

    Parameters
    ----------
    source : str
        The Markdown source of the cell.
    name : str
        The notebook's file name, e.g. ``"03_paillier_basics.ipynb"``.
    section : {"solutions", "students"}
        The part of the book the notebook is in (one of :data:`SECTIONS`); the second link goes
        to the other part.

    Returns
    -------
    str
        ``source`` with each ``[![Open In Colab](badge.svg)](url)`` replaced by
        ``[Open in Colab](url) · [<other version>](../<other>/<name>)``; unchanged if it has
        no badge.
    """
    other, label = _OTHER[section]
    return _BADGE.sub(lambda m: f"[Open in Colab]({m['url']}) · [{label}](../{other}/{name})", source)


def link_mentions(source: str, names: dict[str, str]) -> str:
    """Turn each prose mention "notebook NN" of a Markdown cell into a link to that notebook.

    Parameters
    ----------
    source : str
        The Markdown source of a cell.
    names : dict of str to str
        The book's notebooks by number, e.g. ``{"04": "04_encrypted_server.ipynb"}``; a number
        not in it stays plain text.

    Returns
    -------
    str
        ``source`` where ``notebook 04`` (or ``Notebook 04``) reads
        ``[notebook 04](04_encrypted_server.ipynb)``, a link within the same part of the book.
        Code (fenced or inline), math (``$...$``, ``$$...$$``), HTML comments, existing links
        (``[notebook 04](...)``) and paths (``notebooks/04_...``) are left as they are.
    """
    def link(match: re.Match) -> str:
        name = names.get(match["number"])
        return f"[{match[0]}]({name})" if name else match[0]

    parts = _PROTECTED.split(source)
    for i in range(0, len(parts), 2):  # even parts: prose; odd parts: the protected spans
        parts[i] = _MENTION.sub(link, parts[i])
    return "".join(parts)


_PROTECTED = re.compile(r"(```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|<!--.*?-->|\[[^\]\n]*\]\([^)\n]*\))",
                        re.S)
_MENTION = re.compile(r"(?<![\w/\[])[Nn]otebook (?P<number>\d\d)\b(?![\w\]])")


def _rewrite_notebook(path: Path, section: str, names: dict[str, str]) -> None:
    """Apply :func:`_unbadge` and :func:`link_mentions` to every Markdown cell at ``path`` (in place)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = link_mentions(_unbadge(cell.source, path.name, section), names)
    nbformat.write(nb, path)


def stage_sources(source_dir: Path, stage_dir: Path) -> list[Path]:
    """Write the book's Sphinx source folder into ``stage_dir``; return the solution notebooks.

    ``source_dir`` holds the ``NN_*.ipynb`` notebooks with their outputs (``notebooks/`` or
    ``build/notebooks/``).  Raises ``SystemExit`` if it holds none.
    """
    paths = sorted(Path(source_dir).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit(f"no executed notebooks in {source_dir}: run `python -m encmed_lib.course` first")
    solutions, students = (stage_dir / section for section in SECTIONS)
    solutions.mkdir(parents=True)
    staged = [Path(shutil.copy2(path, solutions / path.name)) for path in paths]
    make_student_versions(source_dir, students)
    names = {path.name[:2]: path.name for path in paths}
    for section in SECTIONS:
        for path in sorted((stage_dir / section).glob("*.ipynb")):
            _rewrite_notebook(path, section, names)
    shutil.copy2(CONF_DIR / "index.md", stage_dir / "index.md")
    return staged


def build_book(source_dir: Path, out_dir: Path, quiet: bool = True) -> Path:
    """Build the course book from the notebooks in ``source_dir`` into ``out_dir``; return its index.

    ``out_dir`` is emptied first, so the book never keeps a page of an older build.  Sphinx runs
    with warnings as errors (``-W --keep-going``): a broken cross-link, a missing image or an
    unparsable cell raises ``RuntimeError`` with Sphinx's messages printed above it.
    """
    from sphinx.cmd.build import build_main

    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="encmed-book-") as tmp:
        stage = Path(tmp) / "src"
        stage_sources(source_dir, stage)
        html = Path(tmp) / "html"  # myst-nb writes its scratch folder beside Sphinx's output folder
        args = ["-b", "html", "-W", "--keep-going", "-c", str(CONF_DIR), "-d", str(Path(tmp) / "doctrees"),
                str(stage), str(html)]
        status = build_main((["-q"] if quiet else []) + args)
        if status:
            raise RuntimeError(f"Sphinx could not build the course book (exit status {status}); "
                               "see its messages above")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(html, out_dir)
    return out_dir / "index.html"


def main(source_dir: Path, out_dir: Path) -> Path:
    """Build the book and print where it went and how long it took."""
    start = time.perf_counter()
    index = build_book(source_dir, out_dir)
    print(f"course book: {index} ({time.perf_counter() - start:.1f} s; open it in a browser, "
          "no network needed)")
    return index
