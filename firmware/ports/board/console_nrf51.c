/* bnn-edge: console on the nRF51 UART (TASKS_STARTTX +0x008, EVENTS_TXDRDY +0x11C, ENABLE +0x500,
 * PSELTXD +0x50C, TXD +0x51C, BAUDRATE +0x524); TX pin on GPIO P0 (0x50000000). */
#include "bnn_console.h"

#define UART_STARTTX BNN_REG(BNN_UART_BASE + 0x008u)
#define UART_TXDRDY BNN_REG(BNN_UART_BASE + 0x11Cu)
#define UART_ENABLE BNN_REG(BNN_UART_BASE + 0x500u)
#define UART_PSELTXD BNN_REG(BNN_UART_BASE + 0x50Cu)
#define UART_TXD BNN_REG(BNN_UART_BASE + 0x51Cu)
#define UART_BAUDRATE BNN_REG(BNN_UART_BASE + 0x524u)
#define GPIO_OUTSET BNN_REG(0x50000508u)
#define GPIO_PIN_CNF(p) BNN_REG(0x50000700u + 4u * (p))

#if BNN_UART_BAUD != 115200
#error "console_nrf51.c: only 115200 baud is tabled (BAUDRATE 0x01D7E000)"
#endif

void bnn_console_init(void) {
    GPIO_OUTSET = 1u << BNN_UART_TX_PIN;      /* idle high */
    GPIO_PIN_CNF(BNN_UART_TX_PIN) = 3u;       /* output, input buffer disconnected */
    UART_PSELTXD = BNN_UART_TX_PIN;
    UART_BAUDRATE = 0x01D7E000u;
    UART_ENABLE = 4u;
    UART_STARTTX = 1u;
}

void bnn_console_write(const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        UART_TXDRDY = 0u;
        UART_TXD = p[i];
        while (!UART_TXDRDY) {
        }
    }
}
