"""The sequence diagrams: one arrow per message, one box per computation, every label drawn."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from encmed_lib.protocol.diagram import (
    basic_steps,
    format_size,
    label_only_steps,
    plot_sequence_diagram,
)

LABEL_ONLY_SIZES = {"query": 83107, "comparisons": 960, "answers": 23390, "label_reply": 2348}


def texts(fig, gid):
    return [t for t in fig.axes[0].texts if t.get_gid() == gid]


def flat(text: str) -> str:
    return " ".join(text.split())


def arrows(fig):
    return [t for t in fig.axes[0].texts
            if isinstance(t, Annotation) and t.arrow_patch is not None and t.get_gid() == "arrow"]


@pytest.mark.parametrize("make, n_arrows, n_boxes, n_steps",
                         [(label_only_steps, 4, 4, 5), (basic_steps, 2, 2, 3)])
def test_counts_of_arrows_boxes_and_numbered_steps(make, n_arrows, n_boxes, n_steps):
    steps = make()
    assert len(steps) == n_arrows + n_boxes
    assert sorted({s["step"] for s in steps}) == list(range(1, n_steps + 1))
    fig = plot_sequence_diagram(steps)
    assert isinstance(fig, Figure)
    assert len(arrows(fig)) == n_arrows
    assert len(texts(fig, "box")) == n_boxes
    assert all(t.get_bbox_patch() is not None for t in texts(fig, "box"))
    assert [t.get_text() for t in texts(fig, "step")] == [str(k) for k in range(1, n_steps + 1)]
    assert [t.get_text() for t in texts(fig, "party")] == ["Client (hospital)", "Server (model)"]


def test_every_label_note_and_box_is_drawn():
    steps = label_only_steps(LABEL_ONLY_SIZES)
    fig = plot_sequence_diagram(steps, title="Label-only mode")
    drawn = {gid: [flat(t.get_text()) for t in texts(fig, gid)] for gid in ("label", "note", "box", "title")}
    assert drawn["label"] == [flat(s["label"]) for s in steps if "label" in s]
    assert drawn["note"] == [flat(s["note"]) for s in steps if "note" in s]
    assert drawn["box"] == [flat(s["box"]) for s in steps if "box" in s]
    assert drawn["title"] == ["Label-only mode"]
    assert drawn["label"][0].startswith("Query") and drawn["label"][-1].startswith("LabelReply")


def test_arrow_directions_follow_the_steps():
    fig = plot_sequence_diagram(label_only_steps())
    directions = [(a.xyann[0] < a.xy[0]) for a in arrows(fig)]  # True: left to right
    assert directions == [True, False, True, False]  # query, comparisons, answers, label reply
    heights = [a.xy[1] for a in arrows(fig)]
    assert heights == sorted(heights)  # top to bottom, in order


def test_sizes_are_rounded_into_the_notes():
    notes = [s["note"] for s in label_only_steps(LABEL_ONLY_SIZES) if "note" in s]
    assert [n.rsplit("· ", 1)[1] for n in notes] == ["83.1 kB", "960 B", "23.4 kB", "2.3 kB"]
    assert all("kB" not in s.get("note", "") and " B" not in s.get("note", "") for s in label_only_steps())
    assert basic_steps({"query": 5107, "reply": 2565})[2]["note"].endswith("2.6 kB")
    assert format_size(999) == "999 B" and format_size(1049) == "1.0 kB"
    with pytest.raises(ValueError, match="unknown message"):
        label_only_steps({"reply": 100})
    with pytest.raises(ValueError, match="unknown message"):
        basic_steps({"bits": 100})


def test_long_text_is_wrapped_and_math_kept_whole():
    long = "word " * 40 + r"$v_j = \sigma_j\,(2(r_j d_j + s_j) + 1)$"
    fig = plot_sequence_diagram([{"at": 0, "box": long}, {"from": 0, "to": 1, "label": long}])
    for text in texts(fig, "box") + texts(fig, "label"):
        lines = text.get_text().split("\n")
        assert len(lines) > 1
        assert all(line.count("$") % 2 == 0 for line in lines)


@pytest.mark.parametrize("step, message", [
    ({"label": "no parties"}, "either a message"),
    ({"from": 0, "to": 1, "at": 0, "box": "both", "label": "x"}, "either a message"),
    ({"from": 0, "to": 1}, "lacks 'label'"),
    ({"at": 0}, "lacks 'box'"),
    ({"from": 0, "to": 2, "label": "x"}, "not a party index"),
    ({"at": -1, "box": "x"}, "not a party index"),
    ({"from": 1, "to": 1, "label": "x"}, "from one party to the other"),
])
def test_bad_steps_are_refused(step, message):
    with pytest.raises(ValueError, match=message):
        plot_sequence_diagram([step])


def test_two_parties_only():
    with pytest.raises(ValueError, match="exactly two parties"):
        plot_sequence_diagram(basic_steps(), parties=("a", "b", "c"))


def test_deterministic_and_not_registered_with_pyplot():
    before = plt.get_fignums()
    images = []
    for _ in range(2):
        buffer = io.BytesIO()
        plot_sequence_diagram(label_only_steps(LABEL_ONLY_SIZES), title="t").savefig(
            buffer, format="png", dpi=60, metadata={"Software": None})
        images.append(buffer.getvalue())
    assert images[0] == images[1]
    assert plt.get_fignums() == before


def test_height_grows_with_the_steps():
    short = plot_sequence_diagram(basic_steps()).get_size_inches()
    tall = plot_sequence_diagram(label_only_steps()).get_size_inches()
    assert short[0] == tall[0] and tall[1] > short[1]
