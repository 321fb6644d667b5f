/* bnn-edge: the console of a real-board image: one polling UART driver per MCU family
 * (console_<family>.c, chosen by BOARD_UART in the board definition firmware/boards/<name>.mk).
 *
 * The driver's registers come from the definition as -D flags (set by firmware/boards.mk):
 *   BNN_UART_BASE                 peripheral base address
 *   BNN_UART_BAUD, BNN_BOARD_CLOCK_HZ   baud rate, and the peripheral clock it is derived from
 *   BNN_UART_CLKEN_REG/_BIT       STM32: RCC enable register and bit of the UART
 *   BNN_UART_GPIOEN_REG/_BIT      STM32: RCC enable register and bit of the TX pin's GPIO port
 *   BNN_UART_TX_GPIO, BNN_UART_TX_PIN, BNN_UART_TX_AF   TX pin: GPIO port base, pin, alternate
 *                                 function (nRF: BNN_UART_TX_PIN only, GPIO P0)
 * No interrupts, no DMA except the nRF52 UARTE's one-buffer EasyDMA, which the driver waits on. */
#ifndef BNN_CONSOLE_H
#define BNN_CONSOLE_H

#include <stdint.h>

/* Clocks the UART and its TX pin, sets the baud rate, enables the transmitter. */
void bnn_console_init(void);

/* Sends n bytes, waiting for each to leave the transmit register (no translation). */
void bnn_console_write(const uint8_t *p, uint32_t n);

#define BNN_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#endif /* BNN_CONSOLE_H */
