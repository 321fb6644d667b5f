/* bnn-edge: STM32 (F4, H7): clock the UART and its TX pin's GPIO port, put the TX pin in its
 * alternate function. The GPIO block (MODER at +0x00, AFRL/AFRH at +0x20/+0x24) is the same on
 * both families; the RCC registers differ and come from the board definition. */
#ifndef BNN_CONSOLE_STM32_GPIO_H
#define BNN_CONSOLE_STM32_GPIO_H

#include "bnn_console.h"

static inline void bnn_stm32_tx_pin_init(void) {
    BNN_REG(BNN_UART_GPIOEN_REG) |= 1u << BNN_UART_GPIOEN_BIT;
    BNN_REG(BNN_UART_CLKEN_REG) |= 1u << BNN_UART_CLKEN_BIT;
    (void)BNN_REG(BNN_UART_CLKEN_REG); /* the enable takes effect before the first access */
    const uint32_t pin = BNN_UART_TX_PIN;
    const uint32_t afr = BNN_UART_TX_GPIO + 0x20u + 4u * (pin >> 3);
    const uint32_t sh = 4u * (pin & 7u);
    BNN_REG(afr) = (BNN_REG(afr) & ~(0xFu << sh)) | ((uint32_t)BNN_UART_TX_AF << sh);
    BNN_REG(BNN_UART_TX_GPIO) = (BNN_REG(BNN_UART_TX_GPIO) & ~(3u << (2u * pin))) | (2u << (2u * pin));
}

/* USARTDIV for 16x oversampling, rounded: BRR = f_ck / baud */
#define BNN_STM32_BRR ((uint32_t)(((uint64_t)BNN_BOARD_CLOCK_HZ + BNN_UART_BAUD / 2u) / BNN_UART_BAUD))

#endif
