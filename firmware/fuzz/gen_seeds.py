"""Regenerate the fuzzers' seed corpora kept in the repository (small files only).

    .venv/bin/python firmware/fuzz/gen_seeds.py

* ``corpus/tflite/small.tflite`` + ``small.json``: an untrained (no training code is imported),
  deliberately small bnn-edge network (4x4x1 input, 4-level thermometer, one 32-filter block, 32-bit latent) converted by
  Larq Compute Engine exactly as ``bnn-edge export`` converts a run; the JSON holds the
  thermometer parameters :func:`converters.lower.lower` needs. The Python fuzzers
  (tests/test_fuzz_converters.py) mutate it.
* ``corpus/pack/*.bnnpack``: that network lowered to a pack, plus the small golden cases of
  :mod:`bnn_edge.codegen.golden` (every op type and option family): the seeds of the libFuzzer pack
  loader target and of the Python pack fuzzers.

The store corpus (``corpus/store``) is written by the C seed generator (``make -C firmware/fuzz
seeds``), because the head's state blob layout is defined by the C code.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

# Small golden cases covering every op type, both output dtypes, SAME/VALID, dilation, groups.
GOLDEN = (
    "thermo_L16_c3", "bconv_3x3_same_c16_bits", "bconv_3x3_valid_d2_c16_int32", "bconv_3x3_same_g2_c64_bits",
    "bconv_2x2_same_c33_int32", "bmaxpool_3x2_s1x2_c16", "bdepthwise_3x3_valid_c16_int32",
    "bdepthwise_2x2_same_c33_int32", "bdense_c100_bits", "bdense_c255_int32", "concat_32_33", "concat_self_20",
)

SMALL_PRESET = dict(name="fuzzseed", input_shape=(4, 4, 1), levels=4, vmax=16, depthwise_kernel=2, latent=32, hidden=32)


def small_network_tflite() -> tuple[bytes, dict]:
    import bnn_edge  # noqa: F401  (environment before TensorFlow)
    from bnn_edge.export import convert_lce
    from bnn_edge.models import build_model
    from bnn_edge.models.presets import TINY, Block
    from bnn_edge.models.thermometer import thermometer_thresholds
    from bnn_edge.tfcompat import keras

    p = dataclasses.replace(TINY, blocks=(Block((32,)),), **SMALL_PRESET)
    keras.utils.set_random_seed(0)  # Python, NumPy and TensorFlow, as training seeds them
    model = build_model(p, 3)
    h, w, c = p.input_shape
    thermo = {"h": h, "w": w, "c": c, "levels": p.levels,
              "thresholds": [int(t) for t in thermometer_thresholds(p.levels, p.vmax)], "latent_hint": "latent"}
    return convert_lce(model), thermo


def main() -> None:
    from bnn_edge.codegen.golden import build_cases
    from converters import bnnpack as bp
    from converters.lower import Thermo, lower
    from converters.tflite_reader import read_tflite

    for sub in ("tflite", "pack"):
        (CORPUS / sub).mkdir(parents=True, exist_ok=True)
    fb, thermo = small_network_tflite()
    (CORPUS / "tflite" / "small.tflite").write_bytes(fb)
    (CORPUS / "tflite" / "small.json").write_text(json.dumps(thermo, indent=1) + "\n")
    t = Thermo(thermo["h"], thermo["w"], thermo["c"], thermo["levels"], thermo["thresholds"])
    lowered = lower(read_tflite(fb), t, thermo["latent_hint"], {"generator": "firmware/fuzz/gen_seeds.py"})
    (CORPUS / "pack" / "small_model.bnnpack").write_bytes(bp.write_pack(lowered.pack))
    cases = {c.name: c for c in build_cases()}
    for name in GOLDEN:
        (CORPUS / "pack" / f"golden_{name}.bnnpack").write_bytes(bp.write_pack(cases[name].pack))
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    print(f"wrote seeds under {CORPUS} ({total} bytes)")


if __name__ == "__main__":
    main()
