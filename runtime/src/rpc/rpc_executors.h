/* The executors a host made through the server's executor modules, released in one place:
 * when a session ends (rpc_globals.c) and before loaded code goes away (rpc_loadable.c). It
 * sits below both and calls only the executor modules. */
#ifndef UTVM_RPC_EXECUTORS_H_
#define UTVM_RPC_EXECUTORS_H_

/* Frees the live AOT and graph executors (whichever the build has). */
void utvm_rpc_release_executors(void);

#endif /* UTVM_RPC_EXECUTORS_H_ */
