/*
 * Checks of values a host sends before anything uses them: pointers must fit this
 * device's address width, data ranges must lie inside memory the runtime handed out,
 * handles must designate live modules, functions and NDArrays, tensors must be CPU
 * tensors of sane rank and size. Each check returns 0 or an error code with a message
 * that names the request and the offending value.
 */
#ifndef UTVM_RPC_VALIDATE_H_
#define UTVM_RPC_VALIDATE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>
#include <utvm/ndarray.h>

/* A 64-bit wire value as a pointer of this device (fails if it does not fit). */
int utvm_rpc_check_pointer(uint64_t value, void** out, const char* what);

int utvm_rpc_check_device(DLDevice dev, const char* what);

/* Bytes of a compact tensor of this shape and dtype; fails on negative dims or overflow. */
int utvm_rpc_tensor_nbytes(const DLTensor* t, uint64_t* nbytes, const char* what);

/* [t->data + t->byte_offset + offset, ... + nbytes) lies inside one live data allocation. */
int utvm_rpc_check_data_range(const DLTensor* t, uint64_t nbytes, const char* what);

/* A tensor argument handed to a function: CPU, sane shape, all its bytes addressable. */
int utvm_rpc_check_tensor_arg(const DLTensor* t, const char* what);

/* A call into the system library, i.e. into TVM-generated code, which reads its arguments
 * without any check: every argument must be a tensor (the server vouched for its bytes).
 * Calls of other functions (the runtime's, executors') pass: those check for themselves. */
int utvm_rpc_check_generated_call(void* func_handle, const int* codes, int num_args,
                                  const char* what);

int utvm_rpc_check_module(void* handle, const char* what);
int utvm_rpc_check_function(void* handle, const char* what);
/* The live NDArray `handle` designates (as utvm_ndarray_from_handle), or NULL + message. */
TVMNDArray* utvm_rpc_check_ndarray(void* handle, const char* what);

#endif /* UTVM_RPC_VALIDATE_H_ */
