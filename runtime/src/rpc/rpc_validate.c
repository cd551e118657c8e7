/* Checks of host-supplied pointers, data ranges, handles and tensors (rpc_validate.h). */
#include "rpc_validate.h"

#include <utvm/error.h>
#include <utvm/memory.h>
#include <tvm/runtime/crt/module.h>
#include <utvm/registry.h>

/* Defined by generated code when a model is linked in. */
extern const TVMModule* TVMSystemLibEntryPoint(void) __attribute__((weak));

int utvm_rpc_check_pointer(uint64_t value, void** out, const char* what) {
  if (value > (uint64_t)UINTPTR_MAX) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "%s: 0x%llx is wider than this device's %u-bit addresses", what,
                     (unsigned long long)value, (unsigned)(sizeof(void*) * 8));
  }
  *out = (void*)(uintptr_t)value;
  return 0;
}

int utvm_rpc_check_device(DLDevice dev, const char* what) {
  if (dev.device_type != kDLCPU || dev.device_id != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "%s: device (%d, %d) does not exist here; this device only has cpu(0) = (1, 0)",
                     what, (int)dev.device_type, (int)dev.device_id);
  }
  return 0;
}

int utvm_rpc_tensor_nbytes(const DLTensor* t, uint64_t* nbytes, const char* what) {
  uint64_t n = ((uint64_t)t->dtype.bits * t->dtype.lanes + 7) / 8;
  for (int32_t i = 0; i < t->ndim; i++) {
    int64_t d = t->shape[i];
    if (d < 0) {
      return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: dimension %d is negative (%lld)",
                       what, (int)i, (long long)d);
    }
    if (d != 0 && n > (uint64_t)SIZE_MAX / (uint64_t)d) {
      return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                       "%s: the tensor's size overflows this device's address space", what);
    }
    n *= (uint64_t)d;
  }
  *nbytes = n;
  return 0;
}

int utvm_rpc_check_data_range(const DLTensor* t, uint64_t nbytes, const char* what) {
  uintptr_t base = (uintptr_t)t->data;
  if (t->byte_offset > (uint64_t)(UINTPTR_MAX - base) || nbytes > (uint64_t)SIZE_MAX ||
      !utvm_data_range_valid((const void*)(base + (uintptr_t)t->byte_offset), (size_t)nbytes)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "%s: %llu bytes at data 0x%llx + byte_offset %llu are not inside memory "
                     "this device allocated (DevAllocData or an executor's tensors)",
                     what, (unsigned long long)nbytes, (unsigned long long)base,
                     (unsigned long long)t->byte_offset);
  }
  return 0;
}

int utvm_rpc_check_tensor_arg(const DLTensor* t, const char* what) {
  uint64_t nbytes;
  int rc = utvm_rpc_check_device(t->device, what);
  if (rc == 0) rc = utvm_rpc_tensor_nbytes(t, &nbytes, what);
  if (rc == 0) rc = utvm_rpc_check_data_range(t, nbytes, what);
  return rc;
}

int utvm_rpc_check_generated_call(void* func_handle, const int* codes, int num_args,
                                  const char* what) {
  TVMBackendPackedCFunc fn;
  void* resource;
  if (TVMSystemLibEntryPoint == NULL || !utvm_func_from_handle(func_handle, &fn, &resource) ||
      resource != (void*)TVMSystemLibEntryPoint()->registry) {
    return 0;
  }
  for (int i = 0; i < num_args; i++) {
    if (codes[i] != kTVMDLTensorHandle) {
      return utvm_fail(kTvmErrorFunctionCallWrongArgType,
                       "%s: argument %d has type code %d; functions of the model (generated "
                       "code, which trusts its arguments) take tensors (type code 7) only",
                       what, i, codes[i]);
    }
  }
  return 0;
}

int utvm_rpc_check_module(void* handle, const char* what) {
  if (utvm_module_from_handle(handle) == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: 0x%llx is not a live module handle",
                     what, (unsigned long long)(uintptr_t)handle);
  }
  return 0;
}

int utvm_rpc_check_function(void* handle, const char* what) {
  TVMBackendPackedCFunc fn;
  void* resource;
  if (!utvm_func_from_handle(handle, &fn, &resource)) {
    return utvm_fail(kTvmErrorFunctionIndexInvalid, "%s: 0x%llx is not a live function handle",
                     what, (unsigned long long)(uintptr_t)handle);
  }
  return 0;
}

TVMNDArray* utvm_rpc_check_ndarray(void* handle, const char* what) {
  TVMNDArray* arr = utvm_ndarray_from_handle(handle);
  if (arr == NULL) {
    utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: 0x%llx is not a live NDArray handle", what,
              (unsigned long long)(uintptr_t)handle);
  }
  return arr;
}
