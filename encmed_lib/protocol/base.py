r"""One interface for every prediction protocol, and the registry that lists them.

Every mode of the course (basic tree, label-only tree, linear scoring, CKKS, and the ones to
come) is a **pair of objects**: a client side, which holds the record and the private key, and a
server side, which holds the model and never a private key.  They go through the same steps,

.. math::

    \text{encrypt} \to \text{evaluate} \to [\text{answer} \to \text{finish}]^{k}
    \to \text{decrypt}, \qquad k \ge 0 \text{ rounds},

and exchange **JSON messages only** (:func:`run_exchange` serialises every message between the
parties, so nothing but text crosses from one to the other):

* :meth:`ProtocolClient.encrypt` turns a record into the first message;
* :meth:`ProtocolServer.evaluate` answers it;
* :meth:`ProtocolClient.answer` reads each server message and returns the next client
  message, or ``None`` when the message is final (basic and linear modes: at once; label-only
  mode: after one round of :meth:`ProtocolServer.finish`);
* :meth:`ProtocolClient.decrypt` reads the label from the final message.

A client whose key the server must receive once (CKKS's 35 MB public context) sends it first,
in :meth:`ProtocolClient.hello`, which :meth:`ProtocolServer.setup` stores; Paillier modes carry
their public key in every query and have no hello.

:data:`REGISTRY` maps a mode's name to a :class:`ProtocolEntry`: a description, the kind of
model it serves (``"tree"``, ``"linear"``, ``"mlp"``), how to build its server side from a
model and its client side from a key size or an :class:`~encmed_lib.protocol.client.Client`,
and the optional packages it needs.  The benchmark (:func:`encmed_lib.bench.measure_protocol`)
and the evaluation (:func:`encmed_lib.evaluation.cost_report`) loop over it, so a new protocol
is one module and one :func:`register` line (``docs/architecture.md``, *Add a protocol*).
The four built-in modes are registered by :mod:`encmed_lib.protocol.modes`.
"""

from __future__ import annotations

import importlib.util
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ..errors import MalformedMessageError, ProtocolError, RegistryError

MODEL_KINDS = ("tree", "linear", "mlp")
"""The kinds of model a protocol serves: a decision tree, a linear model, a neural network."""

STEPS = ("encrypt", "evaluate", "answer", "finish", "decrypt")
"""The timed steps of one exchange, in protocol order (``setup`` comes once per client key)."""


# ----------------------------------------------------------------------------- the two sides
class ProtocolServer(ABC):
    """The model owner's side: it computes on what the client sends, and holds no private key."""

    def public(self) -> dict:
        """What any client may know before its first query (JSON-able): sizes, schema, parameters.

        Keys read by the cost table when present: ``internal_nodes`` and ``parameters``.
        """
        return {}

    def setup(self, message: str) -> None:
        """Store a client's :meth:`ProtocolClient.hello` (once per client key)."""
        raise ProtocolError(f"{type(self).__name__} expects no setup message: its queries carry the key")

    @abstractmethod
    def evaluate(self, message: str):
        """The reply to a client's first message (JSON text); returns a message."""

    def finish(self, message: str):
        """The reply to a client's answer (JSON text), for protocols of more than one round."""
        raise ProtocolError(f"{type(self).__name__} answers in one round: it expects no second message")


class ProtocolClient(ABC):
    """The patient's side: it holds the record and the private key, and reads the label."""

    def hello(self):
        """The message the server needs once per client key (e.g. a public context), or ``None``."""
        return None

    @abstractmethod
    def encrypt(self, record):
        """The first message for ``record`` (a dict, a pandas Series or a one-row DataFrame)."""

    def answer(self, message: str):
        """The next message after a server message (JSON text), or ``None`` when it is final."""
        return None

    @abstractmethod
    def decrypt(self, message: str):
        """The label carried by the final server message (JSON text)."""


# ----------------------------------------------------------------------------- the wire
def to_wire(message) -> str:
    """A message as JSON text: an object with ``to_json()``, a JSON-able dict/list, or JSON text.

    Raises
    ------
    MalformedMessageError
        The message is none of these (e.g. raw bytes: wrap them in a dict, base64-encoded).
    """
    if hasattr(message, "to_json"):
        return message.to_json()
    if isinstance(message, (dict, list)):
        try:
            return json.dumps(message, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise MalformedMessageError(f"a protocol message must be JSON-able: {exc}") from exc
    if isinstance(message, str):
        try:
            json.loads(message)
        except ValueError as exc:
            raise MalformedMessageError(f"a protocol message given as text must be JSON: {exc}") from exc
        return message
    raise MalformedMessageError(f"a protocol message must be JSON (an object with to_json(), a dict or "
                                f"JSON text), got {type(message).__name__}")


@dataclass
class Trace:
    """What :func:`run_exchange` measured: milliseconds per step and bytes (JSON characters) each way."""

    ms: dict[str, float] = field(default_factory=dict)
    bytes_to_server: int = 0
    bytes_to_client: int = 0
    setup_bytes: int = 0
    rounds: int = 0

    def add(self, step: str, seconds: float) -> None:
        self.ms[step] = self.ms.get(step, 0.0) + 1000 * seconds


def setup_exchange(client_side: ProtocolClient, server_side: ProtocolServer, *,
                   trace: Trace | None = None) -> int:
    """Send the client's :meth:`~ProtocolClient.hello` to the server, if it has one; returns its bytes."""
    start = time.perf_counter()
    hello = client_side.hello()
    if hello is None:
        return 0
    text = to_wire(hello)
    server_side.setup(text)
    if trace is not None:
        trace.add("setup", time.perf_counter() - start)
        trace.setup_bytes += len(text)
    return len(text)


def run_exchange(client_side: ProtocolClient, server_side: ProtocolServer, record, *, setup: bool = True,
                 trace: Trace | None = None, max_rounds: int = 16):
    """One record through the whole exchange, every message serialised to JSON; returns the label.

    Parameters
    ----------
    client_side, server_side : ProtocolClient, ProtocolServer
        The two parties (e.g. ``REGISTRY["basic"].client(1024, public)`` and ``.server(tree)``).
    record : dict, pandas.Series or one-row DataFrame
        The patient.
    setup : bool
        Send the client's hello first (:func:`setup_exchange`); pass ``False`` for the
        following records of the same client and server.
    trace : Trace, optional
        Receives each step's milliseconds (serialisation and parsing included) and the bytes
        of every message each way.  The time a client spends recognising the final message
        counts as ``decrypt``.
    max_rounds : int
        Refuse a server that keeps the exchange going longer.
    """
    trace = trace if trace is not None else Trace()
    if setup:
        setup_exchange(client_side, server_side, trace=trace)
    t0 = time.perf_counter()
    text = to_wire(client_side.encrypt(record))
    trace.add("encrypt", time.perf_counter() - t0)
    trace.bytes_to_server += len(text)
    t0 = time.perf_counter()
    reply = to_wire(server_side.evaluate(text))
    trace.add("evaluate", time.perf_counter() - t0)
    trace.bytes_to_client += len(reply)
    rounds = 0
    while True:
        t0 = time.perf_counter()
        following = client_side.answer(reply)
        if following is None:
            label = client_side.decrypt(reply)
            trace.add("decrypt", time.perf_counter() - t0)
            return label
        if rounds == max_rounds:
            raise ProtocolError(f"the exchange did not end within {max_rounds} rounds of answer -> finish")
        text = to_wire(following)
        trace.add("answer", time.perf_counter() - t0)
        trace.bytes_to_server += len(text)
        rounds += 1
        trace.rounds += 1
        t0 = time.perf_counter()
        reply = to_wire(server_side.finish(text))
        trace.add("finish", time.perf_counter() - t0)
        trace.bytes_to_client += len(reply)


# ----------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class ProtocolEntry:
    """One registered mode.

    Attributes
    ----------
    name : str
        The mode's name (``"basic"``, ``"label-only"``...), used by bench and evaluation.
    description : str
        One line for tables and documentation.
    model_kind : {"tree", "linear", "mlp"}
        The model its server side is built from (the evaluation trains one of each kind).
    server : callable
        ``server(model, **options) -> ProtocolServer``.
    client : callable
        ``client(source, public) -> ProtocolClient``: ``source`` is a key size (int) or an
        :class:`~encmed_lib.protocol.client.Client`, ``public`` the server side's
        :meth:`~ProtocolServer.public` (as JSON-parsed dict).
    requires : tuple of str
        Optional packages (import names) it needs, e.g. ``("tenseal",)``.
    per_key_size : bool
        Whether its cost depends on the Paillier key size (one cost row per key size), or not
        (one row, with the protocol's own parameters).
    expected : callable, optional
        ``expected(model, X) -> labels`` the encrypted labels must equal; default ``model.predict(X)``.
    """

    name: str
    description: str
    model_kind: str
    server: Callable[..., ProtocolServer]
    client: Callable[..., ProtocolClient]
    requires: tuple[str, ...] = ()
    per_key_size: bool = True
    expected: Callable | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise RegistryError(f"a protocol's name must be a non-empty string, got {self.name!r}")
        if self.model_kind not in MODEL_KINDS:
            raise RegistryError(f"protocol {self.name!r}: model_kind must be one of {MODEL_KINDS}, "
                                f"got {self.model_kind!r}")
        if not (callable(self.server) and callable(self.client)):
            raise RegistryError(f"protocol {self.name!r}: server and client must be callables")

    def missing(self) -> list[str]:
        """The optional packages of :attr:`requires` that are not installed (nothing is imported)."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]

    @property
    def available(self) -> bool:
        return not self.missing()

    def expected_labels(self, model, X) -> list:
        """The plaintext model's labels for ``X`` (what every encrypted label must equal)."""
        labels = self.expected(model, X) if self.expected is not None else model.predict(X)
        return [v.item() if hasattr(v, "item") else v for v in labels]

    def pair(self, model, source, **options) -> tuple[ProtocolClient, ProtocolServer]:
        """``(client side, server side)`` for ``model`` and a key size or Client ``source``."""
        server_side = self.server(model, **options)
        public = json.loads(to_wire(server_side.public()))  # only JSON reaches the client
        return self.client(source, public), server_side


class Registry(Mapping):
    """Name -> :class:`ProtocolEntry`, in registration order."""

    def __init__(self):
        self._entries: dict[str, ProtocolEntry] = {}

    def __getitem__(self, name: str) -> ProtocolEntry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise RegistryError(f"unknown protocol {name!r}; registered: {list(self._entries)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, entry: ProtocolEntry, *, replace: bool = False) -> ProtocolEntry:
        if not isinstance(entry, ProtocolEntry):
            raise RegistryError(f"register() takes a ProtocolEntry, got {type(entry).__name__}")
        if entry.name in self._entries and not replace:
            raise RegistryError(f"protocol {entry.name!r} is already registered (unregister it first, "
                                "or pass replace=True)")
        self._entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> ProtocolEntry:
        entry = self[name]
        del self._entries[name]
        return entry

    def check(self, names) -> list[str]:
        """``names`` as a list, each registered; :class:`RegistryError` names the unknown ones."""
        names = list(names)
        unknown = [n for n in names if n not in self._entries]
        if unknown:
            raise RegistryError(f"unknown modes {unknown}; choose among {list(self._entries)}")
        return names


REGISTRY = Registry()
"""Every registered mode: the built-in four (:mod:`encmed_lib.protocol.modes`) and any added."""


def register(entry: ProtocolEntry, *, replace: bool = False) -> ProtocolEntry:
    """Add a mode to :data:`REGISTRY` (``replace=True`` overwrites one of the same name)."""
    return REGISTRY.register(entry, replace=replace)


def unregister(name: str) -> ProtocolEntry:
    """Remove a mode from :data:`REGISTRY` and return its entry."""
    return REGISTRY.unregister(name)
