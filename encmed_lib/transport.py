"""Moving protocol messages between client and server through a *bucket*.

The idea: a bucket is a mailbox
-------------------------------
The client (the hospital, which holds the secret key) and the server (which
holds the model) never talk to each other directly.  Instead they share a
*bucket*, which works like a mailbox with named pigeon-holes:

1. the client drops an encrypted query into ``queries/<query_id>.json``;
2. the server notices it, computes the encrypted prediction and drops the
   answer into ``replies/<query_id>.json``;
3. the client waits until that reply appears and reads it.

Every message is a piece of JSON text, so this module only moves *text*: it
knows nothing about keys or ciphertexts.  A bucket can be

* a folder on the local disk (the default; convenient for exercises), or
* any location that `fsspec <https://filesystem-spec.readthedocs.io>`_ can
  reach, such as an S3 bucket (``"s3://my-bucket/some/prefix"``) or an
  in-memory filesystem (``"memory://demo"``).

All of them go through the same :class:`Bucket` class and the same code.

Why writes must be atomic
-------------------------
The reader polls: it looks again and again whether ``replies/<id>.json`` is
there, and reads it as soon as it is.  If the writer created that file and
then filled it bit by bit, the reader could open it *half written* and fail
to parse the JSON -- or worse, parse a truncated message.  So a message must
appear under its final name **whole or not at all**.  That property is called
*atomicity*, and :meth:`Bucket.put_text` guarantees it:

* **Local folder** -- the text is written to a temporary file in the same
  folder, flushed and ``fsync``-ed to disk, and only then renamed to the final
  name with :func:`os.replace`.  A rename within one filesystem is atomic: a
  reader sees either the old file or the new one, never a mixture.  If
  anything fails on the way the temporary file is removed, so nothing
  half-written is left behind.
* **S3** -- an S3 ``PUT`` of a single object is itself atomic: the object
  becomes visible whole, or not at all (large objects use a multipart upload,
  which is equally invisible until it completes).  S3 also has no rename, so
  the text is sent with one ``pipe_file`` call rather than opened and written
  piece by piece as a stream.
* **Other fsspec filesystems** -- the text is written to
  ``<name>.tmp-<random>`` and then moved to the final name; the temporary
  object is removed if anything fails.

Names
-----
A message name is a relative key such as ``"queries/3f2a.json"``: parts
separated by ``/``, each made of letters, digits, ``.``, ``_`` and ``-``.
Absolute paths, ``..`` and empty parts are refused, so that a name can never
escape from the bucket.  Names containing ``.tmp-`` are reserved for the
temporary files described above.

Examples
--------
>>> import tempfile
>>> box = Bucket(tempfile.mkdtemp())
>>> _ = box.put_text(query_name("q1"), '{"x": 1}')
>>> box.list()
['queries/q1.json']
>>> box.get_text("queries/q1.json")
'{"x": 1}'
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import uuid
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from encmed_lib.errors import TransportError

__all__ = ["Bucket", "query_name", "reply_name"]

#: Characters allowed in one part of a message name.
_PART_RE = re.compile(r"[A-Za-z0-9._-]+")
#: Marker of temporary files; names containing it are reserved.
_TMP_MARKER = ".tmp-"
_NAME_RULES = (
    "message names are relative keys such as 'queries/<query_id>.json': parts "
    "separated by '/', each part non-empty, not '.' or '..', and made only of "
    "the characters A-Z a-z 0-9 '.' '_' '-'"
)
_S3_PROTOCOLS = {"s3", "s3a"}


def _check_part(part: str, what: str, value: str) -> None:
    """Raise ``ValueError`` unless `part` is one valid part of a name."""
    if part == "":
        raise ValueError(f"invalid {what} {value!r}: empty part; {_NAME_RULES}")
    if part in (".", ".."):
        raise ValueError(f"invalid {what} {value!r}: part {part!r} is not allowed; {_NAME_RULES}")
    if not _PART_RE.fullmatch(part):
        bad = sorted({c for c in part if not _PART_RE.fullmatch(c)})
        raise ValueError(
            f"invalid {what} {value!r}: character(s) {''.join(bad)!r} not allowed; {_NAME_RULES}"
        )
    if _TMP_MARKER in part:
        raise ValueError(f"invalid {what} {value!r}: {_TMP_MARKER!r} is reserved for temporary files")


def _validate_name(name: str) -> str:
    """Return `name` if it is a valid message name, else raise ``ValueError``.

    Parameters
    ----------
    name : str
        Candidate name, e.g. ``"queries/abc.json"``.

    Returns
    -------
    str
        The same name.

    Raises
    ------
    TypeError
        If the name is not a string.
    ValueError
        If the name is absolute, contains ``..``, an empty part, a character
        outside ``[A-Za-z0-9._-]`` and ``/``, or the reserved ``.tmp-``.
    """
    if not isinstance(name, str):
        raise TypeError(f"message name must be a str, not {type(name).__name__}; {_NAME_RULES}")
    if name.startswith("/"):
        raise ValueError(f"invalid message name {name!r}: absolute paths are not allowed; {_NAME_RULES}")
    for part in name.split("/"):
        _check_part(part, "message name", name)
    return name


def _is_valid_name(name: str) -> bool:
    try:
        _validate_name(name)
    except ValueError:
        return False
    return True


def _validate_query_id(query_id: str) -> str:
    if not isinstance(query_id, str):
        raise TypeError(f"query id must be a str, not {type(query_id).__name__}")
    if "/" in query_id:
        raise ValueError(f"invalid query id {query_id!r}: it must not contain '/'")
    _check_part(query_id, "query id", query_id)
    return query_id


def query_name(query_id: str) -> str:
    """Name of the message that carries query `query_id`.

    Parameters
    ----------
    query_id : str
        Identifier of the query (letters, digits, ``.``, ``_``, ``-``).

    Returns
    -------
    str
        ``"queries/<query_id>.json"``.

    Raises
    ------
    ValueError
        If `query_id` is not a valid single name part.
    """
    return f"queries/{_validate_query_id(query_id)}.json"


def reply_name(query_id: str) -> str:
    """Name of the message that carries the reply to query `query_id`.

    Parameters
    ----------
    query_id : str
        Identifier of the query (letters, digits, ``.``, ``_``, ``-``).

    Returns
    -------
    str
        ``"replies/<query_id>.json"``.

    Raises
    ------
    ValueError
        If `query_id` is not a valid single name part.
    """
    return f"replies/{_validate_query_id(query_id)}.json"


class Bucket:
    """A mailbox of named text messages in a folder or an fsspec location.

    Parameters
    ----------
    url : str or os.PathLike
        A local folder (created if missing) or any fsspec URL, for example
        ``"s3://bucket/prefix"`` or ``"memory://demo"``.
    **storage_options
        Passed to fsspec to build the filesystem, e.g. for S3
        ``key=..., secret=..., client_kwargs={"endpoint_url": ...}`` or
        ``anon=True``.

    Attributes
    ----------
    url : str
        Where the bucket lives: the absolute folder path for a local bucket,
        otherwise the fsspec URL (without trailing ``/``).
    fs : fsspec.AbstractFileSystem
        The filesystem, obtained once when the bucket is created.

    Notes
    -----
    * Listings only show valid message names; temporary files of writes in
      progress are never listed.
    * S3 has no real directories: ``queries/`` exists only as the common
      prefix of the keys below it.  A local folder does keep (possibly empty)
      sub-folders, but they are never listed as messages either.
    * s3fs caches directory listings, so another client's new messages could
      stay invisible; the bucket therefore invalidates that cache before
      :meth:`exists`, :meth:`list` and each poll of :meth:`wait_for`.
    * In a local bucket the message files keep the owner-only permissions
      (``0600``) of the temporary files they were written as.
    """

    def __init__(self, url: str | os.PathLike, **storage_options: Any) -> None:
        raw = os.fspath(url)
        if not isinstance(raw, str):
            raise TypeError(f"bucket url must be a str or path-like, not {type(raw).__name__}")
        try:
            self.fs, root = fsspec.core.url_to_fs(raw, **storage_options)
        except (ValueError, ImportError, OSError) as exc:
            raise TransportError(f"cannot open bucket {raw!r}: {exc}") from exc
        self._root: str = root.rstrip("/") or root
        self._local: bool = isinstance(self.fs, LocalFileSystem)
        protocols = self.fs.protocol
        protocols = {protocols} if isinstance(protocols, str) else set(protocols)
        self._s3: bool = bool(protocols & _S3_PROTOCOLS)
        if self._local:
            self.url: str = os.path.normpath(self._root)
            try:
                os.makedirs(self.url, exist_ok=True)
            except OSError as exc:
                raise TransportError(f"cannot create bucket folder {self.url!r}: {exc}") from exc
        else:
            self.url = raw.rstrip("/") or raw

    def __repr__(self) -> str:
        return f"Bucket({self.url!r})"

    # ----------------------------------------------------------------- helpers
    def _path(self, name: str) -> str:
        """Full filesystem path (without protocol) of message `name`."""
        _validate_name(name)
        return f"{self._root.rstrip('/')}/{name}"

    def _display(self, path: str) -> str:
        """Human-readable location of `path`: an OS path or a full URL."""
        if self._local:
            return os.path.normpath(path)
        return self.fs.unstrip_protocol(path)

    def _refresh(self, path: str | None = None) -> None:
        """Forget cached S3 listings of `path` (or of the whole bucket)."""
        if not self._s3:
            return
        target = path if path is not None else self._root
        self.fs.invalidate_cache(target)
        # invalidate_cache(p) forgets p and its parents, not its children.
        prefix = target.rstrip("/") + "/"
        for key in [k for k in list(self.fs.dircache) if k.startswith(prefix)]:
            self.fs.dircache.pop(key, None)

    # ----------------------------------------------------------------- writing
    def put_text(self, name: str, text: str) -> str:
        """Write message `name` atomically, replacing any previous version.

        Parameters
        ----------
        name : str
            Relative message name, e.g. ``"queries/<query_id>.json"``.
        text : str
            The message; stored as UTF-8.

        Returns
        -------
        str
            The full path (local bucket) or URL (other buckets) written.

        Raises
        ------
        ValueError
            If `name` is not a valid message name.
        TypeError
            If `text` is not a str.
        TransportError
            If the message could not be written.  Nothing half-written is
            then left under `name` (a previous version stays intact).

        Notes
        -----
        Local folder: temporary file in the same folder, ``fsync``, then
        :func:`os.replace`.  S3: a single ``PUT`` (one ``fs.pipe_file``
        call), which is atomic by itself.  Other filesystems: write to
        ``<name>.tmp-<random>`` then move it to `name`.
        """
        path = self._path(name)
        if not isinstance(text, str):
            raise TypeError(f"message text must be a str, not {type(text).__name__}")
        data = text.encode("utf-8")
        if self._local:
            self._put_local(path, data)
        elif self._s3:
            try:
                self.fs.pipe_file(path, data)
            except Exception as exc:
                raise TransportError(
                    f"could not write message {name!r} to {self._display(path)!r}: {exc}"
                ) from exc
        else:
            self._put_via_temp(path, data)
        return self._display(path)

    def _put_local(self, path: str, data: bytes) -> None:
        final = os.path.normpath(path)
        folder = os.path.dirname(final)
        tmp_name: str | None = None
        try:
            os.makedirs(folder, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                dir=folder, prefix=os.path.basename(final) + _TMP_MARKER, delete=False
            ) as tmp:
                tmp_name = tmp.name
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, final)
            tmp_name = None  # it now *is* the message
        except Exception as exc:
            raise TransportError(f"could not write message to {final!r}: {exc}") from exc
        finally:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)

    def _put_via_temp(self, path: str, data: bytes) -> None:
        tmp_path = f"{path}{_TMP_MARKER}{uuid.uuid4().hex}"
        try:
            parent = path.rpartition("/")[0]
            if parent:
                self.fs.makedirs(parent, exist_ok=True)
            self.fs.pipe_file(tmp_path, data)
            self.fs.mv(tmp_path, path)
        except BaseException as exc:
            with contextlib.suppress(Exception):  # best effort; report the first error
                if self.fs.exists(tmp_path):
                    self.fs.rm_file(tmp_path)
            if isinstance(exc, Exception):
                raise TransportError(f"could not write message to {self._display(path)!r}: {exc}") from exc
            raise

    # ----------------------------------------------------------------- reading
    def _read(self, name: str, path: str) -> str:
        """Read and decode `path`; ``FileNotFoundError`` passes through."""
        try:
            data = self.fs.cat_file(path)
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise TransportError(
                f"could not read message {name!r} from {self._display(path)!r}: {exc}"
            ) from exc
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TransportError(
                f"message {name!r} at {self._display(path)!r} is not UTF-8 text: {exc}"
            ) from exc

    def _missing(self, name: str) -> TransportError:
        return TransportError(
            f"no message {name!r} in bucket {self.url!r} (looked for {self._display(self._path(name))!r})"
        )

    def get_text(self, name: str) -> str:
        """Read message `name`.

        Parameters
        ----------
        name : str
            Relative message name.

        Returns
        -------
        str
            The message text.

        Raises
        ------
        ValueError
            If `name` is not a valid message name.
        TransportError
            If there is no such message (the error names the path) or it
            could not be read.
        """
        path = self._path(name)
        try:
            return self._read(name, path)
        except FileNotFoundError as exc:
            raise self._missing(name) from exc

    def exists(self, name: str) -> bool:
        """Whether message `name` is in the bucket.

        Parameters
        ----------
        name : str
            Relative message name.

        Returns
        -------
        bool
            True if a message (not a folder/prefix) with that name exists.
        """
        path = self._path(name)
        self._refresh(path)
        try:
            return bool(self.fs.isfile(path))
        except Exception as exc:
            raise TransportError(
                f"could not check message {name!r} at {self._display(path)!r}: {exc}"
            ) from exc

    def list(self, prefix: str = "") -> list[str]:
        """Names of the messages whose name starts with `prefix`.

        Parameters
        ----------
        prefix : str, optional
            A plain string prefix, e.g. ``"queries/"``; empty lists all.

        Returns
        -------
        list of str
            Message names relative to the bucket, sorted.

        Raises
        ------
        ValueError
            If `prefix` contains characters not allowed in names, is absolute
            or contains ``..``.
        """
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        if prefix.startswith("/"):
            raise ValueError(f"invalid prefix {prefix!r}: absolute paths are not allowed; {_NAME_RULES}")
        folder, _, last = prefix.rpartition("/")
        for part in folder.split("/") if folder else []:
            _check_part(part, "prefix", prefix)
        if last and not _PART_RE.fullmatch(last):
            _check_part(last, "prefix", prefix)
        base = self._root.rstrip("/") + "/"
        search = base + folder if folder else self._root
        self._refresh()
        try:
            found = self.fs.find(search)
        except FileNotFoundError:
            found = []
        except Exception as exc:
            raise TransportError(f"could not list bucket {self.url!r}: {exc}") from exc
        names = []
        for path in found:
            if not path.startswith(base):
                continue
            rel = path[len(base) :]
            if rel.startswith(prefix) and _is_valid_name(rel):
                names.append(rel)
        return sorted(names)

    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Remove message `name`.

        Parameters
        ----------
        name : str
            Relative message name.
        missing_ok : bool, optional
            If True, deleting an absent message is not an error.

        Raises
        ------
        TransportError
            If the message does not exist (unless `missing_ok`) or could not
            be removed.
        """
        path = self._path(name)
        if not self.exists(name):
            if missing_ok:
                return
            raise self._missing(name)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            if not missing_ok:
                raise self._missing(name) from None
        except Exception as exc:
            raise TransportError(
                f"could not delete message {name!r} at {self._display(path)!r}: {exc}"
            ) from exc
        finally:
            self._refresh(path)

    def wait_for(self, name: str, timeout: float = 30.0, poll: float = 0.05) -> str:
        """Wait until message `name` appears, then return its text.

        Parameters
        ----------
        name : str
            Relative message name, e.g. ``reply_name(query_id)``.
        timeout : float, optional
            Seconds to wait at most (the bucket is always checked at least
            once, even with ``timeout=0``).
        poll : float, optional
            Seconds between two checks.

        Returns
        -------
        str
            The message text.

        Raises
        ------
        ValueError
            If `name` is invalid, `timeout` is negative or `poll` not positive.
        TransportError
            If the message has not appeared after `timeout` seconds.
        """
        path = self._path(name)
        if not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds, got {timeout!r}")
        if not poll > 0:
            raise ValueError(f"poll must be > 0 seconds, got {poll!r}")
        deadline = time.monotonic() + timeout
        while True:
            self._refresh(path)
            try:
                return self._read(name, path)
            except FileNotFoundError:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportError(
                    f"timed out after {timeout:g} s waiting for message {name!r} "
                    f"in bucket {self.url!r} (looked for {self._display(path)!r})"
                )
            time.sleep(min(poll, remaining))
