/*
 * Decoding of minRPC packed sequences (wire doc section 4.4) and DLTensor records (4.4.1)
 * into TVMValue arrays, in place: strings are NUL-terminated inside the receive buffer,
 * tensors, shapes and byte arrays go to fixed slots. Nothing is allocated.
 */
#ifndef UTVM_RPC_ARGS_H_
#define UTVM_RPC_ARGS_H_

#include <tvm/runtime/c_runtime_api.h>
#include <utvm/config.h>
#include <utvm/rpc_server.h>

#include "rpc_reader.h"

/* Argument slots past the last argument (read as None): generated code may read one type
 * code more than it is given. */
#define UTVM_RPC_SPARE_ARGS 2

typedef struct {
  int num_args;
  TVMValue values[UTVM_RPC_MAX_ARGS + UTVM_RPC_SPARE_ARGS];
  int codes[UTVM_RPC_MAX_ARGS + UTVM_RPC_SPARE_ARGS];
  DLTensor tensors[UTVM_RPC_MAX_ARGS];
  int64_t shapes[UTVM_RPC_MAX_ARGS][UTVM_MAX_NDIM];
  TVMByteArray byte_arrays[UTVM_RPC_MAX_ARGS];
} utvm_rpc_args_t;

/* The error for a request that ends before its last field. */
int utvm_rpc_truncated(void);

/* The error for bytes left over after a complete request (0 when there are none). */
int utvm_rpc_expect_end(const utvm_rpc_reader_t* r);

/* Reads a DLTensor record into t (shape into `shape`, which must hold UTVM_MAX_NDIM). The
 * layout is checked (rank, truncation, pointer width), not the data pointer. */
int utvm_rpc_read_tensor(utvm_rpc_reader_t* r, DLTensor* t, int64_t* shape);

/* Reads a u64 handle of this type code (kTVMOpaqueHandle, kTVMModuleHandle or
 * kTVMPackedFuncHandle); modules and functions must be live. */
int utvm_rpc_read_handle(utvm_rpc_reader_t* r, int type_code, void** out);

/* Reads a packed sequence that must end the packet. Module and function handles are
 * checked here; tensor data is not (see utvm_rpc_check_tensor_args), since some requests
 * carry templates without data. */
int utvm_rpc_read_args(utvm_rpc_reader_t* r, utvm_rpc_args_t* args);

/* Exactly `num` arguments. */
int utvm_rpc_expect_num_args(const utvm_rpc_args_t* args, int num);

/* Every tensor argument is a CPU tensor whose bytes this device allocated. */
int utvm_rpc_check_tensor_args(const utvm_rpc_args_t* args);

#endif /* UTVM_RPC_ARGS_H_ */
