"""Checks shared by the loaders: is a file UTF-8 text, and where is it not.

A CSV file that arrives by e-mail or from a download page is often something
else under a ``.csv`` name: an Excel workbook (a zip archive), a gzip file, a
UTF-16 export, or a text in a legacy 8-bit encoding.  :func:`sniff` looks at
the first bytes and names the problem; :func:`read_text` decodes a whole
(small) file strictly as UTF-8 (an optional byte-order mark is dropped); and
:func:`decoding_error` turns the ``UnicodeDecodeError`` of a reader into a
:class:`~encmed_lib.errors.DataFormatError` that gives the line and the byte.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataFormatError

_HEAD = 4096

# (leading bytes, what the file is)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed data (decompress it first, e.g. with gunzip)"),
    (b"PK\x03\x04", "a zip archive, such as an Excel .xlsx workbook (save the sheet as CSV UTF-8)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook (save the sheet as CSV UTF-8)"),
    (b"\xff\xfe", "UTF-16 text (save the file as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (save the file as UTF-8)"),
    (b"BZh", "bzip2-compressed data (decompress it first)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first)"),
)

EXPECTED = "a UTF-8 text (CSV) file"


def sniff(path: str | os.PathLike) -> None:
    """Refuse a file whose first bytes show that it is not UTF-8 text.

    Raises
    ------
    DataFormatError
        For compressed data, a zip or Excel workbook, UTF-16 text, or NUL
        bytes (binary data) in the first 4 KiB.
    """
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise DataFormatError(path, None, EXPECTED, what)
    if b"\x00" in head:
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise DataFormatError(path, None, EXPECTED, "a NUL byte (UTF-16 text or a binary file)", row=line)


def _bad_byte(path: Path, data: bytes, exc: UnicodeDecodeError, offset: int = 0) -> DataFormatError:
    position = offset + exc.start
    line = data.count(b"\n", 0, exc.start) + 1
    byte = exc.object[exc.start:exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
    return DataFormatError(path, None, EXPECTED + " (save it as CSV UTF-8)",
                           f"byte 0x{byte} at byte offset {position}, which is not UTF-8", row=line)


def read_text(path: str | os.PathLike) -> str:
    """The whole file decoded as UTF-8 (a leading byte-order mark removed).

    Raises
    ------
    DataFormatError
        As :func:`sniff`, or for the first byte sequence that is not UTF-8
        (the message gives its line and byte offset).
    """
    path = Path(path)
    sniff(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_byte(path, data, exc) from None


def decoding_error(path: str | os.PathLike) -> DataFormatError:
    """The :class:`DataFormatError` for the first non-UTF-8 byte of a (possibly large) file.

    Call it when a reader raised ``UnicodeDecodeError``: the file is scanned in
    blocks, so memory stays small, and the error names the line.
    """
    path = Path(path)
    lines = 0
    offset = 0
    carry = b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            data = carry + block
            try:
                data.decode("utf-8")
                carry = b""
            except UnicodeDecodeError as exc:
                cut = exc.reason == "unexpected end of data" and len(data) - exc.start < 4
                if exc.end == len(data) and cut:
                    carry = data[exc.start:]  # a character cut by the block boundary
                    data = data[:exc.start]
                else:
                    err = _bad_byte(path, data, exc, offset - len(carry))
                    err.row = (err.row or 1) + lines
                    return DataFormatError(path, None, err.expected, err.found, row=err.row)
            lines += data.count(b"\n")
            offset += len(block)
    return DataFormatError(path, None, EXPECTED, "bytes that are not UTF-8")
