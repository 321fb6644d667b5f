"""JSON text from files a user hands over (run.json, export.json, network descriptions, .keras configs).

``json.loads`` alone is not enough for such data: nesting deeper than Python's recursion limit
raises ``RecursionError`` (a traceback, not an error message), a nested structure just under that
limit makes every recursive reader after it fail the same way, and a duplicated key silently keeps
its last value (two readers of one file may disagree on what it says). :func:`parse` refuses all
three with :class:`JSONTextError` (a ``ValueError``), whose message says where; callers turn it
into their own one-line error naming the file.

Depth counts containers: ``1`` is depth 0, ``[1]`` depth 1, ``{"a": [1]}`` depth 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: deepest nesting accepted; a Keras model config is about 10 levels deep, the project's files fewer
MAX_DEPTH = 64
#: largest JSON file :func:`read` accepts (the project's own files are kilobytes; a .keras config a few MB)
MAX_BYTES = 16 * 1024 * 1024
MAX_INT_DIGITS = 64  # no field of ours needs more (a 64-bit integer has 20)


class JSONTextError(ValueError):
    """The text is not JSON this project reads (syntax, depth, duplicate key); the message says where."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONTextError(f"duplicate key {key!r} in one object")
        out[key] = value
    return out


def _int(text: str) -> int:
    """JSON integers up to :data:`MAX_INT_DIGITS` digits (Python refuses over 4,300 with a ValueError)."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONTextError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def depth(value: Any) -> int:
    """Nesting depth of containers in ``value`` (iterative: any depth is measured without recursion)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            d += 1
            deepest = max(deepest, d)
            stack.extend((x, d) for x in v if isinstance(x, (dict, list)))
    return deepest


def parse(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``text`` as JSON, or :class:`JSONTextError`: a syntax error (with line and column), a key
    given twice in one object, or containers nested more than ``max_depth`` deep."""
    try:
        value = json.loads(text, object_pairs_hook=_unique, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise JSONTextError(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise JSONTextError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise JSONTextError(f"nested too deeply (at most {max_depth} levels)") from None
    d = depth(value)
    if d > max_depth:
        raise JSONTextError(f"nested {d} levels deep (at most {max_depth})")
    return value


def read(path: str | Path, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """:func:`parse` of the file ``path``, its size checked before it is read. ``OSError`` as raised
    by the file system; :class:`JSONTextError` for a file over ``max_bytes`` or bad text."""
    p = Path(path)
    size = p.stat().st_size
    if size > max_bytes:
        raise JSONTextError(f"{size} bytes, more than the {max_bytes} a JSON file of this kind may hold")
    return parse(p.read_bytes(), max_depth)
