#!/usr/bin/env bash
# Installs the Debian packages bnn-edge's firmware needs, when missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail
need=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need+=(gcc-arm-none-eabi)
if ! command -v arm-none-eabi-gcc >/dev/null 2>&1 || [ ! -f "$(arm-none-eabi-gcc -print-file-name=librdimon.a 2>/dev/null)" ]; then
  need+=(libnewlib-arm-none-eabi)
fi
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
for extra in "$@"; do
  case "$extra" in
    clang)  # libFuzzer and the sanitizer runtimes come with libclang-rt-14-dev
      command -v clang >/dev/null 2>&1 || need+=(clang)
      if command -v dpkg >/dev/null 2>&1 && ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then need+=(libclang-rt-14-dev); fi ;;
    openocd)  # bnn-edge flash --board NAME --probe openocd
      command -v openocd >/dev/null 2>&1 || need+=(openocd) ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "setup: missing Debian packages: ${need[*]}" >&2
  echo "setup: run:  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
