"""Run a whole :class:`converters.bnnpack.Pack` on a batch, bit-exact with the firmware."""

from __future__ import annotations

from typing import Any

import numpy as np

from converters.bnnpack import NO_TENSOR, OpSpec, Pack, TensorSpec, read_pack, validate_pack
from converters.ops import DType, OpCode

from .bconv2d import bconv2d
from .bdense import bdense
from .bdepthwise2d import bdepthwise2d
from .bmaxpool2d import bmaxpool2d
from .concat import concat
from .thermo_encode import thermo_encode

__all__ = ["run_pack", "run_op"]


def run_op(op: OpSpec, tensors: list[TensorSpec], values: dict[int, np.ndarray]) -> np.ndarray:
    """Execute one op on batched values (``values[tid]`` is ``[N, *storage_shape]``); return its output."""
    x = values[op.in0]
    t_in, t_out = tensors[op.in0], tensors[op.out]
    p = op.params
    out_bits = t_out.dtype == DType.BITS
    if op.type == OpCode.THERMO_ENCODE:
        return thermo_encode(x, op.thresholds)
    if op.type == OpCode.BCONV2D:
        return bconv2d(x, op.weights, op.thresholds if out_bits else None, cin=t_in.c, cout=t_out.c,
                       kh=p[0], kw=p[1], stride=(p[2], p[3]), dilation=(p[4], p[5]), padding=p[6],
                       groups=p[7], out_bits=out_bits)
    if op.type == OpCode.BMAXPOOL2D:
        return bmaxpool2d(x, kh=p[0], kw=p[1], stride=(p[2], p[3]), padding=p[4])
    if op.type == OpCode.BDEPTHWISE2D:
        return bdepthwise2d(x, op.weights, op.thresholds if out_bits else None, c=t_in.c, kh=p[0], kw=p[1],
                            stride=(p[2], p[3]), padding=p[4], out_bits=out_bits)
    if op.type == OpCode.BDENSE:
        return bdense(x, op.weights, op.thresholds if out_bits else None, cin=p[0], cout=p[1], out_bits=out_bits)
    if op.type == OpCode.CONCAT:
        return concat(x, values[op.in1], ca=t_in.c, cb=tensors[op.in1].c)
    raise ValueError(f"unknown op type {op.type}")


def run_pack(pack: Pack | bytes, inputs: np.ndarray, *, validate: bool = True) -> dict[str, Any]:
    """Run every op of ``pack`` in table order on a batch of inputs.

    ``inputs`` is the input tensor's storage value for each sample: ``[N, h, w, c]`` uint8 for
    a UINT8 input, ``[N, h, w, words(c)]`` u32 words for BITS (a single sample without the batch
    axis is accepted, and then the results have no batch axis either). ``pack`` may be the
    ``.bnnpack`` bytes.

    Returns ``{"output": [N, *storage_shape] of the output tensor, "latent": packed words of the
    latent tensor or None, "tensors": {tensor id: value}}`` with storage shapes ``[h, w,
    words(c)]`` (uint32) for BITS and ``[h, w, c]`` (int32) for INT32. Tensors no op wrote (and
    that are not the input) are absent.
    """
    if not isinstance(pack, Pack):
        pack = read_pack(pack)
    elif validate:
        validate_pack(pack)
    spec_in = pack.tensors[pack.input_tensor]
    x = np.asarray(inputs)
    single = x.ndim == 3
    if single:
        x = x[None]
    if x.ndim != 4 or tuple(x.shape[1:]) != spec_in.storage_shape:
        raise ValueError(f"inputs of shape {np.asarray(inputs).shape}, expected [N, {', '.join(map(str, spec_in.storage_shape))}]")
    if spec_in.dtype == DType.UINT8:
        if x.dtype != np.uint8:
            raise ValueError(f"the input tensor is UINT8, got {x.dtype}")
    elif spec_in.dtype == DType.BITS:
        x = x.astype(np.uint32)
    values: dict[int, np.ndarray] = {pack.input_tensor: x}
    for op in pack.ops:
        values[op.out] = run_op(op, pack.tensors, values)

    def get(tid: int) -> np.ndarray:
        v = values[tid]
        return v[0] if single else v

    return {
        "output": get(pack.output_tensor),
        "latent": get(pack.latent_tensor) if pack.latent_tensor != NO_TENSOR else None,
        "tensors": {tid: get(tid) for tid in values},
    }
