"""Training arithmetic (bnn_edge.precision): which CPUs get bfloat16, and that a mixed-precision
training saves the same float32 model that export reads."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bnn_edge.errors import UserError
from bnn_edge.precision import cpu_has_bf16, float32_twin, resolve_precision, training_policy

X86_AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f amx_bf16 amx_tile\n"
X86_OLD = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"
ARM_BF16 = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n"


@pytest.mark.parametrize("text, has", [(X86_AMX, True), (X86_OLD, False), (ARM_BF16, True), ("", False),
                                       ("model name\t: bf16 in a name, not a flag\n", False)])
def test_cpu_flags(tmp_path: Path, text: str, has: bool) -> None:
    f = tmp_path / "cpuinfo"
    f.write_text(text)
    assert cpu_has_bf16(f) is has
    assert resolve_precision("auto", f) == ("bfloat16" if has else "float32")
    assert resolve_precision("float32", f) == "float32" and resolve_precision("bfloat16", f) == "bfloat16"


def test_missing_cpuinfo_means_float32(tmp_path: Path) -> None:
    assert cpu_has_bf16(tmp_path / "absent") is False and resolve_precision("auto", tmp_path / "absent") == "float32"


def test_unknown_precision_is_a_user_error() -> None:
    with pytest.raises(UserError, match="--precision float16: expected one of auto, float32, bfloat16"):
        resolve_precision("float16")


def test_policy_is_restored_and_logits_stay_float32() -> None:
    from bnn_edge.models import build_model, get_preset
    from bnn_edge.tfcompat import keras

    p = get_preset("tiny")
    with training_policy("bfloat16"):
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        mixed = build_model(p, 10)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert mixed.get_layer("conv1_1").compute_dtype == "bfloat16"
    assert mixed.output.dtype == "float32"  # the loss sees float32 logits
    twin = float32_twin(mixed, lambda: build_model(p, 10))
    assert twin is not mixed and all(layer.compute_dtype == "float32" for layer in twin.layers)
    for a, b in zip(mixed.get_weights(), twin.get_weights()):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    plain = build_model(p, 10)
    assert float32_twin(plain, lambda: build_model(p, 10)) is plain


@pytest.mark.slow
def test_bfloat16_training_saves_a_float32_model(tmp_path: Path, monkeypatch) -> None:
    """`train --precision bfloat16` records it, learns digits, and its model.keras holds no
    bfloat16 policy: what export converts is float32. Asked for on a CPU without native bfloat16,
    it warns (and still runs)."""
    from click.testing import CliRunner

    import bnn_edge.precision
    from bnn_edge.cli import main

    monkeypatch.setattr(bnn_edge.precision, "cpu_has_bf16", lambda cpuinfo="/proc/cpuinfo": False)
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", "--dataset", "digits", "--preset", "tiny", "--epochs", "4", "--quiet",
                                  "--precision", "bfloat16", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "precision=bfloat16" in r.output
    assert "warning: --precision bfloat16 on a CPU without AMX or AVX512-BF16" in r.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["precision"] == "bfloat16" and m["fully_binary"] is True and m["test_accuracy"] > 0.7
    with zipfile.ZipFile(out / "model.keras") as z:
        config = z.read("config.json").decode()
    assert "bfloat16" not in config
