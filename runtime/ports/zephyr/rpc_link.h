/*
 * The byte link the RPC server runs over (rpc_server.c). One implementation is built, chosen
 * by Kconfig: uart_transport.c (CONFIG_UTVM_RPC_UART: the devicetree UART chosen as
 * zephyr,utvm-uart, else zephyr,console) or tcp_transport.c (CONFIG_UTVM_RPC_TCP: one TCP
 * connection at a time on CONFIG_UTVM_RPC_TCP_PORT).
 */
#ifndef UTVM_ZEPHYR_RPC_LINK_H_
#define UTVM_ZEPHYR_RPC_LINK_H_

#include <stddef.h>
#include <stdint.h>
#include <zephyr/kernel.h>

/* Bytes the server asks the link for at a time. */
#if defined(CONFIG_UTVM_RPC_TCP)
#define UTVM_RPC_LINK_CHUNK 1024
#else
#define UTVM_RPC_LINK_CHUNK 128
#endif

/* Sets the link up once (UART checked and reception started; TCP socket listening) and logs
 * what it is. 0, or a negative errno. */
int utvm_rpc_link_open(void);

/* Waits until a host is there: a UART always has one (returns at once); TCP accepts the next
 * connection, closing the previous one. 0, or a negative errno. */
int utvm_rpc_link_wait_host(void);

/* Copies up to `max` received bytes into buf. Waits up to `timeout` for the first one;
 * returns how many were copied (0 when none came in time), -ENOTCONN when the host went away
 * (TCP: it closed the connection), or another negative errno on failure. */
int utvm_rpc_link_read(uint8_t* buf, size_t max, k_timeout_t timeout);

/* utvm_rpc_write_fn: sends all `len` bytes, returns len or a negative errno (ctx unused). */
int utvm_rpc_link_write(void* ctx, const uint8_t* data, size_t len);

#endif /* UTVM_ZEPHYR_RPC_LINK_H_ */
