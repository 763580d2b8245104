"""Reading JSON that a user typed or a script sent: strict, and safe to echo back (pure).

Python's ``json`` module is lenient in ways that matter for trial data:

* a **duplicate key** is accepted and the last one wins, so a record holding
  ``"hypersensitivity": true`` and then ``"hypersensitivity": false`` reads as ``false``
  (an exclusion criterion silently dropped). :func:`loads_strict` refuses it at any depth,
  naming the key;
* text must be **UTF-8**: :func:`loads_strict` decodes bytes strictly (a stray ``0xff`` is bad
  input wherever it sits, an unknown key included) and refuses strings holding a lone
  surrogate, whether escaped in the JSON (``"\\udcff"``) or left by a lenient decoder.

:func:`shown` and :func:`label` make a key or value safe to put in a one-line message: at most
:data:`SHOWN_CHARS` characters with an ellipsis, control characters escaped, so a 500 kB key or
a terminal escape sequence never reaches stderr as such.

``NaN`` and ``Infinity`` are still decoded (as floats): the record parser rejects them naming
the field, which is a better message than a position in the file.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

SHOWN_CHARS: Final = 40
"""Keys and values echoed in warnings and errors are cut to this many characters."""

_PLAIN_NAME: Final = re.compile(rf"[A-Za-z0-9_.\-]{{1,{SHOWN_CHARS}}}")


class JsonInputError(ValueError):
    """Bytes or text that are not acceptable JSON input.

    ``str(error)`` is ``"<field>: <problem>"``, one line (``field`` is already made safe by
    :func:`label`; ``file`` when the problem is not inside one field).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class DuplicateKeyError(JsonInputError):
    """An object holds the same key twice; ``key`` is the key itself (not truncated)."""

    def __init__(self, key: str) -> None:
        super().__init__(label(key), "duplicate key (each field may appear once)")
        self.key = key


def shown(text: object, limit: int = SHOWN_CHARS) -> str:
    """``text`` quoted for a one-line message: cut to ``limit`` characters (``…`` marks the
    cut) and escaped like a Python literal (control characters, quotes, lone surrogates).

    >>> shown("bed_number")
    "'bed_number'"
    >>> shown("k" * 100, limit=5)
    "'kkkkk…'"
    >>> print(shown("\\x1b[31mred"))
    '\\x1b[31mred'
    """
    value = text if isinstance(text, str) else str(text)
    if len(value) > limit:
        value = value[:limit] + "…"
    return repr(value)


def label(key: object) -> str:
    """A field name for the start of a message: bare when it is a short plain name (letters,
    digits, ``_ . -``), otherwise :func:`shown`.

    >>> label("failed_asm_count")
    'failed_asm_count'
    >>> label("bed number")
    "'bed number'"
    """
    if isinstance(key, str) and _PLAIN_NAME.fullmatch(key):
        return key
    return shown(key)


def decode_utf8(data: bytes) -> str:
    """Decode ``data`` as strict UTF-8; :class:`JsonInputError` naming the first bad byte."""
    try:
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (invalid byte at offset {exc.start})"
        raise JsonInputError("file", problem) from None


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8", errors="strict")
    except UnicodeEncodeError:
        return False
    return True


def _require_utf8_strings(document: Any) -> None:
    """A ``\\ud800`` escape is valid JSON but no UTF-8 text, and a ``\\u0000`` escape is a
    NUL character that no identifier, code or text of the trial holds (PostgreSQL refuses it
    in a text value): refuse both in keys and strings.

    Iterative, so that a document nested as deeply as ``json`` allows cannot overflow here.
    """
    problem = "not UTF-8 text (lone surrogate)"
    nul = "a NUL character is not accepted"
    stack: list[tuple[str, Any]] = [("record", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if not _is_utf8(value):
                raise JsonInputError(where, problem)
            if "\x00" in value:
                raise JsonInputError(where, nul)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not _is_utf8(key):
                    raise JsonInputError(label(key), f"field name is {problem}")
                if "\x00" in key:
                    raise JsonInputError(label(key), f"field name: {nul}")
                stack.append((label(key), item))
        elif isinstance(value, list):
            stack.extend((where, item) for item in value)


def loads_strict(text: str | bytes) -> Any:
    """Decode one JSON document, refusing duplicate keys (at any depth) and non-UTF-8 text.

    Raises :class:`DuplicateKeyError` for a repeated key and :class:`JsonInputError` for
    bytes that are not UTF-8 or a string holding a lone surrogate or a NUL character; lets
    ``json.JSONDecodeError`` (malformed JSON), ``RecursionError`` (nesting too deep) and
    ``ValueError`` (e.g. an integer of more than 4300 digits) through for the caller.

    >>> loads_strict(b'{"a": 1, "b": {"a": 2}}')
    {'a': 1, 'b': {'a': 2}}
    >>> loads_strict(b'\\xef\\xbb\\xbf{"a": 1}')  # a UTF-8 byte-order mark is skipped
    {'a': 1}
    >>> loads_strict('{"a": true, "a": false}')
    Traceback (most recent call last):
    ...
    combat_norse.protocol.jsoninput.DuplicateKeyError: a: duplicate key (each field may appear once)
    """
    if isinstance(text, bytes | bytearray):
        text = decode_utf8(bytes(text))
    elif not _is_utf8(text):  # decoded elsewhere, e.g. with surrogateescape
        raise JsonInputError("file", "not UTF-8 text")
    # a byte-order mark, as Windows editors write one, is not part of the document
    text = text.removeprefix("\ufeff")
    document = json.loads(text, object_pairs_hook=_refuse_duplicates)
    _require_utf8_strings(document)
    return document
