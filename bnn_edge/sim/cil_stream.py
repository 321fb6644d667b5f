"""Class-incremental streams for the on-device head: define them, run them through the Python
twin, and simulate whole scenarios (integer head vs float reference).

A :class:`CilStream` is a head configuration, a table of bit-packed latents and a list of ops:

=========  =====  ===========================================================================
op         code   meaning
=========  =====  ===========================================================================
ADD        1      ``bnn_head_buffer_add(latent, label)`` (pre-training latents, no training)
LEARN      2      ``bnn_head_learn(latent, label)``
END_TASK   3      ``bnn_head_end_task()``
PREDICT    4      ``bnn_head_predict(latent)`` -> one query result
COMMIT     5      ``bnn_store_commit`` to a RAM flash, reload into a second head, compare
=========  =====  ===========================================================================

:func:`run_sim_stream` runs a stream through the Python twin; :mod:`bnn_edge.device.cil_app`
embeds the same stream in the C application (``firmware/app/cil_main.c``), runs it on the host or
an emulated Cortex-M and parses its output. Their :class:`StreamResult` s must be equal
(predictions and every byte of the final state).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from bnn_edge.sim.head import FloatHead, HeadConfig, IntHead, head_memory
from converters.bitpack import from_pm1, pack_bits

OP_ADD = 1
OP_LEARN = 2
OP_END_TASK = 3
OP_PREDICT = 4
OP_COMMIT = 5

#: ``sizeof(bnn_head_t)`` on 32-bit Cortex-M; checked by the Cortex-M test of the C head.
CONTROL_BYTES_CORTEX_M = 200

#: ``bnn_status_t`` codes (firmware/include/bnn/bnn_status.h) that ``cil_main`` prints in its E lines.
STATUS_OP_TYPE = 18  # BNN_ERR_OP_TYPE: not a stream op
STATUS_LABEL = 33  # BNN_ERR_LABEL
STATUS_EMPTY = 35  # BNN_ERR_EMPTY


@dataclass
class CilStream:
    """A head configuration, latents ``(n, N/32)`` uint32 and ops ``(op, sample, label)``;
    ``w1`` (``H x N/32`` words) is the head's hidden layer when given (e.g. the pack's trained
    one, :func:`bnn_edge.sim.head.w1_from_pack`: a ``const`` array in flash on the device), else
    the head draws W1 from its PRNG into RAM."""

    config: HeadConfig
    latents: np.ndarray
    ops: list[tuple[int, int, int]] = field(default_factory=list)
    flash_page: int = 1024
    flash_prog_unit: int = 8
    w1: Optional[np.ndarray] = None

    def add_sample(self, latent_words: np.ndarray) -> int:
        """Append one latent to the table; returns its index."""
        w = np.asarray(latent_words, dtype=np.uint32).reshape(1, -1)
        self.latents = np.concatenate([self.latents, w]) if self.latents.size else w
        return len(self.latents) - 1

    @property
    def n_queries(self) -> int:
        return sum(1 for op, _, _ in self.ops if op == OP_PREDICT)

    def flash_pages(self) -> int:
        """Pages of the simulated flash: two slots, each big enough for header + state blob."""
        state = state_size(self.config)
        per_slot = -(-(32 + state + self.flash_prog_unit) // self.flash_page)
        return 2 * per_slot


def state_size(cfg: HeadConfig) -> int:
    """Bytes of the state blob (``bnn_head_state_size``)."""
    k = cfg.max_classes
    slots = cfg.n_slots
    a4 = lambda x: (x + 3) & ~3  # noqa: E731
    return 48 + 4 * k + a4(2 * k) + 4 * k * cfg.n_channels + 4 * slots * (cfg.n_latent // 32) + a4(slots)


def make_stream(
    cfg: HeadConfig,
    tasks: Sequence[tuple[np.ndarray, np.ndarray]],
    queries: Optional[np.ndarray] = None,
    *,
    pretrain_in_buffer: bool = True,
    commit_after_task: bool = False,
) -> CilStream:
    """The standard scenario as a stream. Task 0 (pre-training classes): every latent is
    ``ADD``-ed to the buffer then ``END_TASK`` trains the head from the buffer (or, with
    ``pretrain_in_buffer=False``, task 0 is learned like the others). Tasks 1..: ``LEARN`` each
    sample, ``END_TASK``. After every task: ``PREDICT`` every query (and ``COMMIT`` if asked).
    Latents are packed words ``(n, N/32)``."""
    lat: list[np.ndarray] = []
    ops: list[tuple[int, int, int]] = []
    n = 0
    q_idx: list[int] = []
    if queries is not None:
        qs = np.asarray(queries, dtype=np.uint32)
        lat.append(qs)
        q_idx = list(range(len(qs)))
        n = len(qs)
    for t, (x, y) in enumerate(tasks):
        x = np.asarray(x, dtype=np.uint32)
        lat.append(x)
        op = OP_ADD if (t == 0 and pretrain_in_buffer) else OP_LEARN
        for i, label in enumerate(np.asarray(y)):
            ops.append((op, n + i, int(label)))
        n += len(x)
        ops.append((OP_END_TASK, 0, 0))
        ops.extend((OP_PREDICT, q, 0) for q in q_idx)
        if commit_after_task:
            ops.append((OP_COMMIT, 0, 0))
    words = cfg.n_latent // 32
    latents = np.concatenate(lat) if lat else np.zeros((0, words), np.uint32)
    return CilStream(cfg, latents.reshape(-1, words), ops)


@dataclass
class StreamResult:
    """What a run of a stream produced (C program or Python twin)."""

    predictions: np.ndarray
    state: bytes
    state_crc: int
    mem: dict[str, int]
    errors: list[tuple[int, int]] = field(default_factory=list)
    commits: list[dict[str, int]] = field(default_factory=list)
    ticks: dict[str, int] = field(default_factory=dict)
    flash_headers: list[bytes] = field(default_factory=list)
    stdout: str = ""


def run_sim_stream(stream: CilStream, head: Optional[IntHead | FloatHead] = None) -> StreamResult:
    """Runs a stream through the Python integer twin (``COMMIT`` records a successful roundtrip).

    ``head`` may also be a :class:`FloatHead` (the float reference on the same stream): its result
    has the same predictions layout and an empty ``state``."""
    h = head if head is not None else IntHead(stream.config, stream.w1)
    preds: list[int] = []
    errors: list[tuple[int, int]] = []
    commits: list[dict[str, int]] = []
    for i, (op, sample, label) in enumerate(stream.ops):
        z = stream.latents[sample] if len(stream.latents) else None
        try:
            if op == OP_ADD:
                h.buffer_add(z, label)
            elif op == OP_LEARN:
                h.learn(z, label)
            elif op == OP_END_TASK:
                h.end_task()
            elif op == OP_PREDICT:
                preds.append(int(h.predict(z)) if h.n_classes else -1)
                if not h.n_classes:
                    errors.append((i, STATUS_EMPTY))
            elif op == OP_COMMIT:
                commits.append({"op": i, "status": 0, "roundtrip": 1})
            else:
                errors.append((i, STATUS_OP_TYPE))
        except ValueError:
            errors.append((i, STATUS_LABEL))
    state = h.state_bytes() if isinstance(h, IntHead) else b""
    return StreamResult(
        predictions=np.array(preds, dtype=np.int64),
        state=state,
        state_crc=zlib.crc32(state) & 0xFFFFFFFF,
        mem=head_memory(stream.config, w1_in_ram=h.w1_in_ram),
        errors=errors,
        commits=commits,
    )


# ---------------------------------------------------------------------------------------------
# scenarios


def as_packed(latents: np.ndarray, n_latent: Optional[int] = None) -> np.ndarray:
    """Latents as packed words ``(n, N/32)`` uint32 (FORMAT.md packing). Accepts:

    - packed words: uint32, or any other integer dtype whose values are not all in {-1, 0, 1}
      (e.g. LCE's int32 words), reinterpreted as uint32;
    - bits: bool / uint8 arrays ``(n, N)``, 1 (True) meaning -1;
    - values: float or signed integer ``(n, N)``, negative meaning -1 (sign(0) = +1).
    """
    x = np.asarray(latents)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.dtype == np.uint32 and (n_latent is None or x.shape[-1] == n_latent // 32):
        return x.reshape(len(x), -1)
    if x.dtype in (np.bool_, np.uint8):
        return pack_bits(x.astype(bool))
    if np.issubdtype(x.dtype, np.integer) and not np.all(np.isin(x, (-1, 0, 1))):
        return x.astype(np.int64).astype(np.uint32) if x.dtype != np.int32 else x.view(np.uint32)
    return from_pm1(x)


def _acc(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(pred == y)) if len(y) else float("nan")


def task_orders(
    labels_by_task: Sequence[np.ndarray], *, shots: Optional[int] = None, seed: int = 0
) -> list[np.ndarray]:
    """The order in which each task's samples reach the head (the scenario's one definition,
    shared by :func:`simulate_cil` and :func:`protocol_stream`): per task a permutation from
    ``numpy.random.default_rng(seed)`` (one generator for all tasks, in task order); for tasks 1..
    with ``shots``, only the first ``shots`` samples of each class in that order are kept."""
    rng = np.random.default_rng(seed)
    out = []
    for t, y in enumerate(labels_by_task):
        y = np.asarray(y)
        order = rng.permutation(len(y))
        if t > 0 and shots is not None:
            keep, per = [], {}
            for i in order:
                c = int(y[i])
                if per.get(c, 0) < shots:
                    keep.append(i)
                    per[c] = per.get(c, 0) + 1
            order = np.array(keep, dtype=np.int64)
        out.append(order)
    return out


@dataclass
class ProtocolStream:
    """:func:`protocol_stream`'s result: the stream and how to read its predictions back."""

    stream: CilStream
    #: per task t, the query indices (rows of ``test_x`` concatenated) predicted after task t
    queries_after: list[np.ndarray]
    #: the task each query belongs to, and its true label
    query_task: np.ndarray
    query_label: np.ndarray
    trained_per_task: list[int]

    def accuracy_matrix(self, predictions: np.ndarray) -> np.ndarray:
        """``a[i][j]``: accuracy on task j's test samples after task i (NaN for j > i), from the
        predictions of a run of :attr:`stream` (C program, twin or float reference)."""
        t_n = len(self.queries_after)
        acc = np.full((t_n, t_n), np.nan)
        pos = 0
        for i, q in enumerate(self.queries_after):
            p = np.asarray(predictions[pos : pos + len(q)])
            pos += len(q)
            for j in range(i + 1):
                m = self.query_task[q] == j
                if m.any():
                    acc[i, j] = float(np.mean(p[m] == self.query_label[q][m]))
        return acc

    def final_accuracy(self, predictions: np.ndarray) -> float:
        """Accuracy over every query (all tasks, i.e. all classes seen) after the last task."""
        q = self.queries_after[-1]
        p = np.asarray(predictions[len(predictions) - len(q) :])
        return _acc(p, self.query_label[q])


def protocol_stream(
    config: HeadConfig,
    latents_by_task: Sequence[np.ndarray],
    labels_by_task: Sequence[np.ndarray],
    test_latents_by_task: Sequence[np.ndarray],
    test_labels_by_task: Sequence[np.ndarray],
    *,
    shots: Optional[int] = None,
    seed: int = 0,
    commit_after_task: bool = True,
) -> ProtocolStream:
    """:func:`simulate_cil`'s scenario as one stream, so that the C program, the integer twin and
    the float reference run exactly the same ops: task 0 ``ADD`` s its samples then ``END_TASK``;
    tasks 1.. ``LEARN`` each sample then ``END_TASK``; after task t every test latent of tasks
    0..t is ``PREDICT`` ed (and the state is ``COMMIT`` ted to the simulated flash if asked).
    Sample orders: :func:`task_orders`."""
    train_x = [as_packed(x, config.n_latent) for x in latents_by_task]
    test_x = [as_packed(x, config.n_latent) for x in test_latents_by_task]
    train_y = [np.asarray(y, dtype=np.int64) for y in labels_by_task]
    test_y = [np.asarray(y, dtype=np.int64) for y in test_labels_by_task]
    if not (len(train_x) == len(train_y) == len(test_x) == len(test_y)) or not train_x:
        raise ValueError("need train and test latents and labels for every task, at least one task")
    orders = task_orders(train_y, shots=shots, seed=seed)
    words = config.n_latent // 32
    q_lat = np.concatenate(test_x).reshape(-1, words)
    q_task = np.concatenate([np.full(len(y), t, np.int64) for t, y in enumerate(test_y)])
    q_label = np.concatenate(test_y)
    n_q = len(q_lat)
    lat = [q_lat]
    ops: list[tuple[int, int, int]] = []
    queries_after = []
    base = n_q
    for t, (x, y) in enumerate(zip(train_x, train_y)):
        lat.append(x.reshape(-1, words))
        op = OP_ADD if t == 0 else OP_LEARN
        ops.extend((op, base + int(i), int(y[i])) for i in orders[t])
        base += len(x)
        ops.append((OP_END_TASK, 0, 0))
        q = np.flatnonzero(q_task <= t)
        queries_after.append(q)
        ops.extend((OP_PREDICT, int(i), 0) for i in q)
        if commit_after_task:
            ops.append((OP_COMMIT, 0, 0))
    stream = CilStream(config, np.concatenate(lat).astype(np.uint32), ops)
    return ProtocolStream(stream, queries_after, q_task, q_label, [len(o) for o in orders])


def simulate_cil(
    latents_by_task: Sequence[np.ndarray],
    labels_by_task: Sequence[np.ndarray],
    test_latents_by_task: Optional[Sequence[np.ndarray]] = None,
    test_labels_by_task: Optional[Sequence[np.ndarray]] = None,
    *,
    config: Optional[HeadConfig] = None,
    buffer_bytes: int = 4096,
    ram_bytes: int = 65536,
    shots: Optional[int] = None,
    seed: int = 0,
    n_hidden: int = 128,
    w1: Optional[np.ndarray] = None,
    control_bytes: int = CONTROL_BYTES_CORTEX_M,
) -> dict[str, Any]:
    """On-device class-incremental learning, integer head (bit-exact with the firmware) and its
    float32 reference on the same replay stream.

    Protocol: task 0 holds the pre-training classes; the head is reset, their latents are offered
    to the buffer (``buffer_add``, CBRS keeps a class-balanced subset) and ``end_task`` trains
    the head on the buffer. Each later task: ``learn`` on every sample (at most ``shots`` per
    class when given), then ``end_task``. Sample order within a task is a permutation drawn from
    ``numpy.random.default_rng(seed)``; the head's PRNG seed is ``config.seed`` (default: seed).

    Accuracy matrix ``a[i][j]``: accuracy on task j's test samples after task i (NaN for j > i).
    ``final_acc``: accuracy over the test samples of every task after the last one (i.e. over all
    classes, sample-weighted); ``final_acc_deploy``: the same over tasks 1.. only.
    ``ram``: every byte the head uses on a 32-bit Cortex-M; ``fits``: ``ram['total'] <= ram_bytes``.
    Without test sets, the training sets are used for evaluation (said in ``eval_on``).
    """
    if len(latents_by_task) != len(labels_by_task) or not latents_by_task:
        raise ValueError("need one labels array per latents array, and at least one task")
    train_x = [as_packed(x) for x in latents_by_task]
    words = train_x[0].shape[1]
    train_y = [np.asarray(y, dtype=np.int64) for y in labels_by_task]
    eval_on = "test"
    if test_latents_by_task is None or test_labels_by_task is None:
        test_x, test_y, eval_on = train_x, train_y, "train"
    else:
        test_x = [as_packed(x) for x in test_latents_by_task]
        test_y = [np.asarray(y, dtype=np.int64) for y in test_labels_by_task]
    n_classes = int(max(int(y.max()) for y in train_y if len(y))) + 1
    if config is None:
        config = HeadConfig(
            n_latent=32 * words, n_hidden=n_hidden, max_classes=n_classes,
            buffer_bytes=buffer_bytes, seed=seed,
        )  # fmt: skip
    heads: dict[str, Any] = {"int": IntHead(config, w1), "float": FloatHead(config, w1)}
    t_n = len(train_x)
    acc = {k: np.full((t_n, t_n), np.nan) for k in heads}
    orders = task_orders(train_y, shots=shots, seed=seed)
    trained = [len(o) for o in orders]
    for t in range(t_n):
        x, y = train_x[t], train_y[t]
        order = orders[t]
        for h in heads.values():
            for i in order:
                (h.buffer_add if t == 0 else h.learn)(x[i], int(y[i]))
            h.end_task()
        for name, h in heads.items():
            for j in range(t + 1):
                acc[name][t, j] = _acc(h.predict(test_x[j]), test_y[j]) if len(test_y[j]) else np.nan
    out: dict[str, Any] = {"config": config, "eval_on": eval_on, "trained_per_task": trained}
    all_x = np.concatenate(test_x)
    all_y = np.concatenate(test_y)
    dep_x = np.concatenate(test_x[1:]) if t_n > 1 else all_x[:0]
    dep_y = np.concatenate(test_y[1:]) if t_n > 1 else all_y[:0]
    for name, h in heads.items():
        out[f"acc_{name}"] = acc[name]
        out[f"final_acc_{name}"] = _acc(h.predict(all_x), all_y)
        out[f"final_acc_deploy_{name}"] = _acc(h.predict(dep_x), dep_y) if len(dep_y) else float("nan")
        diag = np.array([np.nanmean(acc[name][i, : i + 1]) for i in range(t_n)])
        out[f"avg_incremental_acc_{name}"] = float(diag.mean())
        if t_n > 1:
            forg = [np.nanmax(acc[name][j:-1, j]) - acc[name][-1, j] for j in range(t_n - 1)]
            out[f"forgetting_{name}"] = float(np.mean(forg))
            out[f"bwt_{name}"] = float(np.mean([acc[name][-1, j] - acc[name][j, j] for j in range(t_n - 1)]))
    out["gap"] = out["final_acc_float"] - out["final_acc_int"]
    ram = head_memory(config, w1_in_ram=w1 is None, control_bytes=control_bytes)
    out["ram"] = ram
    out["fits"] = ram["total"] <= ram_bytes
    out["ram_bytes"] = ram_bytes
    out["int_head"] = heads["int"]
    out["float_head"] = heads["float"]
    return out


def synthetic_latents(
    n_latent: int = 256,
    n_classes: int = 10,
    *,
    seed: int = 0,
    flip: tuple[float, float] = (0.15, 0.25),
    correlated: Sequence[tuple[int, int]] = ((0, 5), (1, 6), (2, 7), (3, 8), (5, 9)),
    corr_flip: float = 0.08,
    train_per_class: tuple[int, int] = (100, 180),
    test_per_class: int = 100,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Synthetic binary latents: a random +-1 prototype per class; for each pair ``(a, b)`` in
    ``correlated``, prototype b = prototype a with a fraction ``corr_flip`` of its bits flipped
    (applied in order, so chains are possible); each sample = its prototype with every bit flipped
    with a per-sample probability drawn uniformly from ``flip``. Train counts per class are drawn
    from ``train_per_class`` (inclusive low, exclusive high). Returns packed ``(train_x_by_class,
    train_y_by_class, test_x_by_class, test_y_by_class)``, one entry per class."""
    rng = np.random.default_rng(seed)
    protos = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_classes, n_latent))
    for a, b in correlated:
        if a < n_classes and b < n_classes:
            m = rng.random(n_latent) < corr_flip
            protos[b] = np.where(m, -protos[a], protos[a])

    def gen(c: int, n: int) -> np.ndarray:
        p = rng.uniform(flip[0], flip[1], size=(n, 1))
        f = rng.random((n, n_latent)) < p
        return from_pm1(np.where(f, -protos[c], protos[c]))

    tr_x, tr_y, te_x, te_y = [], [], [], []
    for c in range(n_classes):
        n = int(rng.integers(train_per_class[0], train_per_class[1]))
        tr_x.append(gen(c, n))
        tr_y.append(np.full(n, c, dtype=np.int64))
        te_x.append(gen(c, test_per_class))
        te_y.append(np.full(test_per_class, c, dtype=np.int64))
    return tr_x, tr_y, te_x, te_y


def group_tasks(
    per_class: Sequence[np.ndarray], tasks: Sequence[Sequence[int]]
) -> list[np.ndarray]:
    """Concatenates per-class arrays into per-task arrays (``tasks`` lists class ids per task)."""
    return [np.concatenate([per_class[c] for c in t]) for t in tasks]


DIGITS_TASKS: tuple[tuple[int, ...], ...] = ((0, 1, 2, 3, 4), (5,), (6,), (7,), (8,), (9,))
