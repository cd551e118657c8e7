/*
 * Decoding of minRPC packed sequences (wire doc section 4.4) and DLTensor records (4.4.1)
 * into TVMValue arrays, in place: strings are NUL-terminated inside the receive buffer,
 * tensors, shapes and byte arrays go to fixed slots. Nothing is allocated.
 */
#ifndef UTVM_RPC_ARGS_H_
#define UTVM_RPC_ARGS_H_

#include <tvm/runtime/c_runtime_api.h>
#include <utvm/config.h>
#include <utvm/error.h>
#include <utvm/rpc_server.h>

#include "rpc_reader.h"

/* Argument slots past the last argument (read as None): generated code may read one type
 * code more than it is given. */
#define UTVM_RPC_SPARE_ARGS 2

/* What an argument's value points to when it is a tensor or bytes (never both). */
typedef union {
  struct {
    DLTensor tensor;
    int64_t shape[UTVM_MAX_NDIM];
  };
  TVMByteArray bytes;
} utvm_rpc_arg_slot_t;

typedef struct {
  int num_args;
  TVMValue values[UTVM_RPC_MAX_ARGS + UTVM_RPC_SPARE_ARGS];
  int codes[UTVM_RPC_MAX_ARGS + UTVM_RPC_SPARE_ARGS];
  utvm_rpc_arg_slot_t slots[UTVM_RPC_MAX_ARGS];
} utvm_rpc_args_t;

/* A limit as text, for messages that name it (e.g. "0.." UTVM_RPC_STR(UTVM_MAX_NDIM)). */
#define UTVM_RPC_STR(x) UTVM_RPC_STR_(x)
#define UTVM_RPC_STR_(x) #x

/* The error for a request that ends before its last field. */
int utvm_rpc_truncated(void);

/* The error for a type code that cannot be used where it was given (the decoder's and
 * FreeHandle's). With messages it is a function, so the text exists once; without, a call
 * with the code alone is smaller. */
#if UTVM_ERROR_MESSAGES
int utvm_rpc_bad_type_code(int64_t type_code);
#else
#define utvm_rpc_bad_type_code(type_code) \
  ((void)(type_code), utvm_fail_code(kTvmErrorFunctionCallWrongArgType))
#endif

/* The error for bytes left over after a complete request (0 when there are none). */
int utvm_rpc_expect_end(const utvm_rpc_reader_t* r);

/* Reads a DLTensor record into t (shape into `shape`, which must hold UTVM_MAX_NDIM). The
 * layout is checked (rank, truncation, pointer width), not the data pointer. */
int utvm_rpc_read_tensor(utvm_rpc_reader_t* r, DLTensor* t, int64_t* shape);

/* Reads a u64 handle of this type code (kTVMOpaqueHandle, kTVMModuleHandle or
 * kTVMPackedFuncHandle); modules and functions must be live. */
int utvm_rpc_read_handle(utvm_rpc_reader_t* r, int type_code, void** out);

/* Reads a packed sequence that must end the packet and hold num_expected values (any
 * number when it is negative). Module and function handles are checked here, and with
 * real_tensors every tensor is a CPU tensor whose bytes this device allocated (without, only
 * the records' layout is: some requests carry templates without data). */
int utvm_rpc_read_args(utvm_rpc_reader_t* r, utvm_rpc_args_t* args, bool real_tensors,
                       int num_expected);

#endif /* UTVM_RPC_ARGS_H_ */
