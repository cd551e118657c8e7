/* The global functions the RPC server adds to the runtime's registry. */
#ifndef UTVM_RPC_GLOBALS_H_
#define UTVM_RPC_GLOBALS_H_

/* Registers, after the core's runtime.SystemLib and tvm.rpc.server.ModuleGetFunction and in
 * TVM's order: runtime.RPCTimeEvaluator, tvm.rpc.server.GetCRTMaxPacketSize,
 * tvm.contrib.random.random_fill, then the executor modules' create functions and
 * utvm.rpc.GetMaxPacketSize. Re-registering (a restarted server) replaces them. */
int utvm_rpc_register_globals(void);

#endif /* UTVM_RPC_GLOBALS_H_ */
