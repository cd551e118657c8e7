/*
 * Host-driven inference: starts utvm's microTVM RPC server on the devicetree UART
 * (chosen zephyr,utvm-uart, else zephyr,console). The host (utvm's host tools or TVM 0.18's
 * tvm.micro) then creates executors over the model linked in, sets inputs, runs, reads
 * outputs and times functions.
 */
#include <utvm/zephyr.h>

int main(void) {
  int rc = utvm_zephyr_init();
  if (rc == 0) rc = utvm_zephyr_rpc_server_run();
  return rc; /* only on failure; the reason was logged */
}
