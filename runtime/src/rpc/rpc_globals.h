/* The global functions the RPC server adds to the runtime's registry. They sit below the
 * server: what they need of it comes as arguments, they never call back into it. */
#ifndef UTVM_RPC_GLOBALS_H_
#define UTVM_RPC_GLOBALS_H_

#include <stddef.h>

/* Registers, after the core's runtime.SystemLib and tvm.rpc.server.ModuleGetFunction and in
 * TVM's order: runtime.RPCTimeEvaluator, tvm.rpc.server.GetCRTMaxPacketSize,
 * tvm.contrib.random.random_fill, then the executor modules' create functions and
 * utvm.rpc.GetMaxPacketSize. `max_rpc_packet` is the largest RPC packet (packet_nbytes) the
 * server takes and sends. Re-registering (a restarted server) replaces them. */
int utvm_rpc_register_globals(size_t max_rpc_packet);

/* Releases what a host made through these functions: time evaluators and executors. */
void utvm_rpc_release_globals_state(void);

#endif /* UTVM_RPC_GLOBALS_H_ */
