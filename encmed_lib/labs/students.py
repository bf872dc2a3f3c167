"""The student versions of the notebooks: solutions replaced by a stub, outputs cleared.

``python -m encmed_lib.labs students [--src DIR] [--dest DIR]`` runs :func:`main`;
the generator is deterministic (the same notebooks give the same bytes).
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
           "main"]


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
    args = parser.parse_args(argv)
    if args.command == "students":
        written = make_student_versions(args.src, args.dest)
        for out in written:
            stubs = sum(c.source.count(STUB) for c in _read(out).cells if c.cell_type == "code")
            print(f"{out}: {stubs} exercise(s) to solve")
        print(f"{len(written)} student notebooks in {written[0].parent}")
