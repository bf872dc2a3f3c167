"""Run the course: execute every notebook headless, in order, and regenerate the figures.

::

    python -m encmed_lib.course            # execute notebooks/NN_*.ipynb, then render the book
    python -m encmed_lib.course --list     # the notebooks, in order
    python -m encmed_lib.course --book-only  # build the book from the committed notebooks only
    python -m encmed_lib.course --set-repo https://github.com/you/encmed   # a fork: URL, badges, cells

Executed copies go to ``build/notebooks/`` (the committed notebooks keep their
reviewed outputs; ``pytest --nbval`` checks that they still reproduce),
figures are rewritten under ``figures/`` by the notebooks themselves, and the
course book (Sphinx with myst-nb and sphinx-book-theme, see :mod:`encmed_lib.book`: every
executed notebook, then its student version, with a table of contents and math typeset by a
local MathJax) goes to ``build/book/index.html``: the course and its results, readable without
Jupyter and without a network.

This module is also the one place that knows the repository's URL, used by the
Colab badge and the Colab set-up cell at the top of every notebook.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from .data.paths import REPO_ROOT, figures_dir

REPO_URL = "https://github.com/encmed/encmed"
"""Where Colab clones the course from (the only place the URL is written)."""

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
BUILD_DIR = REPO_ROOT / "build" / "notebooks"
BOOK_DIR = REPO_ROOT / "build" / "book"

COLAB_EXTRAS = ["tenseal", "diffprivlib", "dask[distributed]"]
"""Optional packages the Colab cell installs on top of the library (best effort)."""

COLAB_CELL = f'''# Colab set-up: only when running in Google Colab and encmed_lib is not importable yet.
# Everywhere else this cell does nothing.
import importlib.util
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("encmed_lib") is None:
    import os
    import subprocess

    REPO_URL = "{REPO_URL}"
    COLAB_EXTRAS = {COLAB_EXTRAS!r}
    subprocess.run(["git", "clone", "--depth", "1", REPO_URL, "/content/encmed"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/encmed"], check=True)
    # What Colab lacks for notebooks 07-10; best effort (one line says so if a wheel is missing).
    extras = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *COLAB_EXTRAS])
    if extras.returncode:
        print("some optional packages did not install; the notebooks that need them say so")
    sys.path.insert(0, "/content/encmed")
    os.chdir("/content/encmed/notebooks")'''
"""Source of the first code cell of every notebook."""


def sync_colab_cells(paths: list[Path] | None = None) -> list[Path]:
    """Rewrite the first code cell of each notebook to :data:`COLAB_CELL` (source only).

    The cell does nothing outside Colab, so its stored (empty) output stays valid.
    Returns the notebooks that changed.
    """
    import nbformat

    changed = []
    for path in paths if paths is not None else notebooks():
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "code")
        if cell.source != COLAB_CELL:
            cell.source = COLAB_CELL
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def colab_badge(notebook_name: str) -> str:
    """Markdown of the "Open in Colab" badge for ``notebooks/<notebook_name>``."""
    slug = REPO_URL.removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook_name})")


REPO_URL_PATTERN = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
"""What ``--set-repo`` accepts: a GitHub repository's https URL."""


def sync_badges(paths: list[Path] | None = None) -> list[Path]:
    """Rewrite each notebook's Colab badge (first markdown cell) as :func:`colab_badge`; list the changed."""
    import nbformat

    badge = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(https://colab\.research\.google\.com/github/[^)]*\)")
    changed = []
    for path in paths if paths is not None else notebooks():
        nb = nbformat.read(path, as_version=4)
        cell = nb.cells[0]
        new = badge.sub(lambda _m, name=path.name: colab_badge(name), cell.source, count=1)
        if new != cell.source:
            cell.source = new
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def set_repo(url: str, *, source: Path | None = None, paths: list[Path] | None = None) -> list[Path]:
    """Point the course at a fork: rewrite :data:`REPO_URL` in this module, then every badge and set-up cell.

    This module is the one place the URL is written; the notebooks' badges and Colab cells are
    regenerated from it (their outputs do not change: the cell does nothing outside Colab).
    ``source`` (this module's file) and ``paths`` (the notebooks) default to the repository's;
    returns the files changed.
    """
    global REPO_URL, COLAB_CELL
    if not isinstance(url, str) or not REPO_URL_PATTERN.fullmatch(url.rstrip("/")):
        raise ValueError(f"--set-repo needs a GitHub repository URL such as https://github.com/owner/name, "
                         f"got {url!r}")
    url = url.rstrip("/")
    source = Path(__file__) if source is None else Path(source)
    text = source.read_text(encoding="utf-8")
    new = re.sub(r'^REPO_URL = "[^"]*"$', f'REPO_URL = "{url}"', text, count=1, flags=re.M)
    changed = [source] if new != text else []
    if changed:
        source.write_text(new, encoding="utf-8")
    COLAB_CELL = COLAB_CELL.replace(f'REPO_URL = "{REPO_URL}"', f'REPO_URL = "{url}"')
    REPO_URL = url
    return changed + sorted(set(sync_colab_cells(paths)) | set(sync_badges(paths)))


def notebooks() -> list[Path]:
    """The course notebooks, in order (``NN_*.ipynb``)."""
    return sorted(p for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path, out_dir: Path = BUILD_DIR, timeout: int = 900) -> Path:
    """Execute one notebook headless (working directory: ``notebooks/``) and save the result."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / path.name
    nbformat.write(nb, out)
    return out


def render_book(source_dir: Path = BUILD_DIR, out_dir: Path = BOOK_DIR) -> Path:
    """Build the course book (Sphinx, see :mod:`encmed_lib.book`) from ``source_dir``; returns its index.

    The notebooks' stored outputs are rendered as they are (nothing is executed), with their
    student versions as the book's second part; the book reads offline.
    """
    from . import book

    return book.build_book(source_dir, out_dir)


def run(selection: list[str] | None = None) -> list[Path]:
    """Execute the selected notebooks (default: all) in order; print where things went."""
    chosen = [p for p in notebooks() if not selection or any(s in p.name for s in selection)]
    if not chosen:
        raise SystemExit(f"no notebook matches {selection}; see --list")
    written = []
    for path in chosen:
        start = time.perf_counter()
        print(f"running {path.name} ...", flush=True)
        written.append(execute(path))
        print(f"  done in {time.perf_counter() - start:.0f} s -> {written[-1].relative_to(REPO_ROOT)}",
              flush=True)
    index = render_book(BUILD_DIR)
    figures = sorted(figures_dir().glob("*.png"))
    print(f"\n{len(written)} notebooks executed into {BUILD_DIR.relative_to(REPO_ROOT)}/")
    print(f"course book: {index.relative_to(REPO_ROOT)} (open it in a browser)")
    print(f"{len(figures)} figures in {figures_dir()}/:")
    for fig in figures:
        print(f"  {fig.name}")
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Execute the encmed course notebooks headless.")
    parser.add_argument("only", nargs="*", help="run only notebooks whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the notebooks and exit")
    parser.add_argument("--book-only", action="store_true",
                        help="build the book from the committed notebooks (their stored outputs) only")
    parser.add_argument("--set-repo", metavar="URL",
                        help="point the course at a fork (REPO_URL, every badge and Colab cell) and exit")
    args = parser.parse_args(argv)
    if args.set_repo:
        for path in set_repo(args.set_repo):
            print(f"updated {path}")
        return
    if args.list:
        for path in notebooks():
            print(path.name)
        return
    if args.book_only:
        from . import book

        book.main(NOTEBOOKS_DIR, BOOK_DIR)
        return
    run(args.only)


if __name__ == "__main__":  # pragma: no cover
    main()
