#!/usr/bin/env bash
# bnn-edge: run a real-board image under QEMU until it prints its end line.
#   run_board_qemu.sh qemu-system-arm -M <machine> ... -serial stdio -kernel IMAGE.elf
# A board image has no semihosting, so it cannot stop QEMU: it prints "BNN-EXIT <status>" on its
# UART (ports/board/startup_board.c) and sleeps. This script copies QEMU's output (the UART) to
# stdout, stops QEMU at that line and exits with <status> (QEMU ending first: exit 125).
set -u
coproc QEMU_PROC { exec "$@" 2>&1; }
qpid=$QEMU_PROC_PID
trap 'kill "$qpid" 2>/dev/null; exit 124' TERM INT HUP  # stopped by `timeout`: QEMU goes too
status=125
while IFS= read -r line <&"${QEMU_PROC[0]}"; do
    line=${line%$'\r'}
    printf '%s\n' "$line"
    if [[ $line =~ ^BNN-EXIT\ (-?[0-9]+)$ ]]; then
        status=${BASH_REMATCH[1]}
        break
    fi
done
kill "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null
exit $(( status & 255 ))
