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

/* When a session ends (the host terminates it, shuts the server down or starts a new one),
 * nobody can use its handles any more: frees everything the host made. Time evaluators and
 * executors first, so the arrays executors handed out are detached before the host's
 * references to them go; then those references and the host's DevAllocData memory. One
 * function, so that the server's calls of it are one call each. */
void utvm_rpc_release_host_state(void);

#endif /* UTVM_RPC_GLOBALS_H_ */
