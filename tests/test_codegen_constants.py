"""The generated C header of shared constants (bnn_edge/codegen/constants.py): current, stamped, and
what the C compiler sees equals the Python values; the firmware keeps no hand copies."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bnn_edge.codegen.constants import DEFAULT_OUT, MODULE, input_hash, inputs, main, render
from bnn_edge.sim.head import EXP_LUT
from converters import bnnpack as bp
from converters.ops import DType, OpCode, Padding

REPO = Path(__file__).resolve().parents[1]
HEADER = REPO / "firmware" / "include" / "bnn" / "bnn_constants.h"
REGEN = f"python -m {MODULE}"


def test_committed_header_is_current() -> None:
    """Staleness: regenerating in memory gives the committed file byte for byte."""
    assert DEFAULT_OUT.resolve() == HEADER.resolve()
    assert HEADER.read_text(encoding="utf-8") == render(), f"{HEADER.name} is stale or hand-edited; regenerate: {REGEN}"


def test_stamp_names_generator_and_input_hash() -> None:
    head = render()[:600]
    assert head.startswith("/* GENERATED — do not edit.")
    assert REGEN in head
    assert re.search(r"sha256 [0-9a-f]{16}\b", head).group(0) == f"sha256 {input_hash()}"
    assert not re.search(r"20\d\d-\d\d-\d\d", render())  # deterministic: no dates


def test_hash_follows_the_inputs() -> None:
    values = inputs()
    assert input_hash(values) == input_hash()
    values["head_exp_lut"] = values["head_exp_lut"][:-1] + [values["head_exp_lut"][-1] + 1]
    assert input_hash(values) != input_hash()
    values = inputs()
    values["ops"][0][1] = 9
    assert input_hash(values) != input_hash()


def test_check_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bnn_constants.h"
    assert main(["--check", "--out", str(out)]) == 1  # missing
    assert main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render()
    assert main(["--check", "--out", str(out)]) == 0
    out.write_text(render().replace("#define BNN_OP_N_PARAMS 8", "#define BNN_OP_N_PARAMS 9"), encoding="utf-8")
    assert main(["--check", "--out", str(out)]) == 1
    assert "stale" in capsys.readouterr().out


_PROBE = r"""
#include <stdint.h>
#include <stdio.h>
#include "bnn/bnn_constants.h"
static const uint16_t lut[BNN_HEAD_EXP_LUT_LEN] = BNN_HEAD_EXP_LUT;
#define P(name) printf("\"%s\": %lld,\n", #name, (long long)(name))
int main(void) {
    printf("{\"magic\": \"%s\",\n", BNN_PACK_MAGIC);
    P(BNN_PACK_VERSION_MAJOR); P(BNN_PACK_VERSION_MINOR); P(BNN_PACK_HEADER_SIZE);
    P(BNN_PACK_TENSOR_ENTRY_SIZE); P(BNN_PACK_OP_ENTRY_SIZE); P(BNN_PACK_MAX_ENTRIES);
    P(BNN_TENSOR_NONE); P(BNN_OP_N_PARAMS); P(BNN_OP_FIRST); P(BNN_OP_LAST);
    P(BNN_DTYPE_BITS); P(BNN_DTYPE_INT32); P(BNN_DTYPE_UINT8);
    P(BNN_OP_THERMO_ENCODE); P(BNN_OP_BCONV2D); P(BNN_OP_BMAXPOOL2D); P(BNN_OP_BDEPTHWISE2D);
    P(BNN_OP_BDENSE); P(BNN_OP_CONCAT); P(BNN_PADDING_SAME); P(BNN_PADDING_VALID);
    printf("\"lut\": [");
    for (unsigned j = 0; j < BNN_HEAD_EXP_LUT_LEN; j++) printf("%s%u", j ? ", " : "", (unsigned)lut[j]);
    printf("]}\n");
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_c_sees_the_python_values(tmp_path: Path) -> None:
    """Compile a probe against the committed header (-Wall -Wextra -Werror) and compare every value."""
    src = tmp_path / "probe.c"
    src.write_text(_PROBE)
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", str(HEADER.parents[1]), str(src),
                    "-o", str(exe)], check=True, capture_output=True, text=True)
    got = json.loads(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout)
    want = {
        "magic": bp.MAGIC.decode(), "BNN_PACK_VERSION_MAJOR": bp.VERSION_MAJOR,
        "BNN_PACK_VERSION_MINOR": bp.VERSION_MINOR, "BNN_PACK_HEADER_SIZE": bp.HEADER_SIZE,
        "BNN_PACK_TENSOR_ENTRY_SIZE": bp.TENSOR_ENTRY_SIZE, "BNN_PACK_OP_ENTRY_SIZE": bp.OP_ENTRY_SIZE,
        "BNN_PACK_MAX_ENTRIES": bp.MAX_ENTRIES, "BNN_TENSOR_NONE": bp.NO_TENSOR, "BNN_OP_N_PARAMS": bp.N_PARAMS,
        "BNN_OP_FIRST": int(min(OpCode)), "BNN_OP_LAST": int(max(OpCode)),
        **{f"BNN_DTYPE_{d.name}": int(d) for d in DType},
        **{f"BNN_OP_{o.name}": int(o) for o in OpCode},
        **{f"BNN_PADDING_{p.name}": int(p) for p in Padding},
        "lut": list(EXP_LUT),
    }
    assert got == want


def test_firmware_keeps_no_hand_copies() -> None:
    """The shared values are defined only in the generated header."""
    copies = re.compile(
        r"#define\s+BNN_PACK_(MAGIC|VERSION_MAJOR|HEADER_SIZE|TENSOR_ENTRY_SIZE|OP_ENTRY_SIZE|MAX_ENTRIES)\b"
        r"|#define\s+BNN_TENSOR_NONE\b|#define\s+BNN_OP_N_PARAMS\b|\bBNN_(OP|DTYPE|PADDING)_[A-Z0-9_]+\s*=\s*\d"
        r"|32768,\s*30783,\s*28918"
    )
    found = [
        str(p.relative_to(REPO))
        for p in sorted((REPO / "firmware").rglob("*.[ch]"))
        if p.resolve() != HEADER.resolve() and copies.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert found == []
