/* bnn-edge: console on the nRF52 UARTE (EasyDMA from RAM): TASKS_STARTTX +0x008,
 * EVENTS_ENDTX +0x120, ENABLE +0x500 (8), PSEL.TXD +0x50C, PSEL.RXD +0x514, BAUDRATE +0x524,
 * TXD.PTR +0x544, TXD.MAXCNT +0x548, CONFIG +0x56C; TX pin on GPIO P0 (0x50000000). */
#include "bnn_console.h"

#define UARTE_STARTTX BNN_REG(BNN_UART_BASE + 0x008u)
#define UARTE_ENDTX BNN_REG(BNN_UART_BASE + 0x120u)
#define UARTE_ENABLE BNN_REG(BNN_UART_BASE + 0x500u)
#define UARTE_PSEL_TXD BNN_REG(BNN_UART_BASE + 0x50Cu)
#define UARTE_PSEL_RXD BNN_REG(BNN_UART_BASE + 0x514u)
#define UARTE_BAUDRATE BNN_REG(BNN_UART_BASE + 0x524u)
#define UARTE_TXD_PTR BNN_REG(BNN_UART_BASE + 0x544u)
#define UARTE_TXD_MAXCNT BNN_REG(BNN_UART_BASE + 0x548u)
#define UARTE_CONFIG BNN_REG(BNN_UART_BASE + 0x56Cu)
#define GPIO_OUTSET BNN_REG(0x50000508u)
#define GPIO_PIN_CNF(p) BNN_REG(0x50000700u + 4u * (p))

#if BNN_UART_BAUD != 115200
#error "console_nrf52.c: only 115200 baud is tabled (BAUDRATE 0x01D60000)"
#endif

/* EasyDMA reads RAM only: string literals in flash are copied here first */
static uint8_t tx_buf[64];

void bnn_console_init(void) {
    GPIO_OUTSET = 1u << BNN_UART_TX_PIN;
    GPIO_PIN_CNF(BNN_UART_TX_PIN) = 3u;
    UARTE_PSEL_TXD = BNN_UART_TX_PIN;
    UARTE_PSEL_RXD = 0xFFFFFFFFu; /* disconnected */
    UARTE_CONFIG = 0u;            /* no parity, no flow control */
    UARTE_BAUDRATE = 0x01D60000u;
    UARTE_ENABLE = 8u;
}

void bnn_console_write(const uint8_t *p, uint32_t n) {
    while (n > 0u) {
        const uint32_t m = n < sizeof(tx_buf) ? n : (uint32_t)sizeof(tx_buf);
        for (uint32_t i = 0; i < m; i++) tx_buf[i] = p[i];
        UARTE_ENDTX = 0u;
        UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx_buf;
        UARTE_TXD_MAXCNT = m;
        UARTE_STARTTX = 1u;
        while (!UARTE_ENDTX) {
        }
        p += m;
        n -= m;
    }
}
