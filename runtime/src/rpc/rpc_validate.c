/* Checks of host-supplied data ranges, handles and tensors (rpc_validate.h). */
#include "rpc_validate.h"

#include <string.h>

#include <tvm/runtime/crt/module.h>
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>
#include <utvm/rpc_server.h>
#include <utvm/signatures.h>

int utvm_rpc_check_device(const DLDevice* dev) {
  /* The wire's 32-bit device type, not the enum field: with one-byte enums (the ARM EABI's
   * default) the field holds only its low byte and the rest sits in padding. */
  int32_t type;
  memcpy(&type, dev, sizeof(type));
  if (type != kDLCPU || dev->device_id != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "device (%d, %d) not cpu(0)", (int)type,
                     (int)dev->device_id);
  }
  return 0;
}

int utvm_rpc_check_data_range(const DLTensor* t, uint64_t nbytes) {
  uintptr_t base = (uintptr_t)t->data;
  if (t->byte_offset > (uint64_t)(UINTPTR_MAX - base) || nbytes > (uint64_t)SIZE_MAX ||
      !utvm_data_range_valid((const void*)(base + (uintptr_t)t->byte_offset), (size_t)nbytes)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "%llu bytes at 0x%llx not in allocated memory", (unsigned long long)nbytes,
                     (unsigned long long)base + t->byte_offset);
  }
  return 0;
}

int utvm_rpc_check_tensor_arg(const DLTensor* t, size_t* nbytes) {
  int rc = utvm_rpc_check_device(&t->device);
  if (rc == 0) rc = utvm_shape_nbytes(t->ndim, t->shape, t->dtype, nbytes);
  if (rc == 0) rc = utvm_rpc_check_data_range(t, *nbytes);
  return rc;
}

int utvm_rpc_check_generated_call(void* func_handle, const TVMValue* values, const int* codes,
                                  int num_args) {
  TVMBackendPackedCFunc fn;
  void* resource;
  if (!utvm_func_from_handle(func_handle, &fn, &resource) ||
      !utvm_is_system_lib_function(resource)) {
    return 0; /* the runtime's own functions check their arguments themselves */
  }
  const utvm_op_signature_t* sig = utvm_op_signature_find(fn);
  if (sig != NULL) return utvm_op_signature_check(sig, "call", values, codes, num_args);
#if UTVM_RPC_UNCHECKED_OPERATOR_CALLS
  /* Opted in (tuning): only tensors whose bytes the server vouched for reach the function. */
  for (int i = 0; i < num_args; i++) {
    if (codes[i] != kTVMDLTensorHandle) return utvm_rpc_wrong_type(i, codes[i], kTVMDLTensorHandle);
  }
  return 0;
#else
  return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                   "no signature is known for this generated function: the host may call only "
                   "operators of a graph model directly (or build with "
                   "UTVM_RPC_UNCHECKED_OPERATOR_CALLS)");
#endif
}

int utvm_rpc_check_handle(void* handle, int type_code) {
  TVMBackendPackedCFunc fn;
  void* resource;
  bool live = type_code == kTVMModuleHandle ? utvm_module_from_handle(handle) != NULL
              : type_code == kTVMPackedFuncHandle ? utvm_func_from_handle(handle, &fn, &resource)
                                                  : true;
  if (!live) {
    /* The host knows which kind of handle it sent where; the value tells which one. */
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "0x%lx is not a live handle",
                     (unsigned long)(uintptr_t)handle);
  }
  return 0;
}
