#!/usr/bin/env bash
# `make demo`: the whole chain on the bundled digits set, each step's output in $1 (default demo-out/).
#   train (pre-train 5 classes) -> cil (latent vs no replay) -> export -> firmware on QEMU -> simulate
set -euo pipefail
OUT=${1:-demo-out}
BNN=${BNN:-.venv/bin/bnn-edge}
mkdir -p "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/6 train: fully-binary tiny net on all 10 digits"
$BNN train --dataset digits --preset tiny --out "$OUT/train-full"

step "2/6 train: pre-training on the first 5 classes (the start of a CIL scenario)"
$BNN train --dataset digits --preset tiny --pretrain-classes 5 --out "$OUT/pretrain5"

step "3/6 cil: Split-Digits, 5 + 5x1 classes, latent replay in 0.02 Mb vs no replay (reusing the pre-training)"
$BNN cil --dataset digits --preset tiny --pretrain-classes 5 --tasks 5 --replay latent --buffer-mb 0.02 \
  --pretrained "$OUT/pretrain5" --out "$OUT/cil-latent"
$BNN cil --dataset digits --preset tiny --pretrain-classes 5 --tasks 5 --replay none \
  --pretrained "$OUT/pretrain5" --out "$OUT/cil-none"

step "4/6 export: LCE flatbuffer -> firmware model pack for a Cortex-M4"
$BNN export "$OUT/train-full" --target cortex-m --cpu cortex-m4 --out "$OUT/export-full"
$BNN export "$OUT/pretrain5" --target cortex-m --cpu cortex-m4 --head-classes 10 --buffer-kb 4 --out "$OUT/export-pretrain5"
# (to a file, not piped to head: with pipefail, head closing the pipe early would fail the demo)
$BNN inspect "$OUT/export-full/model.bnnpack" > "$OUT/export-full/inspect.txt"
head -8 "$OUT/export-full/inspect.txt"

step "5/6 run: the exported model on an emulated Cortex-M4 (QEMU mps2-an386)"
$BNN run "$OUT/export-full" --target qemu-m4 --images 200

step "6/6 simulate: on-device incremental learning, integer model vs float reference, C on host and QEMU M4"
$BNN simulate "$OUT/export-pretrain5" --cil --tasks 5 --buffer-kb 4 --ram-kb 64 --c-target host --c-target qemu-m4
printf '\nDemo outputs are in %s/\n' "$OUT"
