"""Exceptions raised by encmed_lib.

Every error says *what* was wrong (which file, field or feature) and *what was
expected*, so that a student reading the traceback knows what to fix.  They all
derive from :class:`EncmedError`; most also derive from :class:`ValueError` so
that generic ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class EncmedError(Exception):
    """Base class of every error raised on purpose by encmed_lib."""


# --------------------------------------------------------------------------- data
class DataFormatError(EncmedError, ValueError):
    """A data file is missing, empty or not in the expected layout.

    Parameters
    ----------
    path : str or path-like or None
        The file (or folder) that was being read.
    column : str or None
        The column at fault, when there is one.
    expected : str
        What the loader expected to find.
    found : str, optional
        What it found instead.
    row : int, optional
        The line of the file at fault (1 = the first line), when there is one.
    """

    def __init__(self, path, column, expected: str, found: str | None = None, *,
                 row: int | None = None):
        self.path = None if path is None else str(path)
        self.column = column
        self.expected = expected
        self.found = found
        self.row = row
        where = f"{self.path}" if self.path else "input"
        if column is not None:
            where += f", column {column!r}"
        if row is not None:
            where += f", line {row}"
        msg = f"{where}: expected {expected}"
        if found is not None:
            msg += f"; found {found}"
        super().__init__(msg)


# ------------------------------------------------------------------------ protocol
class ProtocolError(EncmedError, ValueError):
    """Base class of errors in the encrypted-prediction protocol."""


class MalformedMessageError(ProtocolError):
    """A message is not valid JSON or lacks a field of the wire format."""


class ProtocolVersionError(ProtocolError):
    """A message was written for another version of the protocol."""


class MissingFeatureError(ProtocolError, KeyError):
    """A query lacks a feature that the model needs."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DomainError(ProtocolError):
    """A value is NaN, infinite, not a number, or outside the encodable domain."""


class CiphertextRangeError(ProtocolError):
    """A ciphertext is not an element of Z*_{n^2} for the key it claims."""


class KeyMismatchError(ProtocolError):
    """A message was encrypted under a different public key."""


class QueryMismatchError(ProtocolError):
    """A reply answers a different query than the one it is given with."""


class KeyTooSmallError(ProtocolError):
    """The Paillier modulus is too short to be secure (under 1024 bits)."""


class ModelNotFittedError(EncmedError, ValueError):
    """A model was used before it was fitted."""


class TransportError(EncmedError, OSError):
    """A message could not be written to or read from a bucket."""


class InvalidProofError(ProtocolError):
    """A zero-knowledge proof attached to a message does not verify (or is malformed)."""


class InvalidKeyError(ProtocolError):
    """A public key is malformed or its certificate does not verify."""


class PartyError(EncmedError, RuntimeError):
    """A party of a multi-process (MPyC) training run was misconfigured, failed or lost a peer.

    The message names the party, the field or the peer (host:port) and the
    level of the tree at which the run stopped.
    """


class PartyConfigError(PartyError, ValueError):
    """Bad arguments for a multi-process run (parties, index, back-end, data file...)."""


# ----------------------------------------------------- models, data warnings, batches
class UnsupportedModelError(EncmedError, ValueError):
    """A fitted model is of a kind encmed_lib cannot use (an ensemble, a regressor, multi-output)."""


class DataWarning(UserWarning):
    """A loader changed the data it read (dropped or filled rows); the message gives the counts."""


class ArgumentError(EncmedError, ValueError):
    """A function argument is of the wrong type or outside its documented range."""


class IncompleteBatchError(EncmedError, RuntimeError):
    """Some records of a batch could not be scored (a worker process died twice).

    Attributes
    ----------
    labels : list
        One entry per record, in order: the label, or ``None`` where not scored.
    missing : list of int
        Positions (0-based rows of ``X``) of the records that were not scored.
    """

    def __init__(self, message: str, labels: list, missing: list[int]):
        super().__init__(message)
        self.labels = labels
        self.missing = missing
