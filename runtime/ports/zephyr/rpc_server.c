/*
 * The RPC server on Zephyr (utvm/zephyr.h): bytes from the UART transport go to
 * utvm_rpc_server_feed() in one thread; replies go back through the transport.
 */
#include <tvm/runtime/crt/error_codes.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#if defined(CONFIG_UTVM_RPC_REBOOT_ON_SHUTDOWN)
#include <zephyr/logging/log_ctrl.h>
#include <zephyr/sys/reboot.h>
#endif

#include "uart_transport.h"

LOG_MODULE_DECLARE(utvm, CONFIG_UTVM_LOG_LEVEL);

/* Whole session messages are decoded in place in this buffer. */
static uint8_t rx_buf[CONFIG_UTVM_RPC_MAX_PACKET_SIZE] __aligned(8);

/* Feeds received bytes until the host shuts the server down or the transport fails. */
static int serve(utvm_rpc_server_t* server) {
  uint8_t chunk[128];
  for (;;) {
    int got = utvm_uart_transport_read(chunk, sizeof(chunk), K_FOREVER);
    if (got < 0) {
      LOG_ERR("RPC UART read failed (%d)", got);
      return got;
    }
    const uint8_t* bytes = chunk;
    size_t len = (size_t)got;
    while (len > 0) {
      int rc = utvm_rpc_server_feed(server, &bytes, &len);
      if (rc == kTvmErrorPlatformShutdown) return rc;
      if (rc < 0) {
        /* A reply was lost; the host will time out and may retry. Keep serving. */
        LOG_WRN("RPC reply not sent (%d)", rc);
      } else if (rc != 0) {
        LOG_ERR("RPC server stopped (0x%x): %s", (unsigned)rc, TVMGetLastError());
        return rc;
      }
    }
  }
}

int utvm_zephyr_rpc_server_run(void) {
  int rc = utvm_uart_transport_open();
  if (rc != 0) return rc;
  LOG_INF("RPC server on %s (%s reception, %d-byte messages)", utvm_uart_transport_name(),
          utvm_uart_transport_interrupt_driven() ? "interrupt-driven" : "polled",
          CONFIG_UTVM_RPC_MAX_PACKET_SIZE);
  for (;;) {
    utvm_rpc_server_t* server =
        utvm_rpc_server_init(rx_buf, sizeof(rx_buf), utvm_uart_transport_write, NULL);
    if (server == NULL) {
      LOG_ERR("RPC server start failed: %s", TVMGetLastError());
      return kTvmErrorSessionInvalidState;
    }
    rc = serve(server);
    if (rc != kTvmErrorPlatformShutdown) return rc;
#if defined(CONFIG_UTVM_RPC_REBOOT_ON_SHUTDOWN)
    LOG_INF("host shut the RPC server down: rebooting");
    LOG_PANIC();
    sys_reboot(SYS_REBOOT_COLD);
#else
    LOG_INF("host shut the RPC server down: restarting it");
#endif
  }
}
