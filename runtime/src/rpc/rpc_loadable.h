/* Model code the host uploads and loads at run time (rpc_loadable.c). */
#ifndef UTVM_RPC_LOADABLE_H_
#define UTVM_RPC_LOADABLE_H_

/* Registers tvm.rpc.server.upload, tvm.rpc.server.load_module and utvm.loadable.*
 * (UploadAppend, Unload, BytesInUse, StoreSize). */
int utvm_rpc_loadable_register(void);

#endif /* UTVM_RPC_LOADABLE_H_ */
