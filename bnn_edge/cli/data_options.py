"""``--image-size`` and ``--test-fraction``: how an image-folder ``--dataset`` is read."""

from __future__ import annotations

import click

DATASET_HELP = ("'digits' (bundled, offline), an image folder (DIR/train/<class>/*.jpg|png + DIR/test/<class>/*, "
                "or DIR/<class>/* split by --test-fraction), a Keras-style .npz path, or a tensorflow-datasets name.")


def image_folder_options(fn):
    """Add ``--image-size HxW`` and ``--test-fraction F`` (image folders only)."""
    fn = click.option("--test-fraction", type=float, default=None,
                      help="Image folder without train/ and test/: share of each class held out for testing, "
                           "seeded and stratified [default: 0.2].")(fn)
    fn = click.option("--image-size", default=None, metavar="HxW",
                      help="Image folder: resize every image to HxW (default: all images must have the first one's size).")(fn)
    return fn


def parse_folder_options(image_size: str | None, test_fraction: float | None) -> tuple[tuple[int, int] | None, float | None]:
    """Validate the two options (a :class:`~bnn_edge.errors.UserError` on a bad value)."""
    from bnn_edge.datasets.folder import parse_image_size
    from bnn_edge.errors import UserError

    if test_fraction is not None and not 0 < test_fraction < 1:
        raise UserError(f"--test-fraction {test_fraction}: must be in (0, 1)")
    return parse_image_size(image_size), test_fraction
