"""The course as a whole: notebook conventions, the Colab cell, the runner."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest

from encmed_lib import course

NOTEBOOKS = course.notebooks()


def code_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebooks_are_numbered_in_order():
    names = [p.name for p in NOTEBOOKS]
    assert names, "no notebooks found"
    numbers = [int(n[:2]) for n in names]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert numbers[:2] == [1, 2]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_badge_and_colab_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    assert course.colab_badge(path.name) in nb.cells[0].source
    assert code_cells(path)[0].source == course.COLAB_CELL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_without_errors(path):
    cells = [c for c in code_cells(path) if c.source.strip()]
    assert all(c.execution_count is not None for c in cells), "run and save the notebook"
    for cell in cells:
        assert all(o.output_type != "error" for o in cell.outputs), cell.source[:80]


def test_colab_cell_is_a_no_op_outside_colab(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(course.COLAB_CELL, "<colab cell>", "exec"), namespace)
    assert calls == []
    assert "REPO_URL" not in namespace  # the Colab branch did not run


def test_colab_cell_in_colab_clones_and_installs(monkeypatch, tmp_path):
    """Simulated Colab without the package: the cell clones REPO_URL and pip-installs it."""
    import importlib.util
    import os
    import subprocess
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    calls = []

    def run(args, **kwargs):
        calls.append(args)
        return types.SimpleNamespace(returncode=0)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(["chdir", path]))
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(course.COLAB_CELL, "<colab cell>", "exec"), {})
    assert calls[0][:2] == ["git", "clone"] and course.REPO_URL in calls[0]
    assert calls[1][1:4] == ["-m", "pip", "install"] and calls[1][-2:] == ["-e", "/content/encmed"]
    assert calls[2][1:4] == ["-m", "pip", "install"] and "tenseal" in calls[2]  # what Colab lacks
    assert calls[3] == ["chdir", "/content/encmed/notebooks"]


def test_sync_colab_cells_rewrites_only_the_first_code_cell(tmp_path):
    import shutil

    copy = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], copy)
    nb = nbformat.read(copy, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = "# an old set-up cell"
    nbformat.write(nb, copy)
    assert course.sync_colab_cells([copy]) == [copy]
    assert code_cells(copy)[0].source == course.COLAB_CELL
    assert course.sync_colab_cells([copy]) == []  # idempotent


def test_repo_url_is_written_in_one_place():
    """Only course.py names the repository; notebooks carry what it generates."""
    from encmed_lib.data.paths import REPO_ROOT

    hits = [p for p in (REPO_ROOT / "encmed_lib").rglob("*.py") if course.REPO_URL in p.read_text()]
    assert hits == [REPO_ROOT / "encmed_lib" / "course.py"]
    for path in NOTEBOOKS:
        text = json.dumps(json.loads(path.read_text())["cells"][:2])
        assert course.REPO_URL.removeprefix("https://github.com/") in text


def test_runner_lists_and_executes(tmp_path, capsys):
    course.main(["--list"])
    listed = capsys.readouterr().out.split()
    assert listed == [p.name for p in NOTEBOOKS]
    out = course.execute(NOTEBOOKS[0], out_dir=tmp_path)
    executed = nbformat.read(out, as_version=4)
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code" and c.source.strip())


def test_runner_refuses_unknown_selection():
    with pytest.raises(SystemExit, match="no notebook matches"):
        course.run(["no-such-notebook"])


def test_set_repo_points_the_url_badges_and_cells_at_a_fork(tmp_path, monkeypatch):
    import shutil

    import nbformat

    monkeypatch.setattr(course, "REPO_URL", course.REPO_URL)  # restored after the test
    monkeypatch.setattr(course, "COLAB_CELL", course.COLAB_CELL)
    source = tmp_path / "course.py"
    shutil.copy(course.__file__, source)
    copies = []
    for path in course.notebooks()[:2]:
        copies.append(tmp_path / path.name)
        shutil.copy(path, copies[-1])
    fork = "https://github.com/some-school/encmed-fork"
    changed = course.set_repo(fork, source=source, paths=copies)
    assert set(changed) == {source, *copies}
    assert f'REPO_URL = "{fork}"' in source.read_text()
    for copy in copies:
        nb = nbformat.read(copy, as_version=4)
        assert course.colab_badge(copy.name) in nb.cells[0].source
        assert "some-school/encmed-fork" in nb.cells[0].source
        assert f'REPO_URL = "{fork}"' in next(c for c in nb.cells if c.cell_type == "code").source
    assert course.set_repo(fork, source=source, paths=copies) == []  # idempotent
    with pytest.raises(ValueError, match="GitHub repository URL"):
        course.set_repo("ftp://example.org/x", source=source, paths=copies)


def test_student_versions_open_the_student_notebooks_in_colab(tmp_path):
    from encmed_lib.labs.students import student_notebook

    path = course.notebooks()[0]
    nb, _ = student_notebook(path)
    assert f"/blob/main/students/{path.name}" in nb.cells[0].source
    assert f"/blob/main/notebooks/{path.name}" not in nb.cells[0].source
