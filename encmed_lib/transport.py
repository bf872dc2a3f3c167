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
  half-written is left behind.  No operation follows a symbolic link inside
  the bucket (:mod:`encmed_lib.parties.safe_folder`): a link at ``replies/`` or at
  ``replies/<id>.json`` is an :class:`~encmed_lib.errors.UnsafePathError`.
* **S3** -- an S3 ``PUT`` of a single object is itself atomic: the object
  becomes visible whole, or not at all (large objects use a multipart upload,
  which is equally invisible until it completes).  S3 also has no rename, so
  the text is sent with one ``pipe_file`` call rather than opened and written
  piece by piece as a stream.
* **Other fsspec filesystems** -- the text is written to
  ``<name>.tmp-<random>`` and then moved to the final name; the temporary
  object is removed if anything fails.

Exclusive creation and stale temporaries
----------------------------------------
:meth:`Bucket.create_exclusive` creates a message only if the name is free,
and tells exactly one of several concurrent callers that it won: a hard link
of a finished temporary file on a folder, a conditional ``PUT``
(``If-None-Match: *``) on S3.  On other fsspec filesystems it is a check
followed by a write, which two writers can both pass.  A writer killed
mid-write leaves a ``*.tmp-*`` file; :meth:`Bucket.remove_stale_temporaries`
deletes those older than a given age (minutes, where a live write takes
milliseconds, so two servers sharing a bucket never delete each other's
live writes).

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
import time
import uuid
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from encmed_lib.errors import (
    BucketNameError,
    MalformedMessageError,
    ReplyTimeoutError,
    TransportError,
    UnsafePathError,
)
from encmed_lib.parties import safe_folder
from encmed_lib.protocol.bucket_names import (
    NAME_RULES,
    PART_RE,
    TMP_MARKER,
    check_part,
    is_valid_name,
    query_name,
    reply_name,
    validate_name,
)

__all__ = ["Bucket", "query_name", "reply_name"]

_S3_PROTOCOLS = {"s3", "s3a"}


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
      progress and (in a folder) symbolic links are never listed.
      :meth:`scan` shows every key, valid or not, for a server that must
      quarantine what it cannot answer.
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
            raise TransportError(f"bucket url must be a str or path-like, not {type(raw).__name__}")
        try:
            raw.encode("utf-8")
            self.fs, root = fsspec.core.url_to_fs(raw, **storage_options)
        except (ValueError, ImportError, OSError) as exc:  # UnicodeEncodeError is a ValueError
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
        validate_name(name)
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

    @staticmethod
    def _encode(text: str) -> bytes:
        if not isinstance(text, str):
            raise MalformedMessageError(f"message text must be a str, not {type(text).__name__}")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedMessageError(f"message text cannot be stored as UTF-8 (a lone surrogate at "
                                        f"position {exc.start}?): {exc.reason}") from None

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
        BucketNameError
            If `name` is not a valid message name.
        MalformedMessageError
            If `text` is not a str or not encodable as UTF-8 (lone surrogates).
        UnsafePathError
            Local folder: a symbolic link on the way to `name`, or at `name`.
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
        data = self._encode(text)
        if self._local:
            self._local_write(name, safe_folder.write_atomic, data)
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

    def create_exclusive(self, name: str, text: str) -> bool:
        """Create message `name` only if it does not exist yet.

        Returns
        -------
        bool
            True for the one caller that created it, False if it existed.

        Notes
        -----
        Atomic on a local folder (hard link of a complete temporary file) and
        on S3 (conditional ``PUT`` with ``If-None-Match: *``, which AWS and
        moto honour).  Other fsspec filesystems: a check, then a write; two
        concurrent callers may then both get True.
        """
        path = self._path(name)
        data = self._encode(text)
        if self._local:
            return self._local_write(name, safe_folder.create_exclusive, data)
        try:
            if self._s3:
                self.fs.pipe_file(path, data, mode="create")
                return True
            if self.exists(name):
                return False
            self._put_via_temp(path, data)
            return True
        except FileExistsError:
            return False
        except TransportError:
            raise
        except Exception as exc:
            raise TransportError(f"could not create message {name!r} at {self._display(path)!r}: "
                                 f"{exc}") from exc
        finally:
            self._refresh(path)

    def _local_call(self, name: str, fn, *args):
        """Run a :mod:`safe_folder` operation, turning OS errors into TransportError."""
        try:
            return fn(self.url, name, *args)
        except (UnsafePathError, FileNotFoundError):
            raise
        except TransportError:
            raise
        except OSError as exc:
            raise TransportError(f"could not access message {name!r} in bucket {self.url!r}: "
                                 f"{exc}") from exc

    def _local_write(self, name: str, fn, data: bytes):
        try:
            return self._local_call(name, fn, data)
        except FileNotFoundError as exc:  # the bucket folder itself was removed meanwhile
            raise TransportError(f"could not write message {name!r} in bucket {self.url!r}: {exc}") from exc

    def _put_via_temp(self, path: str, data: bytes) -> None:
        tmp_path = f"{path}{TMP_MARKER}{uuid.uuid4().hex}"
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
    def _read(self, name: str, path: str, max_bytes: int | None = None) -> str:
        """Read and decode `path`; ``FileNotFoundError`` passes through."""
        try:
            if self._local:
                data = self._local_call(name, safe_folder.read_bytes, max_bytes)
            else:
                data = self.fs.cat_file(path)
        except (FileNotFoundError, TransportError):
            raise
        except Exception as exc:
            raise TransportError(
                f"could not read message {name!r} from {self._display(path)!r}: {exc}"
            ) from exc
        if max_bytes is not None and len(data) > max_bytes:
            raise TransportError(f"message {name!r} is larger than {max_bytes} bytes")
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

    def get_text(self, name: str, max_bytes: int | None = None) -> str:
        """Read message `name`.

        Parameters
        ----------
        name : str
            Relative message name.
        max_bytes : int, optional
            Refuse (TransportError) a message longer than this.

        Returns
        -------
        str
            The message text.

        Raises
        ------
        BucketNameError
            If `name` is not a valid message name.
        UnsafePathError
            Local folder: `name` is, or goes through, a symbolic link.
        TransportError
            If there is no such message (the error names the path) or it
            could not be read.
        """
        path = self._path(name)
        try:
            return self._read(name, path, max_bytes)
        except FileNotFoundError as exc:
            raise self._missing(name) from exc

    def exists(self, name: str) -> bool:
        """Whether message `name` is in the bucket (a regular file, not a folder/prefix).

        Raises
        ------
        UnsafePathError
            Local folder: `name` is, or goes through, a symbolic link.
        """
        path = self._path(name)
        if self._local:
            return self._local_call(name, safe_folder.is_file)
        self._refresh(path)
        try:
            return bool(self.fs.isfile(path))
        except Exception as exc:
            raise TransportError(
                f"could not check message {name!r} at {self._display(path)!r}: {exc}"
            ) from exc

    def scan(self, prefix: str = "") -> list[str]:
        """Every key below `prefix`, valid message name or not (temporaries excepted).

        A server uses it to see what :meth:`list` hides (bad names, nested
        keys, symbolic links) so that it can set those aside by name.  Names
        are returned as stored; they may contain any character.
        """
        folder = self._check_prefix(prefix)
        if self._local:
            try:
                found = [name for name, _ in safe_folder.scan(self.url, folder)]
            except UnsafePathError:
                raise
            except OSError as exc:
                raise TransportError(f"could not list bucket {self.url!r}: {exc}") from exc
        else:
            found = self._find(folder)
        return sorted(n for n in found if n.startswith(prefix) and TMP_MARKER not in n.rpartition("/")[2])

    def _check_prefix(self, prefix: str) -> str:
        if not isinstance(prefix, str):
            raise BucketNameError(f"prefix must be a str, not {type(prefix).__name__}")
        if prefix.startswith("/"):
            raise BucketNameError(f"invalid prefix {prefix!r}: absolute paths are not allowed; {NAME_RULES}")
        folder, _, last = prefix.rpartition("/")
        for part in folder.split("/") if folder else []:
            check_part(part, "prefix", prefix)
        if last and not PART_RE.fullmatch(last):
            check_part(last, "prefix", prefix)
        return folder

    def _find(self, folder: str) -> list[str]:
        base = self._root.rstrip("/") + "/"
        search = base + folder if folder else self._root
        self._refresh()
        try:
            found = self.fs.find(search)
        except FileNotFoundError:
            found = []
        except Exception as exc:
            raise TransportError(f"could not list bucket {self.url!r}: {exc}") from exc
        return [path[len(base):] for path in found if path.startswith(base)]

    def list(self, prefix: str = "") -> list[str]:
        """Names of the messages whose name starts with `prefix`.

        Parameters
        ----------
        prefix : str, optional
            A plain string prefix, e.g. ``"queries/"``; empty lists all.

        Returns
        -------
        list of str
            Valid message names relative to the bucket, sorted (no temporary
            files, no symbolic links).

        Raises
        ------
        BucketNameError
            If `prefix` contains characters not allowed in names, is absolute
            or contains ``..``.
        """
        folder = self._check_prefix(prefix)
        if self._local:
            try:
                found = [n for n, is_link in safe_folder.scan(self.url, folder) if not is_link]
            except OSError as exc:
                raise TransportError(f"could not list bucket {self.url!r}: {exc}") from exc
        else:
            found = self._find(folder)
        return sorted(rel for rel in found if rel.startswith(prefix) and is_valid_name(rel))

    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Remove message `name` (in a folder, a symbolic link is removed, never its target).

        Raises
        ------
        TransportError
            If the message does not exist (unless `missing_ok`) or could not
            be removed.
        """
        path = self._path(name)
        if self._local:
            try:
                gone = self._local_call(name, safe_folder.remove)
            except FileNotFoundError:
                gone = False
            if not gone and not missing_ok:
                raise self._missing(name)
            return
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

    def remove_stale_temporaries(self, older_than: float = 3600.0) -> list[str]:
        """Delete ``*.tmp-*`` leftovers of killed writers, older than `older_than` seconds.

        Returns the names removed.  A live write keeps its temporary file for
        milliseconds, so any age of a minute or more never touches another
        process's write in progress.  (S3 writes are single PUTs and leave
        none; other fsspec filesystems may.)
        """
        if not older_than >= 0:
            raise BucketNameError(f"older_than must be >= 0 seconds, got {older_than!r}")
        if self._local:
            return safe_folder.remove_stale(self.url, older_than)
        now, removed = time.time(), []
        base = self._root.rstrip("/") + "/"
        self._refresh()
        for path, info in self.fs.find(self._root, detail=True).items():
            if TMP_MARKER not in path.rpartition("/")[2]:
                continue
            stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
            seconds = stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp or now)
            if now - seconds >= older_than:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm_file(path)
                    removed.append(path[len(base):])
        return removed

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
        ReplyTimeoutError
            If the message has not appeared after `timeout` seconds (also a
            TransportError and a TimeoutError).
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
                raise ReplyTimeoutError(
                    f"timed out after {timeout:g} s waiting for message {name!r} "
                    f"in bucket {self.url!r} (looked for {self._display(path)!r})"
                )
            time.sleep(min(poll, remaining))
