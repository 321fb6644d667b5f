"""Training arithmetic: float32, or bfloat16 mixed precision where the CPU computes it natively.

Mixed precision (Keras policy ``mixed_bfloat16``) keeps every weight in float32 and computes the
layers in bfloat16 (8 bits of mantissa). For a binary network this changes little: the ±1
operands are exact, and a pre-activation ``y = K - 2 popcount`` stays exact up to ``|y| <= 256``,
beyond which only its rounding (never its sign) changes; the logits and the loss stay float32.
On CPUs with AMX or AVX512-BF16, oneDNN runs the (float) convolutions of training about 2x faster
(0.066 against 0.130 s per 128-image step of ``m4-32`` measured here); elsewhere bfloat16 is
emulated and slower, so ``auto`` only picks it where the CPU reports those instructions.

Training builds the model under the policy; the model that is evaluated, saved and exported is a
float32 copy with the same weights (:func:`float32_twin`), so nothing downstream sees bfloat16.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

from bnn_edge.errors import UserError

PRECISIONS = ("auto", "float32", "bfloat16")
#: /proc/cpuinfo flags of native bfloat16 arithmetic (Intel AMX, AVX512-BF16; Arm's ``bf16``)
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16", "bf16"})


def cpu_has_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether the CPU reports native bfloat16 instructions (Linux ``flags``/``Features`` lines)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features") and BF16_FLAGS & set(value.split()):
            return True
    return False


def resolve_precision(name: str, cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """``auto`` -> ``bfloat16`` where :func:`cpu_has_bf16`, else ``float32``; the others as given."""
    if name not in PRECISIONS:
        raise UserError(f"--precision {name}: expected one of {', '.join(PRECISIONS)}")
    if name == "auto":
        return "bfloat16" if cpu_has_bf16(cpuinfo) else "float32"
    return name


#: Keras' global policy for each resolved precision
_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


@contextlib.contextmanager
def training_policy(precision: str) -> Iterator[None]:
    """Build (and train) models inside: Keras' global policy is ``mixed_bfloat16`` for
    ``precision == "bfloat16"`` (``float32`` for ``"float32"``), and is restored on exit."""
    from bnn_edge.tfcompat import keras

    if precision not in _POLICIES:
        raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
    old = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(_POLICIES[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(old)


def is_mixed() -> bool:
    """Whether models built now compute in a lower precision than their float32 weights."""
    from bnn_edge.tfcompat import keras

    return keras.mixed_precision.global_policy().compute_dtype != "float32"


def float32_twin(model, build: Callable[[], object], always: bool = False):
    """``build()`` (called under the float32 policy) with ``model``'s weights: the float32 model
    to evaluate and save after a mixed-precision training (the weights themselves are float32).
    ``model`` itself when it is float32 already, unless ``always`` (``model`` is another graph with
    the same weights, e.g. the folded-gain training graph of :mod:`bnn_edge.models.build`)."""
    if not always and all(layer.dtype_policy.compute_dtype == "float32" for layer in model.layers):
        return model
    with training_policy("float32"):
        twin = build()
    twin.set_weights(model.get_weights())
    return twin
