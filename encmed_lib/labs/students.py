"""The student versions of the notebooks: solutions replaced by a stub, outputs cleared.

``python -m encmed_lib.labs students [--src DIR] [--dest DIR]`` runs :func:`main`;
the generator is deterministic (the same notebooks give the same bytes).

**nbgrader.**  The solution markers are nbgrader's own (``### BEGIN SOLUTION`` /
``### END SOLUTION``), and every exercise cell carries nbgrader's cell metadata (schema 3):
a solution cell (``solution: true``), and its checking cell, an autograded test worth one
point (``grade: true, locked: true``); a written answer is a manually graded solution.
``python -m encmed_lib.labs nbgrader [--dest DIR]`` writes the notebooks in nbgrader's course
layout, ``DIR/source/<NN_name>/<NN_name>.ipynb``, so that ``nbgrader generate_assignment
NN_name`` produces the release version and ``nbgrader autograde`` grades with the checkers
of :mod:`encmed_lib.labs` (their immediate feedback stays the same for the students).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

from .core import LabFormatError

__all__ = ["SOLUTION_BEGIN", "SOLUTION_END", "STUB", "MARKDOWN_BEGIN", "MARKDOWN_END", "MARKDOWN_STUB",
           "strip_code_solution", "strip_markdown_solution", "student_notebook", "make_student_versions",
           "nbgrader_metadata", "make_nbgrader_source", "main"]


SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: write your solution here")'
MARKDOWN_BEGIN = "<!-- BEGIN SOLUTION -->"
MARKDOWN_END = "<!-- END SOLUTION -->"
MARKDOWN_STUB = "*Your answer here.*"
_MARKDOWN_BLOCK = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.S)
_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


def strip_code_solution(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region by :data:`STUB`.

    The stub keeps the indentation of the BEGIN line; lines outside the regions
    stay.  Returns the new source and the number of regions replaced.

    Raises
    ------
    LabFormatError
        Markers are nested, unopened or unclosed.
    """
    out, inside, count = [], False, 0
    for lineno, line in enumerate(source.split("\n"), 1):
        marker = line.strip()
        if marker.startswith(SOLUTION_BEGIN):
            if inside:
                raise LabFormatError(f"{where}, line {lineno}: nested {SOLUTION_BEGIN}")
            inside, count = True, count + 1
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif marker.startswith(SOLUTION_END):
            if not inside:
                raise LabFormatError(f"{where}, line {lineno}: {SOLUTION_END} without {SOLUTION_BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise LabFormatError(f"{where}: {SOLUTION_BEGIN} without {SOLUTION_END}")
    return "\n".join(out), count


def strip_markdown_solution(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` block by the stub.

    The stub is :data:`MARKDOWN_STUB`; returns the new source and the number of blocks replaced.
    """
    text, count = _MARKDOWN_BLOCK.subn(MARKDOWN_STUB, source)
    if "BEGIN SOLUTION" in text or "END SOLUTION" in text:
        raise LabFormatError(f"{where}: unbalanced {MARKDOWN_BEGIN} / {MARKDOWN_END} markers")
    return text, count


def _raw_cell_ids(text: str) -> list[str | None]:
    return [cell.get("id") for cell in json.loads(text).get("cells", [])]


NBGRADER_SCHEMA = 3


def nbgrader_metadata(cell, grade_id: str) -> dict | None:
    """nbgrader's metadata for an exercise cell (solution, checking cell, written answer), else None."""
    base = {"grade_id": grade_id, "schema_version": NBGRADER_SCHEMA, "task": False}
    source = cell.source
    if cell.cell_type == "code" and SOLUTION_BEGIN in source:
        return {**base, "grade": False, "locked": False, "solution": True}
    if cell.cell_type == "code" and re.search(r"\blabs\.check_\w+\(", source):
        return {**base, "grade": True, "locked": True, "points": 1, "solution": False}
    if cell.cell_type == "markdown" and _MARKDOWN_BLOCK.search(source):
        return {**base, "grade": True, "locked": False, "points": 1, "solution": True}
    return None


def _add_nbgrader(nb, stem: str) -> None:
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_metadata(cell, f"{stem}-{index:02d}")
        if meta is not None:
            cell.metadata["nbgrader"] = meta


def make_nbgrader_source(dest: str | Path | None = None, src: str | Path | None = None) -> list[Path]:
    """Write every notebook, solutions kept and nbgrader metadata added, as ``dest/source/<stem>/<name>``."""
    import nbformat

    from ..data.paths import REPO_ROOT

    src = Path(src) if src is not None else REPO_ROOT / "notebooks"
    dest = Path(dest) if dest is not None else REPO_ROOT / "build" / "nbgrader"
    written = []
    for path in sorted(src.glob("[0-9][0-9]_*.ipynb")):
        nb = _read(path)
        _add_nbgrader(nb, path.stem)
        out = dest / "source" / path.stem / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
        written.append(out)
    return written


def student_notebook(path: str | Path):
    """The student version of one notebook (an ``nbformat`` node) and its number of exercises.

    Solutions are replaced (see :func:`strip_code_solution`), outputs and
    execution counts cleared, volatile cell metadata (execution timestamps)
    removed.  Cell ids are kept; a cell without one (an older notebook) gets an
    id derived from the file name and its position, so the result never
    depends on chance.
    """
    import nbformat

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    ids = _raw_cell_ids(text)
    nb = nbformat.reads(text, as_version=4)
    _add_nbgrader(nb, path.stem)  # from the solutions' markers, before they are stripped
    exercises = 0
    for index, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {index}"
        if "id" not in cell or (index < len(ids) and ids[index] is None):
            cell["id"] = hashlib.sha256(f"{path.name}:{index}".encode()).hexdigest()[:8]
        if cell.cell_type == "code":
            cell.source, count = strip_code_solution(cell.source, where)
            exercises += count
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source, _ = strip_markdown_solution(cell.source, where)
            # the Colab badge of a student version opens the student version (students/ on the repo)
            cell.source = cell.source.replace(f"/blob/main/notebooks/{path.name}",
                                              f"/blob/main/students/{path.name}")
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "BEGIN SOLUTION" in cell.source or "END SOLUTION" in cell.source:
            raise LabFormatError(f"{where}: a solution marker is left after stripping (markers must "
                                 "stand on their own line)")
    nb.nbformat, nb.nbformat_minor = 4, max(int(nb.get("nbformat_minor", 5)), 5)
    nbformat.validate(nb)
    return nb, exercises


def make_student_versions(src: str | Path | None = None, dest: str | Path | None = None) -> list[Path]:
    """Write the student version of every ``NN_*.ipynb`` of ``src`` into ``dest``; return the paths.

    Defaults: ``notebooks/`` and ``students/`` at the repository's root.  The
    output is deterministic (the same input gives the same bytes) and contains
    no solution and no output.
    """
    import nbformat

    from ..data.paths import REPO_ROOT

    src = Path(src) if src is not None else REPO_ROOT / "notebooks"
    dest = Path(dest) if dest is not None else REPO_ROOT / "students"
    paths = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no NN_*.ipynb notebook in {src}")
    if dest.resolve() == src.resolve():
        raise ValueError("the student versions must go to another folder than the notebooks")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb, _ = student_notebook(path)
        out = dest / path.name
        nbformat.write(nb, out)
        written.append(out)
    return written


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m encmed_lib.labs",
                                     description="The course's exercises: generate the student notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    students = sub.add_parser("students", help="write the student version of every notebook "
                              "(solutions replaced by a stub, outputs cleared)")
    students.add_argument("--src", type=Path, default=None, help="notebooks folder (default: notebooks/)")
    students.add_argument("--dest", type=Path, default=None, help="output folder (default: students/)")
    grader = sub.add_parser("nbgrader", help="write the notebooks in nbgrader's course layout "
                            "(source/<NN_name>/, solutions and nbgrader metadata)")
    grader.add_argument("--dest", type=Path, default=None, help="course folder (default: build/nbgrader/)")
    args = parser.parse_args(argv)
    if args.command == "nbgrader":
        written = make_nbgrader_source(args.dest)
        print(f"{len(written)} notebooks in {written[0].parents[1]}: run `nbgrader generate_assignment "
              "<NN_name>` there")
        return
    if args.command == "students":
        written = make_student_versions(args.src, args.dest)
        for out in written:
            stubs = sum(c.source.count(STUB) for c in _read(out).cells if c.cell_type == "code")
            print(f"{out}: {stubs} exercise(s) to solve")
        print(f"{len(written)} student notebooks in {written[0].parent}")
