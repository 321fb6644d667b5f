"""Build and run the C firmware with an exported model: natively, or on an emulated Cortex-M.

``bnn-edge run`` embeds the export's pack (``model_data.c``) and N test images
(``input_data.c``) into the example application (``firmware/app/``), builds it with
``make -C firmware app`` for the host or a Cortex-M core of the target table
(:mod:`bnn_edge.device.targets`: QEMU ``mps2-an386`` M4, ``mps2-an500`` M7, ``mps2-an505`` M33),
runs it, and parses one line per image::

    IMG <i> LATENT <hex of the latent tensor bytes> OUT <int32 logits ...>
    DONE <n> arena=<bytes>

Every latent bit and logit is compared with the simulator (:mod:`bnn_edge.sim`): ``bit_exact``.
The reference accuracy is the Keras model's on the same images, recorded by ``bnn-edge export``
(:func:`bnn_edge.export_dir.read_reference_predictions`): running an export loads no Keras model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bnn_edge.device.targets import board_targets, firmware_targets, lookup, resolve
from bnn_edge.errors import UserError
from converters import bnnpack as bp

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
_LINE = re.compile(r"^IMG (\d+) LATENT (\S+) OUT ?(.*)$")
# make cannot quote file names: a path with a space (or one of make's special characters) is
# reached through a symbolic link under a plain temporary directory instead
_MAKE_SAFE = re.compile(r"^[A-Za-z0-9_./+@,~=-]*$")
# bound on what a firmware run may print (stdout + stderr): the example app prints about
# 2 x (latent + output bytes) + 40 characters per image
OUTPUT_CAP_BYTES = 64 << 20


@dataclass
class DeviceOutput:
    latents: np.ndarray  # [N, latent bytes] uint8
    outputs: np.ndarray  # [N, classes] int32 (INT32 output) or [N, bytes] uint8
    arena_bytes: int
    stdout: str


BUILD_MARK = ".bnn-edge-build"  # in a --build-dir bnn-edge has built in: its files are ours to rewrite


def claim_build_dir(path: str | os.PathLike | None, create: bool = True) -> None:
    """A ``--build-dir`` the user named must be new, empty, or one bnn-edge built in before (it
    holds :data:`BUILD_MARK`): the build rewrites ``model_data.c``, ``input_data.c`` and make's
    outputs there, so a folder of the user's own files is refused, never overwritten. ``create``:
    make it and mark it (``False``: check only, e.g. for a dry run). ``None`` (the default build
    directory inside the export) is bnn-edge's own: nothing to check."""
    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"--build-dir {path}: a file, not a directory")
    if p.is_dir():
        try:
            names = sorted(os.listdir(p))
        except OSError as exc:
            raise UserError(f"--build-dir {path}: cannot list it ({exc.strerror or exc})") from None
        if names and BUILD_MARK not in names:
            shown = ", ".join(repr(n) for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            raise UserError(f"--build-dir {path}: holds {shown}, not a bnn-edge build; choose a new or empty "
                            f"directory (the build rewrites the C sources and make's outputs there)")
    if create:
        _make_dir(p)
        try:
            (p / BUILD_MARK).touch()
        except OSError as exc:
            raise UserError(f"--build-dir {path}: cannot write there ({exc.strerror or exc})") from None


def _make_dir(path: str | os.PathLike) -> Path:
    """Create a build directory; a :class:`UserError` when that is impossible."""
    path = Path(path).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create build directory {path} ({exc.strerror or exc})") from None
    return path


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run_bounded(cmd: list[str], timeout: float, max_bytes: int = OUTPUT_CAP_BYTES, what: str = "firmware",
                cwd: str | os.PathLike | None = None) -> Completed:
    """Run ``cmd`` reading its stdout and stderr line by line as it runs; at most ``max_bytes`` in
    all are kept. Past the cap (or past ``timeout`` seconds) the whole process group (make, QEMU,
    the app) is killed and a :class:`UserError` says why."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, start_new_session=True)
    lock = threading.Lock()
    total = [0]
    over = threading.Event()
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def pump(stream: Any, key: str) -> None:
        for line in iter(lambda: stream.readline(65536), b""):
            with lock:
                total[0] += len(line)
                if total[0] > max_bytes:
                    over.set()
                    break
                chunks[key].append(line)
        if over.is_set():
            kill()
        stream.close()

    threads = [threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill()
        proc.wait()
        raise UserError(f"{what} timed out after {timeout:.0f} s") from None
    finally:
        for t in threads:
            t.join(timeout=10)
    if over.is_set():
        raise UserError(f"{what} printed more than {max_bytes} bytes; stopped (a model with huge activations?)")
    dec = lambda key: b"".join(chunks[key]).decode("utf-8", "replace")  # noqa: E731
    return Completed(proc.returncode, dec("out"), dec("err"))


def failure_reason(stderr: str, stdout: str = "") -> str:
    """The most telling line of a failed firmware build or run: the application's own message
    (``bnn-app: model rejected: ... (status 25)``), else the compiler's or make's last line."""
    lines = [ln.strip() for ln in (stderr + "\n" + stdout).splitlines() if ln.strip()]
    for pick in (lambda ln: ln.startswith("bnn-"), lambda ln: "error" in ln.lower() and not ln.startswith("make"),
                 lambda ln: not ln.startswith("make")):
        found = [ln for ln in lines if pick(ln)]
        if found:
            return found[-1]
    return lines[-1] if lines else "(no output)"


def make_safe_path(path: Path, role: str) -> Path:
    """``path`` itself when make can take it as a word, else a stable symbolic link to it under the
    temporary directory (one per path and user), so that spaces in a path never reach make."""
    path = Path(path)
    if _MAKE_SAFE.match(str(path)):
        return path
    base = Path(tempfile.gettempdir()) / f"bnn-edge-paths-{os.getuid()}"
    if not _MAKE_SAFE.match(str(base)):
        raise UserError(f"{path}: make cannot use this path and the temporary directory {base} has spaces too; "
                        "use a path without spaces")
    base.mkdir(mode=0o700, exist_ok=True)
    link = base / f"{role}-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}"
    if not (link.is_symlink() and os.readlink(link) == str(path)):
        tmp = link.with_name(link.name + f".{os.getpid()}")
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(path, tmp)
        os.replace(tmp, link)
    return link


def make_command(goal: str, build_dir: Path, *args: str) -> list[str]:
    """``make -C firmware <goal> ...`` with every path make sees free of spaces (see :func:`make_safe_path`)."""
    fw = make_safe_path(FIRMWARE, "fw")
    cmd = ["make", "--no-print-directory", "-C", str(fw), goal]
    if fw != FIRMWARE:
        cmd.append(f"FW={fw}")  # a command-line variable: sub-makes use it too
    return cmd + list(args)


def input_c_source(images: np.ndarray) -> str:
    """``input_data.c``: N input tensors (uint8 ``[H,W,C]`` each) as one const array."""
    images = np.ascontiguousarray(images, np.uint8)
    n = len(images)
    per = int(np.prod(images.shape[1:]))
    flat = images.reshape(-1)
    rows = [", ".join(str(int(v)) for v in flat[i : i + 24]) for i in range(0, flat.size, 24)]
    return (
        "/* Generated by `bnn-edge run`: test images for the example app. */\n"
        '#include "input_data.h"\n\n'
        "const uint8_t bnn_inputs[] __attribute__((aligned(4))) = {\n  " + ",\n  ".join(rows) + "\n};\n"
        f"const uint32_t bnn_n_inputs = {n}u;\nconst uint32_t bnn_input_len = {per}u;\n"
    )


def check_toolchain(target: str) -> None:
    """A clear error when the compiler or QEMU a target (any spelling) needs is missing."""
    t = lookup(target)
    need = ["make", "gcc"] if t is not None and t.core == "host" else ["make", "arm-none-eabi-gcc", "qemu-system-arm"]
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        raise UserError(f"--target {target} needs {', '.join(missing)}: run `make setup` (installs the Debian packages)")


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless ``path`` already holds it (its object file then stays up to date for make)."""
    try:
        if path.read_text() == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    path.write_text(text)


def build_and_run(pack: bytes, images: np.ndarray, target: str, build_dir: Path, timeout: int = 900) -> DeviceOutput:
    """Build the example app for ``target`` with ``pack`` and ``images`` embedded; run it; parse its output."""
    row = resolve(target, firmware_targets(), "--target")
    check_toolchain(target)
    from bnn_edge.codegen.model_data import c_array_files

    parsed = bp.read_pack(pack)
    build_dir = _make_dir(build_dir)
    c_src, _ = c_array_files(pack)
    write_if_changed(build_dir / "model_data.c", c_src)  # batches of one run rebuild only input_data.c
    (build_dir / "input_data.c").write_text(input_c_source(images))
    arena = parsed.arena_bytes + parsed.scratch_bytes + 64
    b = make_safe_path(build_dir, "build")
    cmd = make_command("run-app", b, f"TARGET={row.core}", f"MODEL_C={b / 'model_data.c'}",
                       f"INPUT_C={b / 'input_data.c'}", f"BUILD={b / 'fw'}", f"ARENA_BYTES={max(arena, 64)}",
                       f"APP_TIMEOUT={timeout}")
    lat = parsed.tensors[parsed.latent_tensor].size_bytes if parsed.has_latent else 0
    per_image = 2 * lat + 12 * parsed.tensors[parsed.output_tensor].size_bytes + 64  # hex latent, decimal logits
    cap = min(OUTPUT_CAP_BYTES, (1 << 20) + 2 * per_image * len(images))
    proc = run_bounded(cmd, timeout + 300, cap, what=f"firmware on {target}")
    if proc.returncode != 0:
        raise UserError(f"firmware on {target} failed (exit {proc.returncode}): {failure_reason(proc.stderr, proc.stdout)}")
    return parse_output(proc.stdout, parsed, len(images))


def parse_output(stdout: str, pack: bp.Pack, n: int) -> DeviceOutput:
    """Parse the app's ``IMG``/``DONE`` lines into arrays (a clear error if any line is missing)."""
    out_spec = pack.tensors[pack.output_tensor]
    lat, outs, arena = [], [], -1
    for line in stdout.splitlines():
        m = _LINE.match(line.strip())
        if m:
            i = int(m.group(1))
            if i != len(lat):
                raise UserError(f"firmware output out of order: IMG {i} after {len(lat)} images")
            lat.append(np.frombuffer(bytes.fromhex(m.group(2)), np.uint8) if m.group(2) != "-" else np.zeros(0, np.uint8))
            if out_spec.dtype == bp.DType.INT32:
                outs.append(np.array([int(v) for v in m.group(3).split()], np.int32))
            else:
                outs.append(np.frombuffer(bytes.fromhex(m.group(3).strip()), np.uint8))
        elif line.startswith("DONE"):
            mm = re.search(r"arena=(\d+)", line)
            arena = int(mm.group(1)) if mm else -1
    if len(lat) != n or arena < 0:
        raise UserError(f"firmware printed {len(lat)} of {n} results{' and no DONE line' if arena < 0 else ''}")
    return DeviceOutput(np.stack(lat), np.stack(outs), arena, stdout)


def image_size(target: str, build_dir: Path) -> dict[str, int] | None:
    """Flash (text+data) and static RAM (data+bss) of the built image (``arm-none-eabi-size``/``size``)."""
    fw = Path(build_dir) / "fw"
    host = resolve(target, firmware_targets(), "--target").core == "host"
    elf = fw / ("app" if host else "app.elf")
    tool = "size" if host else "arm-none-eabi-size"
    if not elf.exists() or shutil.which(tool) is None:
        return None
    out = subprocess.run([tool, str(elf)], capture_output=True, text=True).stdout.splitlines()
    if len(out) < 2:
        return None
    text, data, bss = (int(v) for v in out[1].split()[:3])
    return {"flash_bytes": text + data, "ram_bytes": data + bss, "text": text, "data": data, "bss": bss}


def run_export(export_dir: str | os.PathLike, target: str = "host", images: int = 200,
               build_dir: str | os.PathLike | None = None, board: str | None = None,
               batch_images: int | None = None) -> dict[str, Any]:
    """``bnn-edge run``: device accuracy vs the Keras model on the same images (its predictions as
    recorded by ``bnn-edge export``), and bit-exactness vs the simulator.

    ``board``: a real board's image (:mod:`bnn_edge.device.board_image`) on QEMU's model of that
    board, instead of ``target``.

    The images go through the firmware and the simulator ``batch_images`` at a time (default
    :data:`bnn_edge.batches.BATCH_IMAGES`): one build and run of the app per batch (only
    ``input_data.c`` is recompiled), so neither the generated C, the compiler, the image's flash
    nor the simulator grow with ``images``. ``image`` is the memory of the first batch's build
    (the one with the most embedded images)."""
    from bnn_edge.batches import map_batches, sim_batches
    from bnn_edge.export_dir import read_export_dir, run_test_images

    if images < 1:
        raise UserError(f"--images {images}: must be >= 1")
    if board is not None:  # an unknown board (or one QEMU does not model): one error line first
        from bnn_edge.device.board_image import build_and_run_board, image_memory, qemu_board

        name = qemu_board(board).name
    else:
        name = resolve(target, firmware_targets(), "--target").name
    e = read_export_dir(export_dir)
    export_dir, pack_bytes, pack, run = e.path, e.pack_bytes, e.pack, e.run
    if e.run_dir is None:  # an export of a model file: the reference images it stored
        from bnn_edge.export_model import read_reference_images

        x, y = read_reference_images(export_dir, images)
    else:
        x, y = run_test_images(run, images)
    want = tuple(int(v) for v in pack.tensors[pack.input_tensor].shape)
    if tuple(x.shape[1:]) != want:  # a dataset changed since the export (or another one): say so now, not after a build
        raise UserError(f"{export_dir}: the model takes {'x'.join(map(str, want))} images but its dataset "
                        f"({run.get('dataset') if e.run_dir is not None else 'reference images'}) now gives "
                        f"{'x'.join(map(str, x.shape[1:]))}; re-export the run or restore the data")
    build = Path(build_dir) if build_dir else export_dir / f"build-{name}"
    first: dict[str, Any] = {}

    def on_device(xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if board is not None:
            dev, elf = build_and_run_board(pack_bytes, xb, name, build)
            if not first:
                first["image"] = image_memory(elf, qemu_board(name))
        else:
            dev = build_and_run(pack_bytes, xb, name, build)
            if not first:
                first["image"] = image_size(name, build)
        first.setdefault("arena", dev.arena_bytes)
        return dev.latents, dev.outputs.reshape(len(xb), -1)

    dev_lat, dev_out = map_batches(on_device, x, batch=batch_images, desc=f"firmware on {name}")
    image, arena = first["image"], first["arena"]
    sim = sim_batches(pack, x, batch=batch_images, desc="simulator")
    sim_out = sim["output"].reshape(len(x), -1)
    sim_lat = sim["latent"].reshape(len(x), -1).astype("<u4").view(np.uint8) if pack.has_latent else np.zeros((len(x), 0), np.uint8)
    bit_exact = bool(np.array_equal(dev_lat, sim_lat) and np.array_equal(dev_out.astype(np.int64), sim_out.astype(np.int64)))
    pred = np.argmax(dev_out, axis=1)
    return {
        "target": name,
        "images": int(len(x)),
        "accuracy": float(np.mean(pred == y)),
        "reference_accuracy": _reference_accuracy(export_dir, y),
        "bit_exact": bit_exact,
        "latent_bits_compared": int(sim_lat.size * 8),
        "arena_bytes": arena,
        "image": image,
    }


def _reference_accuracy(export_dir: Path, y: np.ndarray) -> float | None:
    """The Keras model's accuracy on the images labelled ``y`` (the first ``len(y)`` of the run's
    test images), from the predictions ``bnn-edge export`` recorded; None when it recorded none
    for all of them."""
    from bnn_edge.export_dir import read_reference_predictions

    ref = read_reference_predictions(export_dir)
    if ref is None or len(ref[0]) < len(y):
        return None
    pred, labels = ref[0][: len(y)], ref[1][: len(y)]
    if not np.array_equal(labels, y):
        raise UserError(f"{export_dir}: the Keras predictions recorded at export time are for other test images "
                        "(the dataset changed since `bnn-edge export`?); re-export the run")
    return float(np.mean(pred == y)) if len(y) else float("nan")


PROBES = ("pyocd", "openocd")


def flash_commands(elf: Path, probe: str, target_mcu: str, interface: str = "cmsis-dap") -> list[list[str]]:
    """The commands that write ``elf`` to a board through a debug probe.

    pyOCD: ``pyocd flash --no-wait --target <mcu> <elf>`` (pack-based targets, e.g. ``stm32f429zi``;
    no probe connected: an error at once, not a silent wait for one to be plugged in);
    OpenOCD: ``openocd -f interface/<interface>.cfg -f target/<mcu>.cfg -c "program <elf> verify reset exit"``
    (e.g. ``stm32f4x``).
    """
    if probe == "pyocd":
        return [["pyocd", "flash", "--no-wait", "--target", target_mcu, str(elf)]]
    if probe == "openocd":
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)?", interface or "") or ".." in interface:
            raise UserError(f"--interface {interface!r}: expected an OpenOCD interface name such as cmsis-dap or stlink")
        if any(ch in str(elf) for ch in "{}\\\n"):
            raise UserError(f"{elf}: OpenOCD cannot take a path with braces, backslashes or newlines; use another --out")
        # Tcl braces quote the path word for word (spaces included)
        return [["openocd", "-f", f"interface/{interface}.cfg", "-f", f"target/{target_mcu}.cfg",
                 "-c", f"program {{{elf}}} verify reset exit"]]
    raise UserError(f"--probe {probe}: expected one of {', '.join(PROBES)}")


def flash_export(export_dir: str | os.PathLike, probe: str, target_mcu: str, cpu: str = "m4", images: int = 1,
                 interface: str = "cmsis-dap", dry_run: bool = False, build_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """``bnn-edge flash``: build the example app for a real board with the export embedded, then flash it."""
    from bnn_edge.codegen.model_data import c_array_files

    from bnn_edge.export_dir import read_export_pack

    export_dir = Path(export_dir)
    if not target_mcu or not re.fullmatch(r"[A-Za-z0-9_.+-]+", target_mcu):
        raise UserError(f"--target-mcu {target_mcu!r}: expected a probe target name such as stm32f429zi (pyocd) or stm32f4x (openocd)")
    cpu = resolve(cpu, board_targets(), "--cpu", "core").core
    pack_bytes, pack, _info = read_export_pack(export_dir)  # hashes checked: never flash a modified pack
    build = (Path(build_dir) if build_dir else export_dir / f"build-flash-{cpu}").resolve()
    elf = build / "fw" / "app.elf"
    b = make_safe_path(build, "build")
    make = make_command("app", b, f"TARGET={cpu}", f"MODEL_C={b / 'model_data.c'}", f"INPUT_C={b / 'input_data.c'}",
                        f"BUILD={b / 'fw'}", f"ARENA_BYTES={pack.arena_bytes + pack.scratch_bytes + 64}")
    cmds = flash_commands(elf, probe, target_mcu, interface)
    result = {"build": make, "flash": cmds, "elf": str(elf), "dry_run": dry_run}
    if dry_run:  # the commands only: nothing created or written
        return result
    check_toolchain(cpu)
    _make_dir(build)
    c_src, _ = c_array_files(pack_bytes)
    (build / "model_data.c").write_text(c_src)
    h, w, c = pack.tensors[pack.input_tensor].shape
    (build / "input_data.c").write_text(input_c_source(np.zeros((images, h, w, c), np.uint8)))
    proc = run_bounded(make, 900, what="firmware build")
    if proc.returncode != 0:
        raise UserError(f"firmware build failed: {failure_reason(proc.stderr, proc.stdout)}")
    if shutil.which(cmds[0][0]) is None:
        hint = "pip install pyocd" if probe == "pyocd" else "apt-get install openocd"
        raise UserError(f"{cmds[0][0]} is not installed ({hint}); the image is built at {elf}")
    run_flash_commands(cmds)
    result["flashed"] = True
    return result


FLASH_TIMEOUT_S = 600


def run_flash_commands(cmds: list[list[str]], timeout: float = FLASH_TIMEOUT_S) -> None:
    """Run the probe commands in order (output captured, bounded, the process group killed after
    ``timeout`` s); the first failure is one :class:`UserError` with the tool's last output line."""
    for cmd in cmds:
        proc = run_bounded(cmd, timeout, what=cmd[0])
        if proc.returncode != 0:
            lines = ([ln for ln in proc.stderr.splitlines() if ln.strip()]  # the error, else the last words
                     or [ln for ln in proc.stdout.splitlines() if ln.strip()] or ["(no output)"])
            raise UserError(f"{cmd[0]} failed (exit {proc.returncode}): {lines[-1].strip()[:200]}")
