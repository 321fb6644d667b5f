"""Hypothesis fuzzing of the converters and loaders: mutated, truncated and bit-flipped ``.tflite``
and ``.bnnpack`` files through ``read_tflite``/``describe_tflite``, ``lower``, ``read_pack``/
``describe`` and the ``bnn-edge inspect`` code path.

Every case must end in a clear error (a :class:`converters.errors.FormatError`) or a valid
result -- never in another exception, and never run past a per-case time limit.

The seeds are a real small LCE conversion and small packs kept in firmware/fuzz/corpus
(``firmware/fuzz/gen_seeds.py`` regenerates them). Environment knobs (``scripts/fuzz_smoke.py``
sets them; the defaults are the short run of ``make test``):

    BNN_FUZZ_EXAMPLES      Hypothesis examples per test (default 40)
    BNN_FUZZ_SEED          Hypothesis seed (default 0: deterministic)
    BNN_FUZZ_CASE_SECONDS  per-case time limit (default 10)
    BNN_FUZZ_STATS         file to which the executed case counts are appended as one JSON line
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from converters import bnnpack as bp
from converters import tflite_reader
from converters.errors import FormatError
from converters.lower import SUPPORTED, Lowered, LoweringError, Thermo, lower
from converters.tflite_reader import TFLGraph, describe_tflite, read_tflite

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "firmware" / "fuzz" / "corpus"
EXAMPLES = int(os.environ.get("BNN_FUZZ_EXAMPLES", "40"))
SEED = int(os.environ.get("BNN_FUZZ_SEED", "0"))
CASE_SECONDS = float(os.environ.get("BNN_FUZZ_CASE_SECONDS", "10"))
STATS = os.environ.get("BNN_FUZZ_STATS")

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the wall-clock limit below is a hard one (Hypothesis' deadline only reports afterwards)
    database=None,  # runs are reproduced by BNN_FUZZ_SEED, not by a local example database
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)

CASES: dict[str, int] = {}  # executed cases per test
OUTCOMES: dict[str, int] = {}  # how far the cases got (to see that the fuzzers reach the deep checks)

TFLITE_SEED = (CORPUS / "tflite" / "small.tflite").read_bytes()
_thermo = json.loads((CORPUS / "tflite" / "small.json").read_text())
THERMO = Thermo(_thermo["h"], _thermo["w"], _thermo["c"], _thermo["levels"], _thermo["thresholds"])
LATENT_HINT = _thermo["latent_hint"]
PACK_SEEDS = {p.name: p.read_bytes() for p in sorted((CORPUS / "pack").glob("*.bnnpack"))}


# ---------------------------------------------------------------------------------------------
# Harness: case counting and the hard per-case time limit
# ---------------------------------------------------------------------------------------------


class CaseTimeout(BaseException):
    """A case ran past BNN_FUZZ_CASE_SECONDS: a hang. A BaseException, so that no `except Exception`
    in the code under test can turn it into an ordinary error."""


@contextlib.contextmanager
def time_limit(seconds: float = CASE_SECONDS):
    def on_alarm(signum, frame):
        raise CaseTimeout(f"case ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if STATS:
        with open(STATS, "a") as f:
            f.write(json.dumps({"module": __name__, "cases": dict(CASES), "outcomes": dict(OUTCOMES)}) + "\n")


def _count(name: str) -> None:
    CASES[name] = CASES.get(name, 0) + 1


def _outcome(name: str) -> None:
    OUTCOMES[name] = OUTCOMES.get(name, 0) + 1


# ---------------------------------------------------------------------------------------------
# Mutations (positions are taken modulo the current length, so they shrink towards the start)
# ---------------------------------------------------------------------------------------------

_U32 = st.one_of(
    st.sampled_from([0, 1, 2, 3, 4, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]),
    st.integers(0, 64),
    st.integers(0, 0xFFFFFFFF),
)
# Positions: anywhere (uniform after the modulo), or in the first 512 bytes (a pack's header and
# tables, a flatbuffer's root tables).
_POS = st.one_of(st.integers(0, 0xFFFFFFFF), st.integers(0, 511))

_IN_PLACE = st.one_of(
    st.tuples(st.just("flip"), _POS, st.integers(0, 7)),
    st.tuples(st.just("byte"), _POS, st.integers(0, 255)),
    st.tuples(st.just("u32"), _POS, _U32),
)
_RESIZE = st.one_of(
    st.tuples(st.just("truncate"), _POS),
    st.tuples(st.just("delete"), _POS, st.integers(1, 64)),
    st.tuples(st.just("insert"), _POS, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("copy"), _POS, _POS, st.integers(1, 256)),
)
MUTATION = st.one_of(_IN_PLACE, _IN_PLACE, _IN_PLACE, _RESIZE)  # mostly in place: offsets stay meaningful
MUTATIONS = st.lists(MUTATION, min_size=1, max_size=6)


def mutate(data: bytes, mutations) -> bytes:
    b = bytearray(data)
    for m in mutations:
        kind, n = m[0], len(b)
        if n == 0:
            if kind == "insert":
                b += m[2]
            continue
        pos = m[1] % n
        if kind == "flip":
            b[pos] ^= 1 << m[2]
        elif kind == "byte":
            b[pos] = m[2]
        elif kind == "u32":
            pos &= ~3
            b[pos : pos + 4] = struct.pack("<I", m[2])[: n - pos]
        elif kind == "truncate":
            del b[pos:]
        elif kind == "delete":
            del b[pos : pos + m[2]]
        elif kind == "insert":
            b[pos:pos] = m[2]
        elif kind == "copy":
            src = m[2] % n
            b[pos : pos + m[3]] = b[src : src + m[3]]
    return bytes(b)


def fix_pack_crcs(data: bytes) -> bytes:
    """Recompute a mutated pack's CRCs (where the header allows) so the fuzzer reaches the deeper checks."""
    if len(data) < bp.HEADER_SIZE:
        return data
    b = bytearray(data)
    payload_size = struct.unpack_from("<I", b, 12)[0]  # FORMAT.md: payload_size @12, payload_crc32 @16
    if bp.HEADER_SIZE + payload_size <= len(b):
        struct.pack_into("<I", b, 16, zlib.crc32(b[bp.HEADER_SIZE : bp.HEADER_SIZE + payload_size]))
    struct.pack_into("<I", b, 60, zlib.crc32(b[:60]))
    return bytes(b)


# ---------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------


def lower_or_refuse(g: TFLGraph, tag: str) -> Lowered | None:
    """lower(g): the result, or None after a LoweringError (any other exception fails the case)."""
    try:
        return lower(g, THERMO, LATENT_HINT, {"fuzz": True})
    except FormatError:
        _outcome(f"{tag}_lowering_refused")
    return None


def check_tflite(data: bytes) -> None:
    """read_tflite -> describe_tflite -> lower -> write/read the pack: clear errors or valid results."""
    try:
        g = read_tflite(data)
    except FormatError:
        _outcome("tflite_refused")
        return
    json.dumps(describe_tflite(data), default=str)
    lowered = lower_or_refuse(g, "tflite")
    if lowered is None:
        return
    _outcome("tflite_lowered")
    packed = bp.write_pack(lowered.pack)  # lower() validated it: writing and reading back must work
    assert bp.read_pack(packed).ops == lowered.pack.ops


def check_pack(data: bytes) -> None:
    try:
        pack = bp.read_pack(data)
        _outcome("pack_valid")
    except FormatError as exc:
        pack = None
        _outcome("pack_refused_" + ("crc" if "CRC" in str(exc) else "other"))
    info = bp.describe(data)  # never raises: reports what it could decode
    json.dumps(info, default=str)
    assert info["valid"] == (pack is not None), info["error"]
    if pack is not None:
        assert bp.read_pack(bp.write_pack(pack)) == pack  # a pack that reads back writes identically


@FUZZ
@seed(SEED)
@given(mutations=MUTATIONS)
def test_fuzz_tflite_reader_and_lowering(mutations):
    data = mutate(TFLITE_SEED, mutations)
    _count("tflite")
    with time_limit():
        check_tflite(data)


@FUZZ
@seed(SEED + 1)
@given(name=st.sampled_from(sorted(PACK_SEEDS)), mutations=MUTATIONS, fix_crc=st.booleans())
def test_fuzz_pack_reader(name, mutations, fix_crc):
    data = mutate(PACK_SEEDS[name], mutations)
    if fix_crc:
        data = fix_pack_crcs(data)
    _count("pack")
    with time_limit():
        check_pack(data)


@FUZZ
@seed(SEED + 2)
@given(data=st.one_of(st.binary(max_size=256),
                      st.binary(max_size=256).map(lambda b: bp.MAGIC + b),
                      st.binary(max_size=256).map(lambda b: b[:4].ljust(4, b"\0") + b"TFL3" + b[4:])))
def test_fuzz_random_bytes(data):
    """Bytes from nowhere (with or without a plausible magic) through both readers."""
    _count("random")
    with time_limit():
        check_pack(data)
        check_tflite(data)


@FUZZ
@seed(SEED + 3)
@given(kind=st.sampled_from(["tflite", "pack"]), suffix=st.sampled_from([".tflite", ".bnnpack", ".bin"]),
       name=st.sampled_from(sorted(PACK_SEEDS)), mutations=MUTATIONS, fix_crc=st.booleans(), as_json=st.booleans())
def test_fuzz_inspect_command(tmp_path_factory, kind, suffix, name, mutations, fix_crc, as_json):
    """The `bnn-edge inspect` code path, in process: exit 0 with output, or exit 2 with one `error:` line."""
    from click.testing import CliRunner

    from bnn_edge.cli import main

    data = mutate(TFLITE_SEED if kind == "tflite" else PACK_SEEDS[name], mutations)
    if fix_crc and kind == "pack":
        data = fix_pack_crcs(data)
    path = tmp_path_factory.mktemp("inspect") / f"fuzzed{suffix}"
    path.write_bytes(data)
    _count("inspect")
    with time_limit():
        result = CliRunner().invoke(main, ["inspect", str(path)] + (["--json"] if as_json else []))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    if result.exit_code == 0:
        assert result.stdout.strip()
        if as_json:
            json.loads(result.stdout)
    else:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


# ---------------------------------------------------------------------------------------------
# Structure-aware: graphs as read_tflite returns them, mutated, straight into lower()
# ---------------------------------------------------------------------------------------------

BASE_GRAPH = read_tflite(TFLITE_SEED)
_LCE_KEYS = ["channels_in", "padding", "pad_values", "stride_height", "stride_width", "dilation_height_factor",
             "dilation_width_factor", "fused_activation_function", "filter_height", "filter_width"]
_OPT_KEYS = ["padding", "stride_h", "stride_w", "depth_multiplier", "fused_activation_function", "dilation_h",
             "dilation_w", "axis", "keep_num_dims"]
_DIM = st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 8, 31, 32, 33, 64, 1 << 16, 1 << 31])
_NUM = st.one_of(st.integers(-3, 70000), st.sampled_from([2**31 - 1, -(2**31), 2**40]),
                 st.floats(allow_nan=True, allow_infinity=True))
_NP = {0: np.float32, 2: np.int32, 3: np.uint8, 9: np.int8}


def _fill(rng_draw, dtype, size: int) -> np.ndarray:
    """Values of a constant tensor: ±magnitudes (what binary layers hold), noise, or extremes."""
    style = rng_draw(st.sampled_from(["pm1", "pm_s", "random", "zeros", "nan", "ints"]))
    r = np.random.default_rng(rng_draw(st.integers(0, 2**32 - 1)))
    if style == "pm1":
        v = np.where(r.random(size) < 0.5, -1.0, 1.0)
    elif style == "pm_s":
        v = np.where(r.random(size) < 0.5, -0.25, 0.25)
    elif style == "random":
        v = r.normal(size=size) * 3
    elif style == "zeros":
        v = np.zeros(size)
    elif style == "nan":
        v = r.choice([np.nan, np.inf, -np.inf, 0.5, -0.5], size)
    else:
        v = r.integers(-(2**31), 2**31 - 1, size)
    with np.errstate(all="ignore"):
        return v.astype(dtype)


def mutate_graph(draw, g: TFLGraph) -> TFLGraph:
    g = copy.deepcopy(g)
    nt = len(g.tensors)
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["input", "output", "shape", "data", "type", "custom", "option", "name",
                                     "drop_op", "dup_op", "swap_ops", "graph_io"]))
        if not g.ops:
            break
        k = draw(st.integers(0, len(g.ops) - 1))
        op = g.ops[k]
        if kind == "input" and op.inputs:
            op.inputs[draw(st.integers(0, len(op.inputs) - 1))] = draw(st.integers(-1, nt - 1))
        elif kind == "output":
            op.outputs[0] = draw(st.integers(0, nt - 1))
        elif kind in ("shape", "data", "type"):
            t = g.tensors[draw(st.integers(0, nt - 1))]
            if kind == "shape":
                t.shape = tuple(draw(st.lists(_DIM, max_size=5)))
            if kind == "type":
                t.type = draw(st.sampled_from(sorted(_NP)))
            size = math.prod(t.shape)
            if kind == "data" or t.data is not None:
                if 0 < size <= 4096 and all(d > 0 for d in t.shape) and draw(st.booleans()):
                    t.data = _fill(draw, _NP.get(t.type, np.float32), size).reshape(t.shape)
                else:
                    t.data = None
        elif kind == "custom":
            op.custom[draw(st.sampled_from(_LCE_KEYS))] = draw(_NUM)
        elif kind == "option":
            op.options[draw(st.sampled_from(_OPT_KEYS))] = draw(st.integers(-2, 70000))
        elif kind == "name":
            op.name = draw(st.sampled_from(SUPPORTED))
        elif kind == "drop_op":
            del g.ops[k]
        elif kind == "dup_op":
            g.ops.insert(k, copy.deepcopy(op))
        elif kind == "swap_ops":
            j = draw(st.integers(0, len(g.ops) - 1))
            g.ops[k], g.ops[j] = g.ops[j], g.ops[k]
        elif kind == "graph_io":
            which = g.inputs if draw(st.booleans()) else g.outputs
            which[:] = draw(st.lists(st.integers(0, nt - 1), max_size=2))
    for i, op in enumerate(g.ops):
        op.index = i
    return g


def readable(g: TFLGraph) -> bool:
    """Whether read_tflite could have returned g (the guarantees lower() may rely on)."""
    try:
        for op in g.ops:
            for j in op.inputs + op.outputs:
                if not -1 <= j < len(g.tensors):
                    return False
            tflite_reader._check_signature(op.index, op.name, op.inputs, op.outputs, op.custom, g.tensors)
        for t in g.tensors:
            if t.data is not None and (t.data.shape != tuple(t.shape) or t.data.dtype != _NP.get(t.type, t.data.dtype)):
                return False
    except FormatError:
        return False
    return all(0 <= j < len(g.tensors) for j in g.inputs + g.outputs)


@FUZZ
@seed(SEED + 4)
@given(data=st.data())
def test_fuzz_lowering_of_mutated_graphs(data):
    """Graphs read_tflite could return (op signatures hold), with mutated ops, shapes, options and
    constants: lower() must refuse them with a LoweringError or produce a pack that validates."""
    g = mutate_graph(data.draw, BASE_GRAPH)
    _count("graph")
    if not readable(g):
        _outcome("graph_unreadable")
        return
    with time_limit():
        lowered = lower_or_refuse(g, "graph")
        if lowered is None:
            return
        _outcome("graph_lowered")
        assert bp.read_pack(bp.write_pack(lowered.pack)) == lowered.pack


def _bias_of_wrong_length(g: TFLGraph) -> TFLGraph:
    g.tensors[11].type = 0  # LceBconv2d 1 gets a float output...
    g.ops[1].inputs[3] = 8  # ...with a 2-value post-activation bias (Cout = 32)
    g.ops[2].name = "LceQuantize"  # ...binarized by the next op
    return g


def _quantize_of_sign(g: TFLGraph) -> TFLGraph:
    g.ops[10].name, g.ops[10].inputs = "LceQuantize", [19]  # LceQuantize(SIGN(x)) without larq's ADD
    return g


@pytest.mark.parametrize("make", [_bias_of_wrong_length, _quantize_of_sign])
def test_malformed_graphs_found_by_fuzzing_are_refused(make):
    """Minimal cases the fuzzer once crashed lower() with (ValueError, TypeError): now LoweringErrors."""
    g = make(copy.deepcopy(BASE_GRAPH))
    assert readable(g)
    with pytest.raises(LoweringError):
        lower(g, THERMO, LATENT_HINT)


def test_seeds_are_valid_and_crc_fixing_keeps_them():
    """The fuzzers start from valid inputs, and the CRC fixer touches nothing else."""
    assert PACK_SEEDS and len(BASE_GRAPH.ops) > 10
    assert lower(BASE_GRAPH, THERMO, LATENT_HINT).pack.ops
    for name, data in PACK_SEEDS.items():
        bp.read_pack(data)
        assert fix_pack_crcs(data) == data, name
