"""Label-only mode: the client learns the label and the public sizes, nothing else.

DGK secure comparisons at every node (:mod:`.server`), Tai et al.'s path costs, bit proofs on
everything the client sends.  :func:`predict_label_only` runs the whole exchange.
"""

from .client import answer_comparisons, decrypt_label, encrypt_query, predict_label_only
from .layout import Layout, build_layout
from .messages import Answers, Comparisons, LabelQuery, LabelReply
from .server import LabelOnlyServer

__all__ = ["LabelOnlyServer", "predict_label_only", "encrypt_query", "answer_comparisons", "decrypt_label",
           "LabelQuery", "Comparisons", "Answers", "LabelReply", "Layout", "build_layout"]
