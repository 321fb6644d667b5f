"""Training-time augmentation on pixels: random crop from a padded image, random horizontal flip.

Padding uses ``vmax`` (the brightest value), which the thermometer turns into all ``+1`` bits: the
same "one-padding" as the binary convolutions. At inference the layer is the identity.
"""

from __future__ import annotations

from bnn_edge.tfcompat import keras, tf


@keras.utils.register_keras_serializable(package="bnn_edge")
class RandomCropFlip(keras.layers.Layer):
    """``x[N,H,W,C]`` -> crop of ``pad(x, pad, value=vmax)`` at a uniform offset, flipped left-right with p=0.5."""

    def __init__(self, pad: int, vmax: int, flip: bool = True, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.pad = int(pad)
        self.vmax = int(vmax)
        self.flip = bool(flip)

    def call(self, inputs, training=None):
        """Vectorised over the batch: per image an offset ``(oy, ox)`` uniform in ``[0, 2 pad]^2`` and a
        coin ``f`` in {0, 1}; output pixel ``(i, j)`` is the padded image's ``(oy + i, ox + j')`` with
        ``j' = j`` or, flipped, ``w - 1 - j``: one batched gather per axis, the flip folded into the
        column indices (cheaper than selecting between the image and its mirror)."""
        if not training:
            return inputs
        x = tf.cast(inputs, tf.float32)
        if not (self.pad or self.flip):
            return x
        n = tf.shape(x)[0]
        h, w = x.shape[1], x.shape[2]
        p = self.pad
        if p:
            x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], constant_values=float(self.vmax))
        j = tf.range(w)[None, :]
        if self.flip:
            coin = tf.random.uniform([n], 0, 2, dtype=tf.int32)
            j = j + coin[:, None] * (w - 1 - 2 * j)  # j or w - 1 - j, per image
        if p:
            oy = tf.random.uniform([n], 0, 2 * p + 1, dtype=tf.int32)
            ox = tf.random.uniform([n], 0, 2 * p + 1, dtype=tf.int32)
            rows = oy[:, None] + tf.range(h)[None, :]  # [n, h]
            x = tf.gather(x, rows, axis=1, batch_dims=1)  # [n, h, w + 2p, c]
            j = ox[:, None] + j
        return tf.gather(x, j, axis=2, batch_dims=1)  # [n, h, w, c]

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "vmax": self.vmax, "flip": self.flip}
