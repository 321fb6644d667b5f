/* bnn-edge: console on an STM32F1/F2/F4 USART (SR +0x00, DR +0x04, BRR +0x08, CR1 +0x0C). */
#include "bnn_console.h"
#include "console_stm32_gpio.h"

#define USART_SR BNN_REG(BNN_UART_BASE + 0x00u)
#define USART_DR BNN_REG(BNN_UART_BASE + 0x04u)
#define USART_BRR BNN_REG(BNN_UART_BASE + 0x08u)
#define USART_CR1 BNN_REG(BNN_UART_BASE + 0x0Cu)
#define SR_TXE (1u << 7)
#define SR_TC (1u << 6)
#define CR1_UE (1u << 13)
#define CR1_TE (1u << 3)

void bnn_console_init(void) {
    bnn_stm32_tx_pin_init();
    USART_CR1 = 0u;
    USART_BRR = BNN_STM32_BRR;
    USART_CR1 = CR1_UE | CR1_TE;
}

void bnn_console_write(const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        while (!(USART_SR & SR_TXE)) {
        }
        USART_DR = p[i];
    }
    while (!(USART_SR & SR_TC)) {
    }
}
