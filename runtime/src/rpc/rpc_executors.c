/* Releasing the host's executors (rpc_executors.h). */
#include "rpc_executors.h"

#include <utvm/rpc_server.h> /* which executors the server has */
#if UTVM_RPC_AOT_EXECUTOR
#include <utvm/aot_executor.h>
#endif
#if UTVM_RPC_GRAPH_EXECUTOR
#include <utvm/graph_executor.h>
#endif

void utvm_rpc_release_executors(void) {
#if UTVM_RPC_AOT_EXECUTOR
  utvm_aot_executor_module_release();
#endif
#if UTVM_RPC_GRAPH_EXECUTOR
  utvm_graph_executor_module_release();
#endif
}
