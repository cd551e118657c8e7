/*
 * The RPC server's byte transport on Zephyr: the devicetree UART chosen as zephyr,utvm-uart
 * (else zephyr,console). Reception is interrupt-driven into a ring buffer when the driver
 * supports it, polled otherwise; transmission polls.
 */
#ifndef UTVM_ZEPHYR_UART_TRANSPORT_H_
#define UTVM_ZEPHYR_UART_TRANSPORT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zephyr/kernel.h>

/* Checks the UART and starts reception. 0, or -ENODEV when the device is not ready. */
int utvm_uart_transport_open(void);

/* Copies up to `max` received bytes into buf. Waits up to `timeout` for the first one;
 * returns how many were copied (0 when none came in time) or a negative errno. */
int utvm_uart_transport_read(uint8_t* buf, size_t max, k_timeout_t timeout);

/* utvm_rpc_write_fn: sends all `len` bytes, returns len (ctx unused). */
int utvm_uart_transport_write(void* ctx, const uint8_t* data, size_t len);

/* After open: true when reception is interrupt-driven, false when polled. */
bool utvm_uart_transport_interrupt_driven(void);

/* The UART's device name, for log lines. */
const char* utvm_uart_transport_name(void);

#endif /* UTVM_ZEPHYR_UART_TRANSPORT_H_ */
