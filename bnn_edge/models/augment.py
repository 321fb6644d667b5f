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
        """Vectorised over the batch: per image an offset ``(oy, ox)`` uniform in ``[0, 2 pad]^2`` picks
        rows ``oy + i`` and columns ``ox + j`` of the padded image (two batched gathers), then a coin
        flips it left-right (``x[:, :, ::-1]``)."""
        if not training:
            return inputs
        x = tf.cast(inputs, tf.float32)
        n = tf.shape(x)[0]
        h, w = x.shape[1], x.shape[2]
        if self.pad:
            p = self.pad
            x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], constant_values=float(self.vmax))
            oy = tf.random.uniform([n], 0, 2 * p + 1, dtype=tf.int32)
            ox = tf.random.uniform([n], 0, 2 * p + 1, dtype=tf.int32)
            rows = oy[:, None] + tf.range(h)[None, :]  # [n, h]
            cols = ox[:, None] + tf.range(w)[None, :]  # [n, w]
            x = tf.gather(x, rows, axis=1, batch_dims=1)  # [n, h, w + 2p, c]
            x = tf.gather(x, cols, axis=2, batch_dims=1)  # [n, h, w, c]
        if self.flip:
            coin = tf.random.uniform([n, 1, 1, 1]) < 0.5
            x = tf.where(coin, tf.reverse(x, axis=[2]), x)
        return x

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "vmax": self.vmax, "flip": self.flip}
