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
        if not training:
            return inputs

        def augment(img):
            h, w, c = img.shape
            x = img
            if self.pad:
                x = tf.pad(x, [[self.pad, self.pad], [self.pad, self.pad], [0, 0]], constant_values=float(self.vmax))
                x = tf.image.random_crop(x, [h, w, c])
            if self.flip:
                x = tf.image.random_flip_left_right(x)
            return x

        return tf.map_fn(augment, tf.cast(inputs, tf.float32))

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "vmax": self.vmax, "flip": self.flip}
