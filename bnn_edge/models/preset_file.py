"""Network description files: ``--preset FILE`` with the fields of a built-in preset, in TOML or JSON.

A description file is data, never code. It holds the fields of :class:`bnn_edge.models.presets.Preset`
(``examples/digits-small.toml``)::

    name = "digits-small"              # optional (default: the file name without its suffix)
    description = "..."                # optional
    input_shape = [8, 8, 1]            # H, W, C of the pixels
    levels = 16                        # thermometer levels per channel, 1..vmax
    vmax = 16                          # largest pixel value
    depthwise_kernel = 2               # VALID depthwise "learnable pooling" after the last block
    latent = 128                       # bits of the binary latent (bottleneck width)
    hidden = 64                        # width of the classifier's non-linear path
    binary = true                      # optional; false = a float twin (not exportable)
    augment_pad = 0                    # optional; random-crop padding in pixels
    augment_flip = false               # optional; random horizontal flip
    ste_clip = 1.0                     # optional, (0, 16]: gradient window |x| <= ste_clip of the signs
    logit_scale = 1.0                  # optional, (0, 64]: multiplies the output gain 1/sqrt(5 fan_in N_c) (training loss only)

    [[blocks]]                         # one or more: 3x3 convolutions, then a 2x2 max-pool
    filters = [32, 32]
    groups = 1                         # optional; every filter count must be a multiple
    stride = 1                         # optional, 1..4: stride of the block's first convolution
    pool = true                        # optional; false: no max-pool at the end of the block

Each field is checked for its type and range; the first problem is a
:class:`bnn_edge.errors.UserError` naming the file and the field (``digits.toml: blocks[0].filters[1]:
expected an integer in 1..8192, got 0``), which the command line prints as one ``error:`` line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any, Mapping

from bnn_edge import jsontext
from bnn_edge.errors import UserError
from bnn_edge.models.presets import Block, Preset, check_fits

SUFFIXES = (".toml", ".json")
MAX_FILE_BYTES = 1024 * 1024  # a description is a few hundred bytes; refused before reading above this
FP_SUFFIX = "-fp"

#: thermometer bounds (also checked by the Thermometer layer of a model file's config)
MAX_LEVELS = 1024
MAX_VMAX = 65535

# (min, max) of the integer fields: generous, but they keep a typo from asking for terabytes
_RANGES: dict[str, tuple[int, int]] = {
    "levels": (1, MAX_LEVELS),
    "vmax": (1, MAX_VMAX),
    "depthwise_kernel": (1, 64),
    "latent": (1, 65536),
    "hidden": (1, 65536),
    "augment_pad": (0, 1024),
    "input_shape.HW": (1, 4096),
    "input_shape.C": (1, 64),
    "filters": (1, 8192),
    "groups": (1, 512),
    "stride": (1, 4),
}
_MAX_BLOCKS = 16
_MAX_CONVS = 16
_REQUIRED = ("input_shape", "levels", "vmax", "blocks", "depthwise_kernel", "latent", "hidden")
_FIELDS = tuple(f.name for f in dataclasses.fields(Preset))
_BLOCK_FIELDS = tuple(f.name for f in dataclasses.fields(Block))


def is_preset_file(name: str) -> bool:
    """Whether a ``--preset`` value names a file (a path or a .toml/.json name) rather than a built-in preset."""
    base = name[: -len(FP_SUFFIX)] if name.endswith(FP_SUFFIX) and name[: -len(FP_SUFFIX)].lower().endswith(SUFFIXES) else name
    return base.lower().endswith(SUFFIXES) or "/" in base or "\\" in base or Path(base).is_file()


def preset_label(name: str) -> str:
    """A directory-safe label for a ``--preset`` value: built-in names unchanged, a file by its base name."""
    if not is_preset_file(name):
        return name
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", Path(name).name) or "preset"


def load_preset_file(name: str) -> Preset:
    """Read and validate a description file; ``FILE-fp`` gives the float twin of equal memory."""
    if name.endswith(FP_SUFFIX) and not Path(name).is_file():
        from bnn_edge.models.presets import float_variant

        base = load_preset_file(name[: -len(FP_SUFFIX)])
        if not base.binary:
            raise UserError(f"{name[: -len(FP_SUFFIX)]}: binary = false already describes a float network; "
                            f"it has no '{FP_SUFFIX}' twin")
        return float_variant(base)
    return parse_preset(read_description(name), name)


def read_description(path: str) -> dict[str, Any]:
    """The raw table of a TOML (``.toml``, default) or JSON (``.json``) file; :class:`UserError` if unreadable."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"--preset {path}: no such file (and not a built-in preset)")
    if p.is_dir():
        raise UserError(f"--preset {path}: a directory, not a network description file")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} a network description may hold")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it as UTF-8 text ({getattr(exc, 'strerror', None) or exc})") from None
    if p.suffix.lower() == ".json":
        try:
            table = jsontext.parse(text)
        except jsontext.JSONTextError as exc:
            raise UserError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(table, dict):
            raise UserError(f"{path}: expected a JSON object with the preset's fields, got {_kind(table)}")
        return table
    import tomllib

    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise UserError(f"{path}: not valid TOML: nested too deeply (at most {jsontext.MAX_DEPTH} levels)") from None
    except ValueError as exc:  # Python's own limit: an integer of more than 4,300 digits
        raise UserError(f"{path}: not valid TOML: {' '.join(str(exc).split(':')[0].split())}") from None
    d = jsontext.depth(table)
    if d > jsontext.MAX_DEPTH:
        raise UserError(f"{path}: not valid TOML: nested {d} levels deep (at most {jsontext.MAX_DEPTH})")
    return table


def parse_preset(table: Mapping[str, Any], path: str) -> Preset:
    """A validated :class:`Preset` from the fields of a description file (``path`` is for messages)."""

    def fail(field: str, problem: str) -> UserError:
        return UserError(f"{path}: {field}: {problem}")

    unknown = [k for k in table if k not in _FIELDS]
    if unknown:
        raise fail(str(unknown[0]), f"unknown field (known: {', '.join(_FIELDS)})")
    for k in _REQUIRED:
        if k not in table:
            raise fail(k, "missing (required fields: " + ", ".join(_REQUIRED) + ")")

    def integer(field: str, value: Any, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
            raise fail(field, f"expected an integer in {lo}..{hi}, got {_show(value)}")
        if not lo <= int(value) <= hi:
            raise fail(field, f"expected an integer in {lo}..{hi}, got {_show(value)}")
        return int(value)

    def ranged(field: str) -> int:
        return integer(field, table[field], *_RANGES[field])

    def boolean(field: str, default: bool) -> bool:
        value = table.get(field, default)
        if not isinstance(value, bool):
            raise fail(field, f"expected true or false, got {_show(value)}")
        return value

    def positive(field: str, default: float, hi: float) -> float:
        value = table.get(field, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and 0 < value <= hi):
            raise fail(field, f"expected a number in (0, {hi:g}], got {_show(value)}")
        return float(value)

    def text(field: str, default: str, limit: int) -> str:
        value = table.get(field, default)
        if not isinstance(value, str) or (field == "name" and not value.strip()):
            raise fail(field, f"expected a{' non-empty' if field == 'name' else ''} string, got {_show(value)}")
        if len(value) > limit or any(ord(ch) < 32 for ch in value):
            raise fail(field, f"expected at most {limit} printable characters on one line")
        return value

    shape = table["input_shape"]
    hw, c = _RANGES["input_shape.HW"], _RANGES["input_shape.C"]
    if not isinstance(shape, list) or len(shape) != 3:
        raise fail("input_shape", f"expected [H, W, C] (three integers), got {_show(shape)}")
    input_shape = tuple(integer(f"input_shape[{i}]", v, *(c if i == 2 else hw)) for i, v in enumerate(shape))

    vmax = ranged("vmax")
    levels = ranged("levels")
    if levels > vmax:
        raise fail("levels", f"expected at most vmax = {vmax} thermometer levels, got {levels}")

    blocks_raw = table["blocks"]
    if not isinstance(blocks_raw, list) or not 1 <= len(blocks_raw) <= _MAX_BLOCKS:
        raise fail("blocks", f"expected a list of 1..{_MAX_BLOCKS} blocks ([[blocks]] tables in TOML), got {_show(blocks_raw)}")
    blocks = []
    for b, raw in enumerate(blocks_raw):
        where = f"blocks[{b}]"
        if not isinstance(raw, dict):
            raise fail(where, f"expected a table with filters (and groups), got {_show(raw)}")
        extra = [k for k in raw if k not in _BLOCK_FIELDS]
        if extra:
            raise fail(f"{where}.{extra[0]}", f"unknown field (known: {', '.join(_BLOCK_FIELDS)})")
        if "filters" not in raw:
            raise fail(f"{where}.filters", "missing (a list of filter counts, one per 3x3 convolution)")
        filters_raw = raw["filters"]
        if not isinstance(filters_raw, list) or not 1 <= len(filters_raw) <= _MAX_CONVS:
            raise fail(f"{where}.filters", f"expected a list of 1..{_MAX_CONVS} filter counts, got {_show(filters_raw)}")
        filters = tuple(integer(f"{where}.filters[{i}]", v, *_RANGES["filters"]) for i, v in enumerate(filters_raw))
        groups = integer(f"{where}.groups", raw.get("groups", 1), *_RANGES["groups"])
        for i, f in enumerate(filters):
            if f % groups:
                raise fail(f"{where}.filters[{i}]", f"{f} filters do not split into groups = {groups}")
        stride = integer(f"{where}.stride", raw.get("stride", 1), *_RANGES["stride"])
        pool = raw.get("pool", True)
        if not isinstance(pool, bool):
            raise fail(f"{where}.pool", f"expected true or false, got {_show(pool)}")
        blocks.append(Block(filters, groups, stride, pool))

    default_name = re.sub(r"\s+", "_", Path(path).stem) or "custom"
    p = Preset(
        name=text("name", default_name, 64),
        description=text("description", f"network described in {path}", 300),
        input_shape=input_shape,  # type: ignore[arg-type]
        levels=levels,
        vmax=vmax,
        blocks=tuple(blocks),
        depthwise_kernel=ranged("depthwise_kernel"),
        latent=ranged("latent"),
        hidden=ranged("hidden"),
        binary=boolean("binary", True),
        augment_pad=integer("augment_pad", table.get("augment_pad", 0), *_RANGES["augment_pad"]),
        augment_flip=boolean("augment_flip", False),
        ste_clip=positive("ste_clip", 1.0, 16.0),
        logit_scale=positive("logit_scale", 1.0, 64.0),
    )
    try:
        check_fits(p)
    except UserError as exc:
        raise UserError(f"{path}: blocks, depthwise_kernel: {exc}") from None
    return p


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
