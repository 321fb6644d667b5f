"""The on-device classifier head: an integer twin bit-exact with ``firmware/src/head/bnn_head.c`` and a
float32 reference of the same head.

Architecture (the seed paper's non-linear ternarized classifier, see ``firmware/HEAD.md``), on a
frozen binary latent ``z`` in {+-1}^N (``N = n_latent``, a multiple of 32)::

    h = sign(W1 z)            W1 in {+-1}^{H x N}, fixed (seeded PRNG or caller-given), sign(0) = +1
    c = [z; h]                C = N + H channels
    d = [c; c]                duplication: 2C channels
    logits = W2 d             W2 in {+-1}^{K x 2C}, rows = classes
           = (W2a + W2b) c    i.e. a ternary weight in {-2, 0, +2} per (class, channel)

Every binary weight ``w`` of W2 has a latent integer ``l`` with ``w = +1 if l >= 0 else -1``.
Packed, ``logit_k = 2C - 2 * (popcount(c ^ a_k) + popcount(c ^ b_k))``.

Learning, one SGD step on ``(z, y)`` over the ``n`` active classes (softmax cross-entropy with a
temperature ``T = 2**temp_shift``, straight-through estimator ``dw/dl = 1`` on the latents):

Integer (Q15 probabilities, exp LUT)::

    m = max_k logit_k;  j_k = ((m - logit_k) * 16) >> temp_shift
    E_k = EXP_LUT[j_k] if j_k < len(EXP_LUT) else 0,   EXP_LUT[j] = floor(32768 exp(-j/16) + 1/2)
    S = sum_k E_k;  p_k = floor((E_k * 32768 + floor(S/2)) / S)          (~ 32768 softmax_k)
    g_k = p_k - 32768 [k == y]                                            (~ 32768 dL/dlogit_k * T)
    s_k = rshift_round(g_k * lr_mul, lr_shift)                            (round half away from 0)
    l[k, i] = clamp(l[k, i] - s_k * d_i, -latent_clip, +latent_clip)      (saturating)

Float reference: the same with ``p = softmax((logit - m) / T)`` in float32,
``s_k = (p_k - [k == y]) * 32768 * lr_mul / 2**lr_shift`` and float32 latents (initialised to the
same integers, clipped to the same bound) -- so the two differ only by the LUT, the rounding of
``p`` and ``s`` and integer latents.

``learn(z, y)``: draw ``replay_k`` buffer slots, one SGD step on ``(z, y)``, one on each replayed
sample in draw order, then offer ``(z, y)`` to the buffer (CBRS). ``end_task()``: ``epochs``
passes over the buffer in Fisher-Yates order, one SGD step per sample, then ``tasks += 1``.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from bnn_edge.sim.prng import STREAM_BUFFER, STREAM_INIT, STREAM_W1, XorShift32, seed_stream
from bnn_edge.sim.replay import ReplayBuffer, replay_slots
from converters.bitpack import from_pm1, to_pm1

#: ``EXP_LUT[j] = round(32768 * exp(-j/16))``; entries past the end are 0. The C table is generated
#: from this one (``firmware/include/bnn/bnn_constants.h``, by ``python -m bnn_edge.codegen.constants``).
EXP_LUT_LEN = 178
EXP_LUT: tuple[int, ...] = tuple(int(math.floor(32768.0 * math.exp(-j / 16.0) + 0.5)) for j in range(EXP_LUT_LEN))
Q15_ONE = 32768

STATE_MAGIC = 0x53484E42  # b"BNHS" little-endian
STATE_VERSION = 1
STATE_HEADER_BYTES = 48
#: the compiled class ceiling of the C build (``BNN_HEAD_MAX_CLASSES`` default in bnn_head.h).
MAX_CLASSES_CEILING = 255


@dataclass(frozen=True)
class HeadConfig:
    """Head hyper-parameters; field-for-field the C ``bnn_head_config_t`` (same defaults as
    ``bnn_head_config_default``, checked by tests/test_head_c_vs_sim.py).

    ``max_classes`` rows of W2 are allocated (and initialised) up front; classes become active
    when a label first reaches them. Learning rate per step in latent units:
    ``|s| <= 32768 * lr_mul / 2**lr_shift``.
    """

    n_latent: int = 256
    n_hidden: int = 128
    max_classes: int = 10
    buffer_bytes: int = 4096
    replay_k: int = 2
    epochs: int = 6
    lr_mul: int = 1
    lr_shift: int = 10
    temp_shift: int = 5
    latent_clip: int = 2048
    init_range: int = 512
    seed: int = 1

    def __post_init__(self) -> None:
        if self.n_latent <= 0 or self.n_latent % 32 or self.n_latent > 0xFFE0:
            raise ValueError(f"n_latent must be a positive multiple of 32, got {self.n_latent}")
        if self.n_hidden < 0 or self.n_hidden % 32 or self.n_hidden > 0xFFE0:
            raise ValueError(f"n_hidden must be a multiple of 32 (0 allowed), got {self.n_hidden}")
        if not 1 <= self.max_classes <= MAX_CLASSES_CEILING:
            raise ValueError(f"max_classes must be in 1..{MAX_CLASSES_CEILING}")
        if not 0 <= self.replay_k <= 255 or not 0 <= self.epochs <= 255:
            raise ValueError("replay_k and epochs must be in 0..255")
        if not 1 <= self.lr_mul <= 32768 or not 0 <= self.lr_shift <= 30:
            raise ValueError("lr_mul must be in 1..32768 and lr_shift in 0..30")
        if not 0 <= self.temp_shift <= 16:
            raise ValueError("temp_shift must be in 0..16")
        if not 1 <= self.latent_clip <= 32767 or not 1 <= self.init_range <= self.latent_clip:
            raise ValueError("need 1 <= init_range <= latent_clip <= 32767")
        if replay_slots(self.n_latent, self.buffer_bytes) < 1:
            raise ValueError(
                f"buffer_bytes {self.buffer_bytes} is smaller than one sample "
                f"({self.n_latent // 8 + 1} B)"
            )

    @property
    def n_channels(self) -> int:
        """C = N + H."""
        return self.n_latent + self.n_hidden

    @property
    def n_slots(self) -> int:
        """Replay buffer capacity in samples."""
        return replay_slots(self.n_latent, self.buffer_bytes)


def rshift_round(x: np.ndarray, s: int) -> np.ndarray:
    """``x / 2**s`` rounded to nearest, ties away from zero (``s = 0``: identity); int64 in/out."""
    x = np.asarray(x, dtype=np.int64)
    if s == 0:
        return x
    half = 1 << (s - 1)
    return np.sign(x) * ((np.abs(x) + half) >> s)


def w1_from_seed(cfg: HeadConfig) -> np.ndarray:
    """W1 (``H x N/32`` words), row-major, one ``next_u32`` per word from stream ``STREAM_W1``."""
    rng = XorShift32(seed_stream(cfg.seed, STREAM_W1))
    w = cfg.n_latent // 32
    return np.array([rng.next_u32() for _ in range(cfg.n_hidden * w)], dtype=np.uint32).reshape(
        cfg.n_hidden, w
    )


def w1_from_pack(pack: Any) -> np.ndarray:
    """The trained hidden layer of the model pack's ternarized head, as the head's W1
    (``H x N/32`` words, bit 1 = -1): the weights of the BDENSE op that reads the pack's latent
    tensor and writes bits (``sign(W1 z)``: the export folds the layer's positive gain into the
    threshold, which must be ``N/2``, the head's ``popcount(w1_i ^ z) > N/2``). Read in place from
    the pack in flash on the device, so it costs no RAM. ``ValueError`` if the pack has no such
    layer (e.g. a pack exported without its classifier)."""
    from converters.bnnpack import DType, OpCode

    if not getattr(pack, "has_latent", False):
        raise ValueError("the pack has no latent tensor")
    lt = pack.latent_tensor
    n = int(pack.tensors[lt].c)
    for op in pack.ops:
        if op.type != OpCode.BDENSE or op.in0 != lt or pack.tensors[op.out].dtype != DType.BITS:
            continue
        cin, cout = int(op.params[0]), int(op.params[1])
        if cin != n or op.weights is None or op.thresholds is None:
            continue
        th = np.asarray(op.thresholds, dtype=np.int64).reshape(-1)
        if th.size != cout or np.any(th != n // 2):
            raise ValueError(f"the pack's hidden layer (op {pack.ops.index(op)}) thresholds are not N/2 = {n // 2}: "
                             "it is not the head's sign(W1 z)")
        if cout % 32:
            raise ValueError(f"the pack's hidden layer has {cout} units; the head needs a multiple of 32")
        return np.asarray(op.weights, dtype=np.uint32).reshape(cout, n // 32).copy()
    raise ValueError("the pack has no hidden layer on its latent (a BDENSE with bit outputs reading the latent tensor)")


def init_latents(cfg: HeadConfig) -> np.ndarray:
    """Initial W2 latents, ``int16[max_classes, 2C]``: class-major, values uniform in
    ``[-R, -1] u [1, R]`` (``R = init_range``): ``v = below(2R); v < R ? v - R : v - R + 1``."""
    rng = XorShift32(seed_stream(cfg.seed, STREAM_INIT))
    r = cfg.init_range
    n = cfg.max_classes * 2 * cfg.n_channels
    vals = np.empty(n, dtype=np.int16)
    for i in range(n):
        v = rng.below(2 * r)
        vals[i] = v - r if v < r else v - r + 1
    return vals.reshape(cfg.max_classes, 2 * cfg.n_channels)


def head_memory(cfg: HeadConfig, *, w1_in_ram: bool = True, control_bytes: int = 0) -> dict[str, int]:
    """Every byte of the head's RAM, as ``bnn_head_memory_required`` reports it in C.

    ``w1_bits`` is 0 when the caller keeps W1 elsewhere (e.g. in flash, ``w1_in_ram=False``).
    ``control_bytes`` is ``sizeof(bnn_head_t)`` of the target (printed by the C program).
    """
    wn = cfg.n_latent // 32
    wc = cfg.n_channels // 32
    k = cfg.max_classes
    slots = cfg.n_slots

    def a4(x: int) -> int:
        return (x + 3) & ~3

    mem = {
        "w1_bits": cfg.n_hidden * wn * 4 if w1_in_ram else 0,
        "w2_bits": k * 2 * wc * 4,
        "w2_latent": k * 2 * cfg.n_channels * 2,
        "buffer": slots * wn * 4 + a4(slots),
        "buffer_meta": k * 4 + a4(2 * k),
        "scratch": wc * 4 + 2 * k * 4 + a4(2 * slots) + a4(2 * cfg.replay_k),
        "control": control_bytes,
    }
    mem["arena"] = sum(v for key, v in mem.items() if key != "control")
    mem["total"] = mem["arena"] + control_bytes
    return mem


# ---------------------------------------------------------------------------------------------


@dataclass
class StepLog:
    """Optional trace of the samples the head trained on (buffer slot, or -1 for a new sample)."""

    slots: list[int] = field(default_factory=list)


class _HeadBase:
    """Shared machinery: W1, the replay buffer and its PRNG, class activation, the step order."""

    def __init__(self, cfg: HeadConfig, w1: Optional[np.ndarray] = None, trace: bool = False) -> None:
        self.cfg = cfg
        if w1 is None:
            self.w1_words = w1_from_seed(cfg)
            self.w1_in_ram = True
        else:
            w1 = np.asarray(w1, dtype=np.uint32)
            if w1.shape != (cfg.n_hidden, cfg.n_latent // 32):
                raise ValueError(f"w1 must have shape {(cfg.n_hidden, cfg.n_latent // 32)}")
            self.w1_words = w1.copy()
            self.w1_in_ram = False
        self.w1_pm1 = to_pm1(self.w1_words, cfg.n_latent, np.int32)  # (H, N)
        self.buffer = ReplayBuffer(
            cfg.n_latent, cfg.buffer_bytes, cfg.max_classes, XorShift32(seed_stream(cfg.seed, STREAM_BUFFER))
        )
        self.n_classes = 0
        self.tasks = 0
        self.steps = 0
        self.learned = 0
        self.trace: Optional[StepLog] = StepLog() if trace else None

    # -- forward --------------------------------------------------------------------------------
    def channels(self, z_pm1: np.ndarray) -> np.ndarray:
        """``c = [z; sign(W1 z)]`` as int32 +-1 (sign(0) = +1); batch-friendly (``(..., N)``)."""
        z = np.asarray(z_pm1, dtype=np.int32)
        if self.cfg.n_hidden == 0:
            return z
        h = np.where(z @ self.w1_pm1.T >= 0, 1, -1).astype(np.int32)
        return np.concatenate([z, h], axis=-1)

    def _ternary(self) -> np.ndarray:
        """``W2a + W2b`` of the active classes, int32 in {-2, 0, 2}, shape ``(n, C)``."""
        s = self._signs()[: self.n_classes]
        cc = self.cfg.n_channels
        return s[:, :cc] + s[:, cc:]

    def _signs(self) -> np.ndarray:
        raise NotImplementedError

    def logits_pm1(self, z_pm1: np.ndarray) -> np.ndarray:
        """Integer logits ``W2 [c; c]`` of the active classes for +-1 latents ``(..., N)``."""
        return self.channels(z_pm1) @ self._ternary().T

    def logits(self, latent_words: np.ndarray) -> np.ndarray:
        """Integer logits for bit-packed latents (``(W,)`` or ``(n, W)`` uint32)."""
        return self.logits_pm1(to_pm1(latent_words, self.cfg.n_latent))

    def predict(self, latent_words: np.ndarray) -> np.ndarray | int:
        """Argmax of :meth:`logits` over the active classes; ties go to the lowest class index."""
        if self.n_classes == 0:
            raise ValueError("no active class yet")
        lg = self.logits(latent_words)
        out = np.argmax(lg, axis=-1)
        return int(out) if np.ndim(out) == 0 else out

    # -- learning -------------------------------------------------------------------------------
    def _check_label(self, label: int) -> int:
        y = int(label)
        if not 0 <= y < self.cfg.max_classes:
            raise ValueError(f"label {y} is beyond max_classes {self.cfg.max_classes}")
        return y

    def _activate(self, y: int) -> None:
        if y + 1 > self.n_classes:
            self.n_classes = y + 1

    def _step(self, words: np.ndarray, y: int, slot: int) -> None:
        if self.trace is not None:
            self.trace.slots.append(slot)
        c = self.channels(to_pm1(words, self.cfg.n_latent))
        self._sgd(c, y)
        self.steps = (self.steps + 1) & 0xFFFFFFFF

    def _sgd(self, c: np.ndarray, y: int) -> None:
        raise NotImplementedError

    def buffer_add(self, latent_words: np.ndarray, label: int) -> int:
        """Offer a sample to the replay buffer without training (e.g. pre-training latents);
        activates its class. Returns the slot or -1."""
        y = self._check_label(label)
        self._activate(y)
        return self.buffer.insert(np.asarray(latent_words, dtype=np.uint32), y)

    def learn(self, latent_words: np.ndarray, label: int) -> None:
        """One on-device learning step: draws, new sample, replays, buffer offer (module doc)."""
        y = self._check_label(label)
        self._activate(y)
        words = np.asarray(latent_words, dtype=np.uint32)
        draws = self.buffer.draw(self.cfg.replay_k)
        self._step(words, y, -1)
        for s in draws:
            self._step(self.buffer.data[s], int(self.buffer.labels[s]), s)
        self.buffer.insert(words, y)
        self.learned = (self.learned + 1) & 0xFFFFFFFF

    def end_task(self) -> None:
        """``epochs`` shuffled passes over the buffer, one SGD step per stored sample."""
        for _ in range(self.cfg.epochs):
            for s in self.buffer.epoch_order():
                self._step(self.buffer.data[s], int(self.buffer.labels[s]), s)
        self.tasks = (self.tasks + 1) & 0xFFFF


class IntHead(_HeadBase):
    """Bit-exact twin of the C head: int16 latents, Q15 LUT softmax, saturating integer SGD."""

    def __init__(self, cfg: HeadConfig, w1: Optional[np.ndarray] = None, trace: bool = False) -> None:
        super().__init__(cfg, w1, trace)
        self.latent = init_latents(cfg)
        self._lut = np.array(EXP_LUT + (0,), dtype=np.int64)

    def _signs(self) -> np.ndarray:
        return np.where(self.latent >= 0, 1, -1).astype(np.int32)

    def w2_words(self) -> np.ndarray:
        """Bit-packed W2 (``max_classes x 2C/32`` words): bit 1 where the latent is negative."""
        return from_pm1(self._signs())

    def softmax_q15(self, logits: np.ndarray) -> np.ndarray:
        """Integer softmax of a logit vector: ``p_k`` in Q15 (module docstring)."""
        lg = np.asarray(logits, dtype=np.int64)
        t = lg.max() - lg
        j = np.minimum((t * 16) >> self.cfg.temp_shift, EXP_LUT_LEN)
        e = self._lut[j]
        s = int(e.sum())
        return (e * Q15_ONE + s // 2) // s

    def _sgd(self, c: np.ndarray, y: int) -> None:
        n = self.n_classes
        p = self.softmax_q15(c @ self._ternary().T)
        g = p.copy()
        g[y] -= Q15_ONE
        step = rshift_round(g * self.cfg.lr_mul, self.cfg.lr_shift)
        d = np.concatenate([c, c]).astype(np.int64)
        lat = self.latent[:n].astype(np.int64) - step[:, None] * d[None, :]
        clip = self.cfg.latent_clip
        self.latent[:n] = np.clip(lat, -clip, clip).astype(np.int16)

    # -- persistence ----------------------------------------------------------------------------
    def w1_crc(self) -> int:
        """CRC-32 (zlib) of W1's little-endian words; binds a stored state to its W1."""
        return zlib.crc32(self.w1_words.astype("<u4").tobytes()) & 0xFFFFFFFF

    def state_bytes(self) -> bytes:
        """The persisted state blob, byte-identical to ``bnn_head_state_read`` (layout: HEAD.md)."""
        cfg = self.cfg
        buf = self.buffer
        k = cfg.max_classes
        hdr = struct.pack(
            "<IHHHHHHIIHHIIHHII",
            STATE_MAGIC,
            STATE_VERSION,
            STATE_HEADER_BYTES,
            cfg.n_latent,
            cfg.n_hidden,
            k,
            buf.n_slots,
            self.w1_crc(),
            cfg.seed & 0xFFFFFFFF,
            self.n_classes,
            self.tasks,
            self.steps,
            buf.rng.state,
            buf.fill,
            0,
            self.learned,
            0,
        )
        assert len(hdr) == STATE_HEADER_BYTES

        def pad4(b: bytes) -> bytes:
            return b + b"\0" * (-len(b) % 4)

        parts = [
            hdr,
            buf.seen.astype("<u4").tobytes(),
            pad4(buf.count.astype("<u2").tobytes()),
            self.latent.astype("<i2").tobytes(),
            buf.data.astype("<u4").tobytes(),
            pad4(buf.labels.tobytes()),
        ]
        return b"".join(parts)


    def load_state_bytes(self, blob: bytes) -> None:
        """Restores a state blob (e.g. read from a device's flash with :mod:`bnn_edge.sim.store`).
        Raises ValueError for another shape/W1 or an inconsistent buffer, like
        ``bnn_head_state_finish``; latents are clamped to ``latent_clip``."""
        cfg = self.cfg
        if len(blob) != len(self.state_bytes()):
            raise ValueError("state blob size does not match this head's configuration")
        f = parse_state(blob, cfg.max_classes, cfg.n_channels, cfg.n_latent // 32)
        if (f["magic"], f["version"], f["header_bytes"]) != (STATE_MAGIC, STATE_VERSION, STATE_HEADER_BYTES):
            raise ValueError("not a head state (magic/version)")
        shape = (f["n_latent"], f["n_hidden"], f["max_classes"], f["n_slots"], f["w1_crc"])
        if shape != (cfg.n_latent, cfg.n_hidden, cfg.max_classes, cfg.n_slots, self.w1_crc()):
            raise ValueError("state made for another head shape or W1")
        fill = f["fill"]
        labels = f["labels"][:fill]
        counts = np.bincount(labels, minlength=cfg.max_classes)[: cfg.max_classes]
        if (
            f["n_classes"] > cfg.max_classes or fill > cfg.n_slots or f["rng_buf"] == 0
            or (fill > 0 and int(labels.max()) >= f["n_classes"])
            or not np.array_equal(counts, f["count"]) or np.any(counts > f["seen"])
        ):  # fmt: skip
            raise ValueError("inconsistent state (counters/buffer)")
        self.n_classes = f["n_classes"]
        self.tasks = f["tasks"]
        self.steps = f["steps"]
        self.learned = f["learned"]
        b = self.buffer
        b.rng.state = f["rng_buf"]
        b.fill = fill
        b.seen = f["seen"].astype(np.int64)
        b.count = f["count"].astype(np.int64)
        b.data = f["buffer"].astype(np.uint32).copy()
        b.labels = f["labels"].astype(np.uint8).copy()
        clip = cfg.latent_clip
        self.latent = np.clip(f["latent"].astype(np.int32), -clip, clip).astype(np.int16)


class FloatHead(_HeadBase):
    """Float32 reference: same head, buffer, replay stream and loss; float latents, exact softmax."""

    def __init__(self, cfg: HeadConfig, w1: Optional[np.ndarray] = None, trace: bool = False) -> None:
        super().__init__(cfg, w1, trace)
        self.latent = init_latents(cfg).astype(np.float32)
        self._lr = np.float32(Q15_ONE * cfg.lr_mul / (1 << cfg.lr_shift))
        self._inv_t = np.float32(1.0 / (1 << cfg.temp_shift))

    def _signs(self) -> np.ndarray:
        return np.where(self.latent >= 0, 1, -1).astype(np.int32)

    def softmax(self, logits: np.ndarray) -> np.ndarray:
        """float32 ``softmax(logits / T)``."""
        lg = np.asarray(logits, dtype=np.float32)
        e = np.exp((lg - lg.max()) * self._inv_t, dtype=np.float32)
        return (e / e.sum(dtype=np.float32)).astype(np.float32)

    def _sgd(self, c: np.ndarray, y: int) -> None:
        n = self.n_classes
        g = self.softmax(c @ self._ternary().T)
        g[y] -= np.float32(1.0)
        step = (g * self._lr).astype(np.float32)
        d = np.concatenate([c, c]).astype(np.float32)
        lat = self.latent[:n] - step[:, None] * d[None, :]
        clip = np.float32(self.cfg.latent_clip)
        self.latent[:n] = np.clip(lat, -clip, clip)


def parse_state(blob: bytes, max_classes: int, n_channels: int, words: int) -> dict[str, Any]:
    """Decode a state blob into its fields (diagnostics: which section differs)."""
    f = struct.unpack_from("<IHHHHHHIIHHIIHHII", blob, 0)
    names = (
        "magic version header_bytes n_latent n_hidden max_classes n_slots w1_crc seed "
        "n_classes tasks steps rng_buf fill reserved learned reserved2"
    ).split()
    out: dict[str, Any] = dict(zip(names, f))
    off = STATE_HEADER_BYTES
    k = max_classes
    out["seen"] = np.frombuffer(blob, "<u4", k, off)
    off += 4 * k
    out["count"] = np.frombuffer(blob, "<u2", k, off)
    off += (2 * k + 3) & ~3
    out["latent"] = np.frombuffer(blob, "<i2", k * 2 * n_channels, off).reshape(k, 2 * n_channels)
    off += 4 * k * n_channels
    slots = out["n_slots"]
    out["buffer"] = np.frombuffer(blob, "<u4", slots * words, off).reshape(slots, words)
    off += 4 * slots * words
    out["labels"] = np.frombuffer(blob, np.uint8, slots, off)
    return out
