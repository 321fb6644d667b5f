# BBC micro:bit v1: nRF51822 (QFAA), Cortex-M0 at 16 MHz. 256 KiB flash, 16 KiB RAM.
# Console: UART0, TX on P0.24, wired to the interface MCU's (DAPLink) virtual COM port.
# QEMU models it (-M microbit); serial0 is this UART.
BOARD_TITLE = BBC micro:bit v1 (nRF51822)
BOARD_CORE = m0
BOARD_CPU = cortex-m0
BOARD_FLASH = 0x00000000 256K
BOARD_RAM = 0x20000000 16K
BOARD_STACK = 3K
BOARD_CLOCK_HZ = 16000000
# 1 KiB pages, programmed one 32-bit word at a time
BOARD_FLASH_PAGE = 1024
BOARD_FLASH_PROG = 4
BOARD_UART = nrf51
BOARD_UART_BASE = 0x40002000
BOARD_UART_BAUD = 115200
BOARD_UART_TX = 24
BOARD_PYOCD = nrf51
BOARD_OPENOCD = interface/cmsis-dap.cfg target/nrf51.cfg
BOARD_QEMU = microbit
