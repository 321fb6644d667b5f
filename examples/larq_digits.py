"""Bring your own larq network: a fully-binary digits classifier written with plain larq layers.

    python examples/larq_digits.py --out larq_digits.keras [--epochs 8]
    bnn-edge export larq_digits.keras --target cortex-m --dataset digits --out export/
    bnn-edge run export/ --target qemu-m4 --images 50 --json

The network keeps the fully-binary contract (bnn_edge/contract.py): bnn-edge's ``Thermometer``
encodes the 0..16 pixels into 16 binary channels; every convolution and dense layer is a larq
``Quant*`` layer with ``ste_sign`` input and kernel quantizers; each batch norm sits directly after a
binary convolution and before a sign (LCE folds it into the convolution's integer output
threshold); max-pooling comes after the batch norm; the output is a bias-free ``QuantDense`` whose
integer logits are scaled by a ``Gain`` (set to 1 on export). Nothing here is bnn-edge specific but
the two imported layers.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # larq needs tf-keras (Keras 2)

import larq as lq  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bnn_edge.models import Gain, Thermometer  # noqa: E402

keras = tf.keras
BINARY = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip", use_bias=False)


def build(levels: int = 16, vmax: int = 16, classes: int = 10) -> keras.Model:
    """8x8 grey digits (0..16) -> 10 integer logits, all weights and activations binary."""
    pixels = keras.Input((8, 8, 1), name="pixels")
    x = Thermometer(levels, vmax, name="thermometer")(pixels)  # 8x8x16 bits
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, name="conv1", **BINARY)(x)
    x = keras.layers.BatchNormalization(momentum=0.9, name="bn1")(x)
    x = lq.layers.QuantConv2D(64, 3, padding="same", pad_values=1.0, name="conv2", **BINARY)(x)
    x = keras.layers.BatchNormalization(momentum=0.9, name="bn2")(x)
    x = keras.layers.MaxPool2D(2, name="pool2")(x)  # 4x4x64
    x = lq.layers.QuantConv2D(64, 3, padding="valid", name="conv3", **BINARY)(x)  # 2x2x64
    # a negative BN scale cannot fold into the float-output convolution that Flatten reads:
    # scale=False (gamma = 1) keeps it a pure threshold
    x = keras.layers.BatchNormalization(momentum=0.9, scale=False, name="bn3")(x)
    x = keras.layers.Flatten(name="flatten")(x)  # 256 (a multiple of 32 per position)
    x = lq.layers.QuantDense(classes, name="logits_dense", **BINARY)(x)
    logits = Gain(1.0 / 16.0, name="logits")(x)  # 1/sqrt(fan_in 256): unit-scale logits for training
    return keras.Model(pixels, logits, name="larq_digits")


def train(model: keras.Model, epochs: int, seed: int = 0) -> float:
    """A few epochs of Adam on scikit-learn's digits; returns the test accuracy."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.images.astype(np.float32)[..., None]
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=0.2, random_state=seed, stratify=d.target)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_tr, y_tr, epochs=epochs, batch_size=64, verbose=0)
    return float(model.evaluate(x_te, y_te, verbose=0)[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="larq_digits.keras", help="Where to save the model (.keras).")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    keras.utils.set_random_seed(args.seed)
    model = build()
    acc = train(model, args.epochs, args.seed)
    model.save(args.out)
    print(f"test accuracy {acc:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
