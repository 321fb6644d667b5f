"""A Click choice over rows of the target table (:mod:`bnn_edge.device.targets`).

The choices shown are one attribute of each allowed row (``name`` for ``run --target``, ``cpu`` for
``export --cpu``, ``core`` for ``flash --cpu``); any spelling of an allowed row (``m4``,
``cortex-m4``, ``qemu-m4``) is accepted and normalised to that attribute.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import click

from bnn_edge.device.targets import Target, lookup


class TargetChoice(click.Choice):
    def __init__(self, rows: Callable[[], tuple[Target, ...]], attr: str = "name") -> None:
        self.rows = tuple(rows())
        self.attr = attr
        super().__init__([str(getattr(t, attr)) for t in self.rows])

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        t = lookup(value) if isinstance(value, str) else None
        if t is not None and t in self.rows:
            value = getattr(t, self.attr)
        return super().convert(value, param, ctx)
