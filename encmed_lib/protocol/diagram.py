"""Sequence diagrams of the two protocols, drawn with matplotlib only.

A diagram is a list of *steps*, read top to bottom.  Each step is a dict, either
a **message** from one party to the other::

    {"from": 0, "to": 1, "label": "Query: E(x_1), ..., E(x_13)", "note": "13 ciphertexts, 5.1 kB"}

or a **local computation**, a box on one party's lifeline::

    {"at": 1, "box": "compute v_j, shuffle, pack"}

Parties are numbered 0 (left, the client) and 1 (right, the server).  Optional
keys: ``"note"`` (a smaller grey line under a message's arrow) and ``"step"``
(a protocol step number, drawn in the left margin on the first row that
carries it, so that one numbered step may span a box and a message).  Text may
contain matplotlib mathtext (``$v_j$``); long lines are wrapped.

:func:`label_only_steps` and :func:`basic_steps` return the steps of the two
modes (:mod:`.label_only` and the basic round trip), optionally annotated with
measured message sizes.  The figure is built with the object-oriented API
(``Figure``), like :mod:`encmed_lib.plots`: nothing random, nothing registered
with pyplot, so the same steps always give the same picture::

    from encmed_lib.protocol.diagram import label_only_steps, plot_sequence_diagram
    fig = plot_sequence_diagram(label_only_steps({"query": 5107, "comparisons": 960,
                                                  "bits": 5390, "label_reply": 11348}))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = ["plot_sequence_diagram", "label_only_steps", "basic_steps", "format_size"]

#: Colour of each party (lifeline header, its boxes' edge, the arrows it sends).
PARTY_COLOURS: tuple[str, str] = ("#4C72B0", "#DD8452")
_BOX_FILLS: tuple[str, str] = ("#EAF0F8", "#FCEFE5")
_NOTE_COLOUR = "#555555"

# Layout, in inches (the axes span the whole figure and are measured in inches).
_WIDTH = 10.0
_LIFELINE_X = (2.6, 7.4)
_STEP_X = 0.3
_LINE = {"label": 0.21, "note": 0.19, "box": 0.2}
_WRAP = {"label": 62, "note": 72, "box": 46}
_FONT = {"label": 10, "note": 8.5, "box": 9, "party": 10.5, "title": 12}


# ----------------------------------------------------------------- text helpers
def _visible_length(token: str) -> int:
    """Rough printed width of a token in characters (mathtext commands count as one)."""
    if token.startswith("$"):
        return len(re.sub(r"\\[A-Za-z]+", "x", token.replace("{", "").replace("}", ""))) - 2
    return len(token)


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap that never splits a ``$...$`` math segment; keeps explicit newlines."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        tokens = re.findall(r"\$[^$]*\$\S*|\S+", paragraph)
        line, size = "", 0
        for token in tokens:
            n = _visible_length(token)
            if line and size + 1 + n > width:
                lines.append(line)
                line, size = token, n
            else:
                line, size = (f"{line} {token}", size + 1 + n) if line else (token, n)
        lines.append(line)
    return lines


def _check_step(k: int, step: Mapping, n_parties: int) -> str:
    """``"arrow"`` or ``"box"``; a :class:`ValueError` naming the step otherwise."""
    if not isinstance(step, Mapping):
        raise ValueError(f"step {k} must be a dict, got {type(step).__name__}")
    is_arrow, is_box = "from" in step or "to" in step, "at" in step or "box" in step
    if is_arrow == is_box:
        raise ValueError(f"step {k} must be either a message ('from', 'to', 'label') or a "
                         f"local computation ('at', 'box'), got keys {sorted(step)}")
    parties = ("from", "to") if is_arrow else ("at",)
    for key in (*parties, "label" if is_arrow else "box"):
        if key not in step:
            raise ValueError(f"step {k} lacks {key!r}")
    for key in parties:
        if step[key] not in range(n_parties):
            raise ValueError(f"step {k}: {key}={step[key]!r} is not a party index (0 to {n_parties - 1})")
    if is_arrow and step["from"] == step["to"]:
        raise ValueError(f"step {k}: a message goes from one party to the other; use a box "
                         "for a local computation")
    return "arrow" if is_arrow else "box"


# ----------------------------------------------------------------- the drawing
def plot_sequence_diagram(steps: Sequence[Mapping], parties: Sequence[str] = ("Client (hospital)",
                                                                                "Server (model)"),
                          title: str | None = None) -> Figure:
    """Draw a two-party sequence diagram.

    Parameters
    ----------
    steps : list of dict
        Messages ``{"from", "to", "label"[, "note"][, "step"]}`` and local
        computations ``{"at", "box"[, "step"]}``, top to bottom (see the module
        docstring).
    parties : pair of str
        The names over the left (0) and right (1) lifelines.
    title : str, optional
        Written above the diagram.

    Returns
    -------
    matplotlib.figure.Figure
        One arrow (an annotation with ``gid="arrow"``) per message, one box
        (a text with a frame, ``gid="box"``) per computation; the message labels
        have ``gid="label"``, the notes ``gid="note"``, the party headers
        ``gid="party"`` and the step numbers ``gid="step"``.

    Raises
    ------
    ValueError
        A step is neither a message nor a computation, names a party that does
        not exist, or sends a message from a party to itself.
    """
    parties = tuple(parties)
    if len(parties) != 2:
        raise ValueError(f"a sequence diagram here has exactly two parties, got {len(parties)}")
    kinds = [_check_step(k, step, len(parties)) for k, step in enumerate(steps)]
    rows, title_y, header_y, height = _layout(steps, kinds, title)

    from matplotlib.figure import Figure

    fig = Figure(figsize=(_WIDTH, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, _WIDTH)
    ax.set_ylim(height, 0)  # y grows downwards, in inches
    ax.set_axis_off()

    if title:
        ax.text(_STEP_X - 0.15, title_y, title, ha="left", va="bottom", fontsize=_FONT["title"],
                fontweight="bold", gid="title")
    _draw_parties(ax, parties, header_y, height)
    numbered = set()
    for kind, step, row_y, text, note in rows:
        number = step.get("step")
        if number is not None and number not in numbered:
            numbered.add(number)
            _draw_step_number(ax, number, row_y)
        if kind == "arrow":
            _draw_message(ax, step, row_y, text, note)
        else:
            _draw_computation(ax, step["at"], row_y, text)
    return fig


def _layout(steps: Sequence[Mapping], kinds: list[str], title: str | None
            ) -> tuple[list[tuple], float, float, float]:
    """The rows ``(kind, step, y, text lines, note lines)``, in inches from the top, and the heights.

    Returns ``(rows, title_y, header_y, height)``: where the title and the party
    headers sit, and the figure's height.
    """
    rows = []
    y = 0.35 if title else 0.1
    title_y = 0.3
    header_y = y + 0.3
    y = header_y + 0.45
    for step, kind in zip(steps, kinds, strict=True):
        if kind == "arrow":
            label = _wrap(step["label"], _WRAP["label"])
            note = _wrap(step["note"], _WRAP["note"]) if step.get("note") else []
            above = 0.12 + _LINE["label"] * len(label)
            below = 0.1 + _LINE["note"] * len(note)
            rows.append((kind, step, y + above, label, note))
            y += above + below + 0.2
        else:
            text = _wrap(step["box"], _WRAP["box"])
            height = 0.2 + _LINE["box"] * len(text)
            rows.append((kind, step, y + height / 2, text, []))
            y += height + 0.25
    return rows, title_y, header_y, y + 0.1


def _draw_parties(ax: Axes, parties: tuple[str, str], header_y: float, height: float) -> None:
    """The two dashed lifelines, each under its party's coloured header."""
    for x, name, colour in zip(_LIFELINE_X, parties, PARTY_COLOURS, strict=True):
        ax.plot([x, x], [header_y, height - 0.05], color="#9A9A9A", linestyle=(0, (4, 3)),
                linewidth=1, zorder=0)
        ax.text(x, header_y, name, ha="center", va="center", fontsize=_FONT["party"], color="white",
                fontweight="bold", gid="party",
                bbox={"boxstyle": "round,pad=0.45", "facecolor": colour, "edgecolor": colour})


def _draw_step_number(ax: Axes, number, row_y: float) -> None:
    """A step's number in a grey circle in the left margin (drawn at the step's first row)."""
    ax.text(_STEP_X, row_y, str(number), ha="center", va="center", fontsize=9,
            fontweight="bold", color="#333333", gid="step",
            bbox={"boxstyle": "circle,pad=0.25", "facecolor": "#F2F2F2", "edgecolor": "#9A9A9A"})


def _draw_message(ax: Axes, step: Mapping, row_y: float, text: list[str], note: list[str]) -> None:
    """One message: an arrow from the sender's lifeline, its label above and its note below."""
    start, end = _LIFELINE_X[step["from"]], _LIFELINE_X[step["to"]]
    colour = PARTY_COLOURS[step["from"]]
    ax.annotate("", xy=(end, row_y), xytext=(start, row_y), gid="arrow",
                arrowprops={"arrowstyle": "-|>,head_length=0.6,head_width=0.3", "color": colour,
                            "linewidth": 1.6, "shrinkA": 0, "shrinkB": 0})
    middle = sum(_LIFELINE_X) / 2
    ax.text(middle, row_y - 0.07, "\n".join(text), ha="center", va="bottom",
            fontsize=_FONT["label"], fontweight="bold", color="#222222", gid="label",
            linespacing=1.3)
    if note:
        ax.text(middle, row_y + 0.08, "\n".join(note), ha="center", va="top",
                fontsize=_FONT["note"], color=_NOTE_COLOUR, gid="note", linespacing=1.3)


def _draw_computation(ax: Axes, at: int, row_y: float, text: list[str]) -> None:
    """One local computation: a framed box on party ``at``'s lifeline."""
    ax.text(_LIFELINE_X[at], row_y, "\n".join(text), ha="center", va="center",
            fontsize=_FONT["box"], color="#222222", gid="box", linespacing=1.35,
            bbox={"boxstyle": "round,pad=0.5", "facecolor": _BOX_FILLS[at],
                  "edgecolor": PARTY_COLOURS[at], "linewidth": 1.1})


# ----------------------------------------------------------------- the two protocols
def format_size(n_bytes: float) -> str:
    """Bytes as a short rounded string: ``"960 B"``, ``"5.1 kB"``."""
    n_bytes = float(n_bytes)
    return f"{n_bytes:.0f} B" if n_bytes < 1000 else f"{n_bytes / 1000:.1f} kB"


def _with_size(note: str, sizes: Mapping | None, key: str) -> str:
    if sizes and sizes.get(key) is not None:
        return f"{note} · {format_size(sizes[key])}"
    return note


def _check_sizes(sizes: Mapping | None, known: tuple[str, ...]) -> None:
    unknown = sorted(set(sizes or {}) - set(known))
    if unknown:
        raise ValueError(f"unknown message(s) {unknown} in sizes; this mode's messages are {list(known)}")


LABEL_ONLY_MESSAGES = ("query", "comparisons", "answers", "label_reply")
"""The keys of ``sizes`` for :func:`label_only_steps` (bytes of each JSON message)."""

BASIC_MESSAGES = ("query", "reply")
"""The keys of ``sizes`` for :func:`basic_steps`."""


def label_only_steps(sizes: Mapping | None = None) -> list[dict]:
    """The label-only round trip (:mod:`.label_only`), in its five numbered steps.

    Four messages and four local computations: (1) the DGK-encrypted bits of every feature code,
    with bit proofs; (2) the server's blinded, shuffled DGK comparisons, one group per node;
    (3) the client's proven share bit per group; (4) the server's path costs and masked leaves;
    (5) the client reads the one leaf that carries a class.

    Parameters
    ----------
    sizes : dict, optional
        Bytes of the messages (keys from :data:`LABEL_ONLY_MESSAGES`: ``query``,
        ``comparisons``, ``answers``, ``label_reply``), added to the notes rounded to 0.1 kB.
    """
    _check_sizes(sizes, LABEL_ONLY_MESSAGES)
    return [
        {"step": 1, "from": 0, "to": 1, "label": r"Query: $E(x_{f,i})$, every bit of every feature code",
         "note": _with_size("DGK, the client's key; a proof that each encrypts 0 or 1", sizes, "query")},
        {"step": 2, "at": 1,
         "box": r"check the proofs; per node: $c_i = s + x_i - y_i + 3\sum_{k>i} x_k \oplus y_k$, "
                r"blind $E(c_i)^r w^u$; shuffle"},
        {"step": 2, "from": 1, "to": 0, "label": r"Comparisons: one group of $L$ values per node",
         "note": _with_size("groups and values shuffled; the node count and the class names",
                            sizes, "comparisons")},
        {"step": 3, "at": 0, "box": r"zero test: $\delta_k = [$some value of group $k$ is 0$]$"},
        {"step": 3, "from": 0, "to": 1, "label": r"Answers: $E(\delta_1), \ldots, E(\delta_m)$",
         "note": _with_size(r"one proven bit per group: a share of $[x \leq t]$", sizes, "answers")},
        {"step": 4, "at": 1,
         "box": r"$E(b_j)$ from the shares; path cost of every leaf; "
                r"$E(\mathrm{label}_\ell + \rho_\ell\,\mathrm{cost}_\ell)$; shuffle the leaves"},
        {"step": 4, "from": 1, "to": 0, "label": r"LabelReply: one masked value per leaf",
         "note": _with_size("one leaf has cost 0; every other value is uniformly random", sizes,
                            "label_reply")},
        {"step": 5, "at": 0, "box": "decrypt every leaf: the one whose value is a class index is the label"},
    ]


def basic_steps(sizes: Mapping | None = None) -> list[dict]:
    """The basic round trip (:mod:`.server`, :mod:`.client`): three numbered steps.

    Two messages and two local computations.  ``sizes`` may give the bytes of
    ``query`` and ``reply`` (:data:`BASIC_MESSAGES`).
    """
    _check_sizes(sizes, BASIC_MESSAGES)
    return [
        {"step": 1, "from": 0, "to": 1, "label": r"Query: $E(x_1), \ldots, E(x_m)$",
         "note": _with_size("every feature, under the client's public key", sizes, "query")},
        {"step": 2, "at": 1,
         "box": r"for every internal node: $E(v_j)$, $v_j = r_j\,(T_j - X_f) + s_j$; pack"},
        {"step": 2, "from": 1, "to": 0, "label": r"Reply: $E(v_1), \ldots, E(v_k)$ and the tree's shape",
         "note": _with_size("packed blinded values; children and leaf labels, no features or thresholds",
                            sizes, "reply")},
        {"step": 3, "at": 0, "box": r"decrypt; $v_j \geq 0$: go left; walk from the root to a leaf"},
    ]
