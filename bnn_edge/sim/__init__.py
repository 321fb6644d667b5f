"""Integer simulator of the firmware: one numpy model per C op, bit-exact with ``FORMAT.md``.

Modules are named after the C ops (bit packing is the format's :mod:`converters.bitpack`):
:mod:`.thermo_encode`, :mod:`.bconv2d`, :mod:`.bmaxpool2d`, :mod:`.bdepthwise2d`,
:mod:`.bdense`, :mod:`.concat`, and :mod:`.interpreter` (whole packs, batched);
:mod:`.golden` writes the firmware's golden vectors. Every op takes batched storage values
(``[N, h, w, words(c)]`` u32 for bits, a single ``[h, w, ...]`` sample also works).
"""

from converters.bitpack import from_pm1, pack_bits, to_pm1, unpack_bits, words

from .bconv2d import bconv2d
from .bdense import bdense
from .bdepthwise2d import bdepthwise2d
from .bmaxpool2d import bmaxpool2d
from .concat import concat
from .interpreter import run_op, run_pack
from .thermo_encode import thermo_encode

__all__ = [
    "bconv2d",
    "bdense",
    "bdepthwise2d",
    "bmaxpool2d",
    "concat",
    "from_pm1",
    "pack_bits",
    "run_op",
    "run_pack",
    "thermo_encode",
    "to_pm1",
    "unpack_bits",
    "words",
]
