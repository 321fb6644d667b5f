"""Golden vectors (firmware/tests/golden/golden_cases.h): reproducible, consistent, complete, valid C."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from bnn_edge import __version__
from bnn_edge.sim import run_pack
from bnn_edge.codegen.golden import DEFAULT_OUT, DEFAULT_SEED, build_cases, generate, main
from converters.bnnpack import NO_TENSOR, from_storage, read_pack, write_pack
from converters.ops import DType, OpCode

ROOT = Path(__file__).resolve().parents[1]
HEADER = ROOT / "firmware" / "tests" / "golden" / "golden_cases.h"
REGEN = f"python -m bnn_edge.codegen.golden --seed {DEFAULT_SEED} --out firmware/tests/golden/golden_cases.h"


@pytest.fixture(scope="module")
def committed() -> str:
    assert HEADER.exists(), f"{HEADER} missing; run: {REGEN}"
    return HEADER.read_text(encoding="utf-8")


def parse_header(text: str) -> list[dict]:
    """Decode the header's arrays and case table back to bytes (independently of the generator)."""
    arrays = {
        m.group(1): bytes(int(v, 16) for v in re.findall(r"0x([0-9a-f]{2})", m.group(3)))
        for m in re.finditer(r"static const uint8_t (\w+)\[(\d+)\] __attribute__\(\(aligned\(4\)\)\) = \{(.*?)\};",
                             text, re.S)
    }
    rows = re.findall(
        r'\{"(\w+)", (\w+), (\d+)u, (\d+)u, (\w+), (\d+)u, (\w+), (\d+)u, (\w+), (\d+)u\},', text
    )
    cases = []
    for name, pk, pk_len, n, ins, in_len, outs, out_len, lats, lat_len in rows:
        cases.append({
            "name": name, "pack": arrays[pk], "pack_len": int(pk_len), "n": int(n),
            "inputs": arrays[ins], "input_len": int(in_len), "outputs": arrays[outs], "output_len": int(out_len),
            "latents": None if lats == "NULL" else arrays[lats], "latent_len": int(lat_len),
        })
    n_cases = int(re.search(r"#define BNN_GOLDEN_N_CASES (\d+)", text).group(1))
    assert n_cases == len(cases)
    return cases


def test_regenerates_byte_identical(committed: str, tmp_path: Path) -> None:
    out = tmp_path / "golden_cases.h"
    assert main(["--out", str(out), "--seed", str(DEFAULT_SEED)]) == 0
    fresh = out.read_text(encoding="utf-8")
    assert fresh == committed, f"golden header is stale or hand-edited; regenerate with: {REGEN}"
    assert DEFAULT_OUT.resolve() == HEADER.resolve()


def test_stamp_and_size(committed: str) -> None:
    head = committed[:600]
    assert head.startswith("/* GENERATED — do not edit.")
    assert REGEN in head
    assert f"bnn-edge {__version__}, numpy {np.__version__}, seed {DEFAULT_SEED}" in head
    assert not re.search(r"20\d\d-\d\d-\d\d", committed)  # no dates
    assert len(committed.encode()) < 2_000_000
    assert "#ifndef BNN_GOLDEN_CASE_T" in committed and "#include <stdint.h>" in committed


def test_seed_changes_the_data() -> None:
    assert generate(DEFAULT_SEED + 1) != generate(DEFAULT_SEED)


def test_header_contents_are_consistent(committed: str) -> None:
    """Every case: the pack validates, the lengths match its tensors, and running the simulator
    on the stored inputs gives the stored outputs and latents."""
    cases = parse_header(committed)
    assert len(cases) >= 20
    for c in cases:
        assert len(c["pack"]) == c["pack_len"]
        pack = read_pack(c["pack"])
        t_in, t_out = pack.tensors[pack.input_tensor], pack.tensors[pack.output_tensor]
        assert (c["input_len"], c["output_len"]) == (t_in.size_bytes, t_out.size_bytes), c["name"]
        assert len(c["inputs"]) == c["n"] * c["input_len"] and len(c["outputs"]) == c["n"] * c["output_len"]
        xs = np.stack([from_storage(t_in, c["inputs"][i * c["input_len"] : (i + 1) * c["input_len"]])
                       for i in range(c["n"])])
        res = run_pack(pack, xs)
        want = np.stack([from_storage(t_out, c["outputs"][i * c["output_len"] : (i + 1) * c["output_len"]])
                         for i in range(c["n"])])
        assert np.array_equal(res["output"], want), c["name"]
        if pack.latent_tensor == NO_TENSOR:
            assert c["latents"] is None and c["latent_len"] == 0
        else:
            t_lat = pack.tensors[pack.latent_tensor]
            assert c["latent_len"] == t_lat.size_bytes and len(c["latents"]) == c["n"] * t_lat.size_bytes
            lat = np.stack([from_storage(t_lat, c["latents"][i * t_lat.size_bytes : (i + 1) * t_lat.size_bytes])
                            for i in range(c["n"])])
            assert np.array_equal(res["latent"], lat), c["name"]
        assert c["n"] >= 3


def test_cases_cover_every_op_and_option() -> None:
    cases = build_cases()
    single = [c for c in cases if len(c.pack.ops) == 1 or c.name.startswith("concat_")]
    seen: set[str] = set()
    for c in single:
        p = c.pack
        for op in p.ops:
            t_in, t_out = p.tensors[op.in0], p.tensors[op.out]
            prm = op.params
            if op.type == OpCode.THERMO_ENCODE:
                seen.add(f"thermo_L{prm[0]}_c{t_in.c}")
            elif op.type == OpCode.BCONV2D and not c.name.startswith("concat_"):
                seen.add("conv_" + ("same" if prm[6] == 0 else "valid"))
                seen.add("conv_" + ("bits" if t_out.dtype == DType.BITS else "int32"))
                if 2 in prm[2:4]:
                    seen.add("conv_stride2")
                if 2 in prm[4:6]:
                    seen.add("conv_dilation2")
                if prm[7] == 2 and t_in.c // 2 == 32:
                    seen.add("conv_groups2_cin_g32")
                seen.add(f"conv_cin{t_in.c}")
            elif op.type == OpCode.BMAXPOOL2D:
                seen.add("maxpool")
            elif op.type == OpCode.BDEPTHWISE2D:
                seen.add("dw_" + ("same" if prm[4] == 0 else "valid"))
            elif op.type == OpCode.BDENSE:
                seen.add("dense_" + ("bits" if t_out.dtype == DType.BITS else "int32"))
            elif op.type == OpCode.CONCAT:
                seen.add("concat_self" if op.in0 == op.in1 else "concat")
    need = {"thermo_L16_c3", "thermo_L85_c3", "conv_same", "conv_valid", "conv_bits", "conv_int32", "conv_stride2",
            "conv_dilation2", "conv_groups2_cin_g32", "conv_cin16", "conv_cin40", "conv_cin255", "maxpool", "dw_same",
            "dw_valid", "dense_bits", "dense_int32", "concat", "concat_self"}
    assert need <= seen, need - seen
    models = [c for c in cases if c.name.startswith("model_")]
    assert len(models) == 2
    O = OpCode
    chain = [O.THERMO_ENCODE, O.BCONV2D, O.BCONV2D, O.BMAXPOOL2D, O.BDEPTHWISE2D, O.BDENSE, O.BDENSE, O.CONCAT, O.CONCAT,
             O.BDENSE]
    for m in models:
        p = m.pack
        assert [op.type for op in p.ops] == chain
        assert p.latent_tensor == p.ops[5].out and p.tensors[p.latent_tensor].dtype == DType.BITS
        assert p.ops[7].in0 == p.latent_tensor and p.ops[7].in1 == p.ops[6].out  # concat(latent, h)
        assert p.ops[8].in0 == p.ops[8].in1 == p.ops[7].out  # concat(c, c)
        assert p.tensors[p.output_tensor].dtype == DType.INT32 and len(m.inputs) >= 3


C_CHECK = r"""
#include <stdio.h>
#include <string.h>
#include "golden_cases.h"
#include "golden_cases.h" /* the include guard works */

static uint32_t crc32(const uint8_t *p, uint32_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint32_t i = 0; i < n; i++) { c ^= p[i]; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u))); }
  return ~c;
}
static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint32_t rd16(const uint8_t *p) { return p[0] | p[1] << 8; }

int main(void) {
  int bad = 0;
  for (uint32_t i = 0; i < BNN_GOLDEN_N_CASES; i++) {
    const bnn_golden_case_t *c = &bnn_golden_cases[i];
    const uint8_t *p = c->pack;
    uint32_t payload = rd32(p + 12), nt = rd32(p + 20);
    uint32_t in_id = rd16(p + 36), lat_id = rd16(p + 38), out_id = rd16(p + 40);
    int ok = memcmp(p, "BNNP", 4) == 0 && crc32(p, 60) == rd32(p + 60) && 64 + payload == c->pack_len
      && crc32(p + 64, payload) == rd32(p + 16) && ((uintptr_t)p & 3u) == 0 && ((uintptr_t)c->inputs & 3u) == 0
      && ((uintptr_t)c->outputs & 3u) == 0 && c->n_inputs > 0
      && rd32(p + 64 + 24 * in_id + 20) == c->input_len && rd32(p + 64 + 24 * out_id + 20) == c->output_len
      && (lat_id == 0xFFFFu ? (c->latents == NULL && c->latent_len == 0)
                            : (lat_id < nt && rd32(p + 64 + 24 * lat_id + 20) == c->latent_len));
    if (!ok) { printf("bad case %u %s\n", i, c->name); bad++; }
  }
  printf("%d cases checked, %d bad\n", BNN_GOLDEN_N_CASES, bad);
  return bad != 0;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_header_compiles_and_checks_in_c(tmp_path: Path) -> None:
    src = tmp_path / "check.c"
    src.write_text(C_CHECK)
    exe = tmp_path / "check"
    cc = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", f"-I{HEADER.parent}",
                         str(src), "-o", str(exe)], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    assert f"{len(build_cases())} cases checked, 0 bad" in run.stdout


def test_generated_packs_round_trip() -> None:
    for c in build_cases():
        blob = write_pack(c.pack)
        assert read_pack(blob) == c.pack, c.name
        assert struct.unpack_from("<I", blob, 60)[0] == zlib.crc32(blob[:60])
