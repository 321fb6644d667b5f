/* bnn-edge: console on an STM32H7 (also L4/G4/F7) USART: CR1 +0x00, BRR +0x0C, ISR +0x1C,
 * TDR +0x28. */
#include "bnn_console.h"
#include "console_stm32_gpio.h"

#define USART_CR1 BNN_REG(BNN_UART_BASE + 0x00u)
#define USART_BRR BNN_REG(BNN_UART_BASE + 0x0Cu)
#define USART_ISR BNN_REG(BNN_UART_BASE + 0x1Cu)
#define USART_TDR BNN_REG(BNN_UART_BASE + 0x28u)
#define ISR_TXE (1u << 7) /* TXFNF with the FIFO enabled */
#define ISR_TC (1u << 6)
#define CR1_UE (1u << 0)
#define CR1_TE (1u << 3)

void bnn_console_init(void) {
    bnn_stm32_tx_pin_init();
    USART_CR1 = 0u;
    USART_BRR = BNN_STM32_BRR;
    USART_CR1 = CR1_UE | CR1_TE;
}

void bnn_console_write(const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        while (!(USART_ISR & ISR_TXE)) {
        }
        USART_TDR = p[i];
    }
    while (!(USART_ISR & ISR_TC)) {
    }
}
