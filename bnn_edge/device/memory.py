"""RAM a device needs besides its model pack: the constants both accountings share.

``bnn-edge export`` (budget against ``--ram-kb``) and ``bnn-edge simulate`` (``ram_breakdown``) add up
RAM under the same key names: ``inference_arena`` (the pack's activation arena),
``inference_scratch`` (the kernels' scratch), ``stack_reserve`` (:data:`STACK_RESERVE_BYTES`).
"""

from __future__ import annotations

#: Stack reserved for the deepest call chain. Measured with ``-fstack-usage`` (GCC, -O2, Cortex-M4):
#: inference ~1.4 KiB (interpreter 280 B -> optimized BCONV2D 848 B with its receptive-field patch ->
#: xor-popcount 136 B, plus frames), learning ~0.6 KiB (bnn_store_commit 184 B -> state I/O 216 B
#: with a 64-byte chunk); they never nest. 2 KiB leaves room for the application's own frames.
STACK_RESERVE_BYTES = 2048

#: ``sizeof(bnn_model_t) + sizeof(bnn_interpreter_t)`` with arm-none-eabi-gcc for Cortex-M (52 + 20).
RUNTIME_CONTROL_BYTES = 72
