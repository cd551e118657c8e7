/*
 * utvm on Zephyr: start-up of the runtime and, with CONFIG_UTVM_RPC_SERVER, the RPC server
 * on a UART (CONFIG_UTVM_RPC_UART) or over TCP (CONFIG_UTVM_RPC_TCP). Everything is configured
 * through Kconfig (CONFIG_UTVM_*) and devicetree (chosen node zephyr,utvm-uart, else
 * zephyr,console).
 *
 *   #include <utvm/zephyr.h>
 *   int main(void) {
 *     if (utvm_zephyr_init() != 0) return 1;
 *     return utvm_zephyr_rpc_server_run();   // host-driven; never returns normally
 *   }
 */
#ifndef UTVM_ZEPHYR_H_
#define UTVM_ZEPHYR_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Gives the runtime its memory (CONFIG_UTVM_MEMORY_ARENA or _K_HEAP, CONFIG_UTVM_ARENA_SIZE,
 * CONFIG_UTVM_WORKSPACE_SIZE) and sets up its registry (TVMInitializeRuntime). Call once before
 * using the runtime; calling again starts over with empty memory. Returns 0, or a
 * tvm_crt_error_t with a message in TVMGetLastError() (also logged). */
int utvm_zephyr_init(void);

/* Bytes of runtime memory in use (0 with the k_heap when the heap cannot tell). */
size_t utvm_zephyr_memory_in_use(void);

#if defined(CONFIG_UTVM_RPC_UART) || defined(CONFIG_UTVM_RPC_TCP)
/* Serves the host on the devicetree UART, or on TCP port CONFIG_UTVM_RPC_TCP_PORT (one
 * connection at a time; each new one starts afresh), in the calling thread. Returns only on a
 * link or start-up failure (negative errno or tvm_crt_error_t, logged); after the host's
 * kShutdown it restarts the server in place, or reboots with
 * CONFIG_UTVM_RPC_REBOOT_ON_SHUTDOWN. */
int utvm_zephyr_rpc_server_run(void);

/* Same, in a thread of its own (CONFIG_UTVM_RPC_THREAD_STACK_SIZE / _PRIORITY). Returns 0 once
 * the thread runs, -EALREADY if it already does. */
int utvm_zephyr_rpc_server_start(void);
#endif

#ifdef __cplusplus
}
#endif
#endif /* UTVM_ZEPHYR_H_ */
