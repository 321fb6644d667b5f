# Netduino Plus 2: STM32F405RG, Cortex-M4F (up to 168 MHz; runs on the 16 MHz HSI).
# 1 MiB flash, 128 KiB SRAM (+ 64 KiB CCM at 0x10000000, unused). QEMU models it
# (-M netduinoplus2); its serial0 is USART1, so that is the console: PA9 (AF7).
BOARD_TITLE = Netduino Plus 2 (STM32F405RG)
BOARD_CORE = m4
BOARD_CPU = cortex-m4
BOARD_FLASH = 0x08000000 1024K
BOARD_RAM = 0x20000000 128K
BOARD_STACK = 8K
BOARD_CLOCK_HZ = 16000000
BOARD_FLASH_PAGE = 16384
BOARD_FLASH_PROG = 4
BOARD_UART = stm32f4
BOARD_UART_BASE = 0x40011000
BOARD_UART_BAUD = 115200
# RCC_APB2ENR.USART1EN, RCC_AHB1ENR.GPIOAEN
BOARD_UART_CLKEN = 0x40023844 4 0x40023830 0
BOARD_UART_TX = 0x40020000 9 7
# pyOCD takes this part from its CMSIS pack: pyocd pack install stm32f405rg
BOARD_PYOCD = stm32f405rgtx
BOARD_OPENOCD = interface/stlink.cfg target/stm32f4x.cfg
BOARD_QEMU = netduinoplus2
