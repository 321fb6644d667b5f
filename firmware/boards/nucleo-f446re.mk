# ST Nucleo-F446RE: STM32F446RE, Cortex-M4F (up to 180 MHz; the image runs on the 16 MHz HSI it
# resets to). Console: USART2 on PA2 (AF7), wired to the ST-LINK/V2-1's virtual COM port.
BOARD_TITLE = ST Nucleo-F446RE (STM32F446RE)
BOARD_CORE = m4
BOARD_CPU = cortex-m4
BOARD_FLASH = 0x08000000 512K
BOARD_RAM = 0x20000000 128K
BOARD_STACK = 16K
BOARD_CLOCK_HZ = 16000000
# sectors 0-3 are 16 KiB (the two-slot store takes sectors 1 and 2); programmed 32 bits at a time
BOARD_FLASH_PAGE = 16384
BOARD_FLASH_PROG = 4
BOARD_UART = stm32f4
BOARD_UART_BASE = 0x40004400
BOARD_UART_BAUD = 115200
# RCC enable register + bit of the UART (APB1ENR.USART2EN), then of its TX pin's port (AHB1ENR.GPIOAEN)
BOARD_UART_CLKEN = 0x40023840 17 0x40023830 0
# TX pin: GPIO port base, pin, alternate function
BOARD_UART_TX = 0x40020000 2 7
# pyOCD takes this part from its CMSIS pack: pyocd pack install stm32f446re
BOARD_PYOCD = stm32f446retx
BOARD_OPENOCD = board/st_nucleo_f4.cfg
BOARD_QEMU =
