/*
 * Checks of values a host sends before anything uses them: data ranges must lie inside
 * memory the runtime handed out, handles must designate live modules and functions,
 * tensors must be CPU tensors of sane rank and size (that a wire pointer fits this
 * device's address width is the decoder's check, rpc_args.c). Each check returns 0 or an
 * error code with a message naming the offending value (the host knows which request it
 * sent).
 */
#ifndef UTVM_RPC_VALIDATE_H_
#define UTVM_RPC_VALIDATE_H_

#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>
#include <utvm/error.h>

/* The error for argument i of type code `given` where `want` was expected. Inline: its
 * callers are the syscalls' signature check and, built with UTVM_RPC_UNCHECKED_OPERATOR_CALLS,
 * the unchecked operator calls' loop. */
static inline int utvm_rpc_wrong_type(int i, int given, int want) {
  return utvm_fail(kTvmErrorFunctionCallWrongArgType, "arg %d has type code %d, not %d", i,
                   given, want);
}

/* A device decoded from the wire (its first 4 bytes are the wire's 32-bit device type). */
int utvm_rpc_check_device(const DLDevice* dev);

/* [t->data + t->byte_offset, ... + nbytes) lies inside one live data allocation. */
int utvm_rpc_check_data_range(const DLTensor* t, uint64_t nbytes);

/* A tensor argument handed to a function: CPU, sane shape, all its *nbytes addressable. */
int utvm_rpc_check_tensor_arg(const DLTensor* t, size_t* nbytes);

/* A call into the system library, i.e. into TVM-generated code, which reads its arguments
 * without any check: the function must have a signature (utvm/signatures.h) and the
 * arguments match it (count; each a tensor of its dtype and byte size, whose bytes the
 * server vouched for). With UTVM_RPC_UNCHECKED_OPERATOR_CALLS, functions without a signature
 * take any tensors. Calls of other functions (the runtime's, executors') pass: those check
 * for themselves. */
int utvm_rpc_check_generated_call(void* func_handle, const TVMValue* values, const int* codes,
                                  int num_args);

/* A live module (kTVMModuleHandle) or function (kTVMPackedFuncHandle) handle; any other
 * type code passes. */
int utvm_rpc_check_handle(void* handle, int type_code);

#endif /* UTVM_RPC_VALIDATE_H_ */
