"""The MCU-sized 32x32 preset ``m4-32`` and its float twin: fully binary, no float I/O layer, no batch
norm, within the Cortex-M4 budget (pack <= 200 KB flash, arena <= 48 KB)."""

from __future__ import annotations

import json

import pytest

from bnn_edge.models import build_model, get_preset, weight_counts
from bnn_edge.models.presets import memory_bits
from bnn_edge.models.thermometer import Thermometer
from bnn_edge.tfcompat import keras, lq
from conftest import run_cli

FLASH_BUDGET = 200 * 1024
ARENA_BUDGET = 48 * 1024


@pytest.mark.parametrize("name", ["m4-32", "m4-32-fp"])
def test_counted_memory_matches_built_model(name):
    p = get_preset(name)
    assert weight_counts(build_model(p, 10)).memory_bits == memory_bits(p, 10)


def test_m4_32_is_fully_binary_without_batch_norm_and_within_flash():
    p = get_preset("m4-32")
    assert p.input_shape == (32, 32, 3) and p.binary
    model = build_model(p, 10)
    c = weight_counts(model)
    assert c.fully_binary and c.float_io_layers == 0 and c.float_weight_count == 0
    assert c.binary_weight_bits <= FLASH_BUDGET * 8 * 3 // 4  # weights leave room for the pack's thresholds and code
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert any(isinstance(layer, Thermometer) for layer in model.layers)
    for layer in model.layers:
        if layer.trainable_weights:
            assert isinstance(layer, (lq.layers.QuantConv2D, lq.layers.QuantDense, lq.layers.QuantDepthwiseConv2D))
            assert layer.input_quantizer is not None and len(layer.trainable_weights) == 1
    # the first binary conv reads the thermometer's channels in one 32-bit word per pixel
    assert p.encoded_channels <= 32


def test_m4_32_float_twin_has_equal_memory_and_float_io():
    b = memory_bits(get_preset("m4-32"), 10)
    f = memory_bits(get_preset("m4-32-fp"), 10)
    assert abs(f - b) / b < 0.05
    c = weight_counts(build_model(get_preset("m4-32-fp"), 10))
    assert c.binary_weight_bits == 0 and c.float_io_layers == 2 and not c.fully_binary


@pytest.mark.slow  # builds the network in a fresh process importing TensorFlow
def test_summary_cli_json_m4_32():
    r = json.loads(run_cli("summary", "--preset", "m4-32", "--json", check=True).stdout)
    assert r["input_shape"] == [32, 32, 3] and r["classes"] == 10
    assert r["fully_binary"] is True and r["float_io_layers"] == 0
    assert r["binary_weight_bits"] == memory_bits(get_preset("m4-32"), 10)


@pytest.mark.slow
def test_m4_32_export_fits_the_m4_budget(tmp_path):
    """An untrained m4-32 exported for a Cortex-M4: pack within 200 KB of flash, arena within 48 KB."""
    from bnn_edge.export import export_run
    from bnn_edge.train import init_run

    run = init_run("m4-32", tmp_path / "run")
    rep = export_run(run, tmp_path / "export", cpu="cortex-m4", samples=8)
    assert rep["flash_bytes"] <= FLASH_BUDGET, rep["flash_bytes"]
    assert rep["ram_bytes"] <= ARENA_BUDGET, rep["ram_bytes"]
    assert rep["fits"] is True
