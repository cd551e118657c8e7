/*
 * utvm_zephyr_rpc_server_start(): the RPC server in a thread of its own. A separate file so
 * that applications serving from their own thread do not carry this thread's stack.
 */
#include <errno.h>
#include <utvm/zephyr.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/atomic.h>

LOG_MODULE_DECLARE(utvm, CONFIG_UTVM_LOG_LEVEL);

static void server_thread(void* p1, void* p2, void* p3) {
  ARG_UNUSED(p1);
  ARG_UNUSED(p2);
  ARG_UNUSED(p3);
  int rc = utvm_zephyr_rpc_server_run();
  LOG_ERR("RPC server thread ended (%d)", rc);
}

K_THREAD_STACK_DEFINE(utvm_rpc_stack, CONFIG_UTVM_RPC_THREAD_STACK_SIZE);
static struct k_thread utvm_rpc_thread;
static atomic_t started;

int utvm_zephyr_rpc_server_start(void) {
  if (!atomic_cas(&started, 0, 1)) return -EALREADY;
  k_thread_create(&utvm_rpc_thread, utvm_rpc_stack, K_THREAD_STACK_SIZEOF(utvm_rpc_stack),
                  server_thread, NULL, NULL, NULL, CONFIG_UTVM_RPC_THREAD_PRIORITY, 0, K_NO_WAIT);
  k_thread_name_set(&utvm_rpc_thread, "utvm_rpc");
  return 0;
}
