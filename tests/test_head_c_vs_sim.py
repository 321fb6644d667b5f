"""The C head (firmware/src/head/bnn_head*.c) against its
Python twin: a stream is embedded in ``cil_main`` (built here with gcc, and for QEMU Cortex-M4
when the cross toolchain is installed) and the predictions and every byte of the final state
must be *equal* to the Python integer head's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnn_edge.device.cil_app import FIRMWARE, HEAD_SOURCES, run_c_stream
from bnn_edge.sim import store
from bnn_edge.sim.cil_stream import (
    CONTROL_BYTES_CORTEX_M,
    DIGITS_TASKS,
    OP_COMMIT,
    OP_END_TASK,
    OP_LEARN,
    OP_PREDICT,
    STATUS_EMPTY,
    STATUS_LABEL,
    STATUS_OP_TYPE,
    CilStream,
    StreamResult,
    group_tasks,
    make_stream,
    run_sim_stream,
    synthetic_latents,
)
from bnn_edge.sim.head import HeadConfig, head_memory

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
HAVE_ARM = shutil.which("arm-none-eabi-gcc") is not None and shutil.which("qemu-system-arm") is not None


def _stream(cfg: HeadConfig, seed: int = 0, per_class: tuple[int, int] = (20, 30), n_test: int = 12,
            tasks: tuple[tuple[int, ...], ...] = DIGITS_TASKS, commit: bool = True) -> CilStream:
    tr_x, tr_y, te_x, _ = synthetic_latents(
        n_latent=cfg.n_latent, n_classes=cfg.max_classes, seed=seed, train_per_class=per_class,
        test_per_class=n_test,
    )  # fmt: skip
    tasks = tuple(tuple(c for c in t if c < cfg.max_classes) for t in tasks)
    tasks = tuple(t for t in tasks if t)
    xs, ys = group_tasks(tr_x, tasks), group_tasks(tr_y, tasks)
    return make_stream(cfg, list(zip(xs, ys)), queries=np.concatenate(te_x), commit_after_task=commit)


def _assert_same(c: StreamResult, py: StreamResult, stream: CilStream) -> None:
    assert c.errors == py.errors
    assert np.array_equal(c.predictions, py.predictions)
    assert len(c.predictions) == stream.n_queries
    assert c.state_crc == py.state_crc
    assert c.state == py.state  # every byte: latents, buffer, counters, PRNG state
    for k in ("w1_bits", "w2_bits", "w2_latent", "buffer", "buffer_meta", "scratch", "arena"):
        assert c.mem[k] == py.mem[k], k
    assert all(cm["status"] == 0 and cm["roundtrip"] == 1 for cm in c.commits)
    assert len(c.commits) == len(py.commits)


CONFIGS = {
    "digits-default": HeadConfig(),
    "linear-only": HeadConfig(n_hidden=0, max_classes=6, buffer_bytes=1000),
    "tiny-one-slot": HeadConfig(n_latent=32, n_hidden=32, max_classes=4, buffer_bytes=5, replay_k=3),
    "paper-N1024": HeadConfig(n_latent=1024, n_hidden=128, max_classes=6, buffer_bytes=4096, epochs=2),
    "saturating": HeadConfig(n_latent=64, n_hidden=64, max_classes=5, lr_mul=32768, lr_shift=0,
                             latent_clip=7, init_range=7, buffer_bytes=700),
    "hot-softmax": HeadConfig(n_latent=96, n_hidden=32, max_classes=5, temp_shift=0, lr_mul=5,
                              lr_shift=3, buffer_bytes=400, seed=0xFFFFFFFF),
    "cold-softmax": HeadConfig(n_latent=64, n_hidden=32, max_classes=5, temp_shift=16, epochs=0,
                               replay_k=0, buffer_bytes=300, seed=0),
}  # fmt: skip


@pytest.fixture(scope="module")
def cil_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build directory for the module's runs of ``cil_main``: libbnn's objects are compiled once
    per target and flags, each test recompiles only its ``stream_data.c`` (make tracks the flags)."""
    return tmp_path_factory.mktemp("cil_build")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bit_exact_host(name: str, cil_build: Path) -> None:
    cfg = CONFIGS[name]
    stream = _stream(cfg, seed=len(name))
    c = run_c_stream(stream, "host", cil_build)
    py = run_sim_stream(stream)
    _assert_same(c, py, stream)
    # the slot headers the C store wrote are the Python format of the same state
    assert len(c.flash_headers) == 2
    n_commits = len(c.commits)
    last = c.commits[-1]
    assert last["seq"] == n_commits and c.flash_headers[last["slot"]] == store.slot_header(py.state, n_commits)


@pytest.mark.slow  # an ASan+UBSan build of libbnn
def test_bit_exact_sanitized_and_portable_io(tmp_path: Path) -> None:
    """ASan+UBSan build, and the byte-by-byte (big-endian-safe) state serialisation."""
    cfg = HeadConfig(max_classes=7, buffer_bytes=1500)
    stream = _stream(cfg, seed=5)
    py = run_sim_stream(stream)
    _assert_same(run_c_stream(stream, "host", tmp_path / "asan", sanitize=True), py, stream)
    _assert_same(
        run_c_stream(stream, "host", tmp_path / "portable", extra_cflags=["-DBNN_HEAD_PORTABLE_IO"]), py, stream
    )


def test_error_codes_match(cil_build: Path) -> None:
    cfg = HeadConfig(n_latent=64, n_hidden=32, max_classes=4, buffer_bytes=200)
    rng = np.random.default_rng(0)
    lat = rng.integers(0, 2**32, (6, 2), dtype=np.uint64).astype(np.uint32)
    ops = [(OP_PREDICT, 0, 0), (OP_LEARN, 1, 2), (OP_LEARN, 2, 4), (OP_LEARN, 3, 200), (OP_END_TASK, 0, 0),
           (OP_PREDICT, 4, 0), (OP_COMMIT, 0, 0), (OP_LEARN, 5, 3), (OP_PREDICT, 5, 0)]  # fmt: skip
    stream = CilStream(cfg, lat, ops)
    c = run_c_stream(stream, "host", cil_build)
    py = run_sim_stream(stream)
    _assert_same(c, py, stream)
    assert c.errors == [(0, STATUS_EMPTY), (2, STATUS_LABEL), (3, STATUS_LABEL)]
    assert c.predictions[0] == -1


@pytest.mark.slow  # a hypothesis loop of C builds and runs
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n_latent=st.sampled_from([32, 64, 160]),
    n_hidden=st.sampled_from([0, 32, 96]),
    max_classes=st.integers(2, 9),
    buffer_bytes=st.integers(40, 2000),
    replay_k=st.integers(0, 6),
    epochs=st.integers(0, 3),
    lr_mul=st.integers(1, 40),
    lr_shift=st.integers(0, 12),
    temp_shift=st.integers(0, 10),
    clip=st.integers(1, 32767),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_bit_exact_random_streams(cil_build: Path, n_latent: int, n_hidden: int,
                                  max_classes: int, buffer_bytes: int, replay_k: int, epochs: int, lr_mul: int,
                                  lr_shift: int, temp_shift: int, clip: int, seed: int, data: st.DataObject) -> None:
    words = n_latent // 32
    buffer_bytes = max(buffer_bytes, 4 * words + 1)
    init = data.draw(st.integers(1, clip))
    cfg = HeadConfig(n_latent=n_latent, n_hidden=n_hidden, max_classes=max_classes, buffer_bytes=buffer_bytes,
                     replay_k=replay_k, epochs=epochs, lr_mul=lr_mul, lr_shift=lr_shift, temp_shift=temp_shift,
                     latent_clip=clip, init_range=init, seed=seed)  # fmt: skip
    n_lat = data.draw(st.integers(1, 40))
    rng = np.random.default_rng(seed)
    lat = rng.integers(0, 2**32, (n_lat, words), dtype=np.uint64).astype(np.uint32)
    op_st = st.tuples(
        st.sampled_from([1, 2, 2, 2, 3, 4, 4, 5]), st.integers(0, n_lat - 1), st.integers(0, max_classes)
    )
    ops = data.draw(st.lists(op_st, min_size=1, max_size=80))
    stream = CilStream(cfg, lat, [(o, s, y if o in (1, 2) else 0) for o, s, y in ops])
    c = run_c_stream(stream, "host", cil_build)
    _assert_same(c, run_sim_stream(stream), stream)


def test_python_defaults_are_the_c_defaults(tmp_path: Path) -> None:
    prog = tmp_path / "defaults.c"
    prog.write_text(
        '#include <stdio.h>\n#include "bnn/bnn_head.h"\nint main(void) { bnn_head_config_t c;\n'
        "bnn_head_config_default(&c);\n"
        'printf("%u %u %u %u %u %lu %u %u %u %d %d %lu %d\\n", c.n_latent, c.n_hidden, c.max_classes,\n'
        "c.replay_k, c.epochs, (unsigned long)c.buffer_bytes, c.lr_mul, c.lr_shift, c.temp_shift,\n"
        "c.latent_clip, c.init_range, (unsigned long)c.seed, c.w1 == NULL);\nreturn 0; }\n"
    )
    exe = tmp_path / "defaults"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", f"-I{FIRMWARE / 'include'}", f"-I{FIRMWARE / 'src'}", str(prog),
                    *[str(FIRMWARE / s) for s in HEAD_SOURCES], "-o", str(exe)], check=True)  # fmt: skip
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    d = HeadConfig()
    assert got == [d.n_latent, d.n_hidden, d.max_classes, d.replay_k, d.epochs, d.buffer_bytes, d.lr_mul,
                   d.lr_shift, d.temp_shift, d.latent_clip, d.init_range, d.seed, 1]  # fmt: skip


def test_status_codes_are_the_c_enum(tmp_path: Path) -> None:
    prog = tmp_path / "status.c"
    prog.write_text('#include <stdio.h>\n#include "bnn/bnn_status.h"\nint main(void) {\n'
                    'printf("%d %d %d\\n", BNN_ERR_OP_TYPE, BNN_ERR_LABEL, BNN_ERR_EMPTY); return 0; }\n')
    exe = tmp_path / "status"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", f"-I{FIRMWARE / 'include'}", str(prog), "-o", str(exe)],
                   check=True)  # fmt: skip
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert [int(v) for v in got] == [STATUS_OP_TYPE, STATUS_LABEL, STATUS_EMPTY]


@pytest.mark.skipif(not HAVE_ARM, reason="arm-none-eabi-gcc / qemu-system-arm not installed")
@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m33"])
@pytest.mark.slow
def test_bit_exact_qemu(target: str, tmp_path: Path) -> None:
    cfg = HeadConfig()  # the digits-sized head: N=256, H=128, 10 classes, 4 KiB buffer
    stream = _stream(cfg, seed=11, per_class=(25, 35), n_test=8)
    c = run_c_stream(stream, target, tmp_path)
    py = run_sim_stream(stream)
    _assert_same(c, py, stream)
    # on the 32-bit target every byte is accounted for, control block included
    want = head_memory(cfg, control_bytes=CONTROL_BYTES_CORTEX_M)
    assert c.mem == want
    assert c.mem["total"] <= 65536


@pytest.mark.parametrize("target", ["host", pytest.param("qemu-m4", marks=[pytest.mark.slow, pytest.mark.skipif(
    not HAVE_ARM, reason="arm-none-eabi-gcc / qemu-system-arm not installed")])])
def test_w1_given_bit_exact(target: str, cil_build: Path) -> None:
    """A stream with its own W1 (``cil_config[15] = 1``, ``cil_w1`` in flash, as ``--w1 trained``):
    C == twin, W1 costs no RAM, and it is really used (other predictions than the PRNG W1)."""
    cfg = HeadConfig()
    stream = _stream(cfg, seed=3, per_class=(20, 30), n_test=10)
    rng = np.random.default_rng(9)
    stream.w1 = rng.integers(0, 2**32, (cfg.n_hidden, cfg.n_latent // 32), dtype=np.uint64).astype(np.uint32)
    c = run_c_stream(stream, target, cil_build)
    py = run_sim_stream(stream)
    _assert_same(c, py, stream)
    assert c.mem["w1_bits"] == 0
    assert c.mem["arena"] == head_memory(cfg)["arena"] - cfg.n_hidden * cfg.n_latent // 8
    stream_prng = CilStream(cfg, stream.latents, stream.ops)
    assert not np.array_equal(run_sim_stream(stream_prng).predictions, py.predictions)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_head_needs_no_fpu(tmp_path: Path) -> None:
    """Compiled for a Cortex-M0 (no FPU, no divide), the head calls no float helper at all."""
    nm = shutil.which("arm-none-eabi-nm")
    assert nm is not None
    for src in HEAD_SOURCES:
        obj = tmp_path / (Path(src).stem + ".o")
        subprocess.run(
            ["arm-none-eabi-gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-mcpu=cortex-m0", "-mthumb",
             "-mfloat-abi=soft", f"-I{FIRMWARE / 'include'}", f"-I{FIRMWARE / 'src'}", "-c", str(FIRMWARE / src), "-o",
             str(obj)],
            check=True,
        )  # fmt: skip
        undefined = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True).stdout
        syms = [line.split()[-1] for line in undefined.splitlines() if line.strip()]
        floaty = [s for s in syms if s.startswith(("__aeabi_f", "__aeabi_d", "__aeabi_i2f", "__aeabi_ui2f"))
                  or s.endswith(("sf3", "df3", "sfsi", "dfsi", "sidf", "sisf")) or s in ("expf", "exp", "sqrtf")]  # fmt: skip
        assert floaty == [], (src, floaty)
        text = (FIRMWARE / src).read_text()
        assert "float" not in text and "double" not in text, src


def test_cil_app_runs_are_bounded_and_kill_the_whole_process_group(tmp_path):
    """A hung on-device learning app (make -> QEMU) is one error line at its timeout, and the
    grandchild dies with make (subprocess.run's timeout would leave it running)."""
    import os
    import time

    from bnn_edge.device.cil_app import _run
    from bnn_edge.errors import UserError

    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(UserError, match="the on-device learning app timed out after 1 s"):
        _run(["bash", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], timeout=1)
    pid = int(pid_file.read_text())
    for _ in range(50):  # the kill is asynchronous: give it a moment
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"grandchild {pid} still running")
    ok = _run(["bash", "-c", "echo IMG 1; echo done >&2"], timeout=30)
    assert ok.returncode == 0 and ok.stdout == "IMG 1\n" and ok.stderr == "done\n"
