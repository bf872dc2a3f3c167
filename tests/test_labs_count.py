"""The course's exercises, counted in the committed notebooks: enough real work, each one checked.

An **exercise** is one solution region: the lines between nbgrader's ``### BEGIN SOLUTION`` and
``### END SOLUTION`` in a code cell, or between ``<!-- BEGIN SOLUTION -->`` and
``<!-- END SOLUTION -->`` in a markdown cell.  It is **real work** when the region holds at
least :data:`MIN_CODE_LINES` code lines (blank lines and comments not counted), or, for a written
answer, a derivation of at least :data:`MIN_WORDS` words with a formula ``$...$``.

(a) the ten notebooks hold at least :data:`REQUIRED_REAL_WORK` real-work exercises;
(b) every solution cell is followed by a checking cell that calls a ``check_NN_...`` of
    :mod:`encmed_lib.labs` (``NN`` the notebook's number) that exists;
(c) the student versions have as many exercises (stubs) as the solution notebooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from encmed_lib import labs
from encmed_lib.labs.students import MARKDOWN_BEGIN, MARKDOWN_END, MARKDOWN_STUB, SOLUTION_BEGIN, SOLUTION_END

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

REQUIRED_REAL_WORK = 16
MIN_CODE_LINES = 5
MIN_WORDS = 60

_MARKDOWN_REGION = re.compile(re.escape(MARKDOWN_BEGIN) + r"(.*?)" + re.escape(MARKDOWN_END), re.S)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)
_CHECK_CALL = re.compile(r"\blabs\.(check_(\d\d)_\w+)\(")


@dataclass(frozen=True)
class Region:
    """One exercise's solution region: where it is and how much it asks."""

    notebook: str
    cell: int
    kind: str  # "code" or "markdown"
    code_lines: int = 0
    words: int = 0
    formula: bool = False

    @property
    def real_work(self) -> bool:
        if self.kind == "code":
            return self.code_lines >= MIN_CODE_LINES
        return self.words >= MIN_WORDS and self.formula


def code_regions(source: str) -> list[int]:
    """The number of code lines (not blank, not a comment) of every solution region of a code cell."""
    counts, inside = [], False
    for line in source.splitlines():
        text = line.strip()
        if text.startswith(SOLUTION_BEGIN):
            inside = True
            counts.append(0)
        elif text.startswith(SOLUTION_END):
            inside = False
        elif inside and text and not text.startswith("#"):
            counts[-1] += 1
    return counts


def prose_words(text: str) -> int:
    """Words of a written answer outside its formulas (tokens with a letter)."""
    return sum(1 for token in _MATH.sub(" ", text).split() if re.search(r"[^\W\d_]", token))


def regions(path: Path) -> list[Region]:
    """Every solution region of a notebook, in order."""
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "code":
            found += [Region(path.name, index, "code", code_lines=n) for n in code_regions(cell.source)]
        elif cell.cell_type == "markdown":
            found += [Region(path.name, index, "markdown", words=prose_words(block),
                             formula=bool(_MATH.search(block)))
                      for block in _MARKDOWN_REGION.findall(cell.source)]
    return found


def test_the_ten_notebooks_are_read():
    assert len(NOTEBOOKS) == 10, [p.name for p in NOTEBOOKS]
    assert all(regions(path) for path in NOTEBOOKS), "a notebook has no exercise"


def test_the_counting_rules():
    """The rules themselves: what counts as code, as words and as a formula."""
    body = "\n".join(f"x{i} = {i}" for i in range(MIN_CODE_LINES - 1))
    padded = f"given = 1\n{SOLUTION_BEGIN}\n# a comment\n\n{body}\n    # indented comment\n{SOLUTION_END}\n"
    assert code_regions(padded) == [MIN_CODE_LINES - 1]
    two = padded + f"{SOLUTION_BEGIN}\n{body}\nlast = 0\n{SOLUTION_END}"
    assert code_regions(two) == [MIN_CODE_LINES - 1, MIN_CODE_LINES]
    assert [Region("x", 0, "code", code_lines=n).real_work for n in code_regions(two)] == [False, True]
    assert prose_words("the sum $a + b + c$ of 3 terms, $$x = y$$ done.") == 5
    words = " ".join(["word"] * (MIN_WORDS - 1))
    assert not Region("x", 0, "markdown", words=prose_words(words + " $x$"), formula=True).real_work
    assert Region("x", 0, "markdown", words=prose_words(words + " end $x$"), formula=True).real_work
    assert not Region("x", 0, "markdown", words=MIN_WORDS, formula=False).real_work


def test_enough_real_work_exercises():
    """(a) At least 16 exercises across the course that ask to derive, implement, measure or explain."""
    per_notebook = {path.name[:2]: [r for r in regions(path) if r.real_work] for path in NOTEBOOKS}
    total = sum(len(v) for v in per_notebook.values())
    detail = ", ".join(f"{nn}: {len(v)}" for nn, v in per_notebook.items())
    assert total >= REQUIRED_REAL_WORK, (f"{total} real-work exercises, at least {REQUIRED_REAL_WORK} "
                                         f"needed ({detail})")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_solution_is_followed_by_its_check(path):
    """(b) After a solution cell (and the other solution cells of its exercise) comes a checking cell."""
    cells = nbformat.read(path, as_version=4).cells
    number = path.name[:2]
    solution_cells = sorted({r.cell for r in regions(path)})
    assert solution_cells, f"{path.name} has no exercise"
    for index in solution_cells:
        after = next((j for j in range(index + 1, len(cells)) if j not in solution_cells), None)
        assert after is not None, f"{path.name}, cell {index}: the last cell is a solution, no check follows"
        check = cells[after]
        calls = _CHECK_CALL.findall(check.source) if check.cell_type == "code" else []
        assert calls, f"{path.name}, cell {index}: cell {after} after the solution calls no labs.check_NN_..."
        for name, nn in calls:
            assert nn == number, f"{path.name}, cell {after}: {name} belongs to another notebook"
            assert name in labs.__all__ and callable(getattr(labs, name, None)), \
                f"{path.name}, cell {after}: {name} is not a checker of encmed_lib.labs"


def student_exercises(nb) -> int:
    """The exercises left to solve in a student notebook: code stubs and written-answer stubs."""
    return sum(cell.source.count(labs.STUB) if cell.cell_type == "code" else cell.source.count(MARKDOWN_STUB)
               for cell in nb.cells)


def test_the_student_versions_have_the_same_exercises(tmp_path):
    """(c) Every solution region becomes one stub, in the generator's output and in its count."""
    written = {p.name: p for p in labs.make_student_versions(dest=tmp_path)}
    assert sorted(written) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        found = regions(path)
        nb, counted = labs.student_notebook(path)
        assert counted == sum(r.kind == "code" for r in found), path.name
        assert student_exercises(nb) == len(found), path.name
        assert student_exercises(nbformat.read(written[path.name], as_version=4)) == len(found), path.name
