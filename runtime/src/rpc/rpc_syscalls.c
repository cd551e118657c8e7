/* Syscalls (RPC codes >= 9, wire doc section 4.5.4): global lookup, handle freeing, device
 * memory, streams. Argument counts and type codes are those TVM's host sends; anything
 * else gets an exception (TVM's device would hang). */
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>

#include "host_allocs.h"
#include "rpc_args.h"
#include "rpc_codes.h"
#include "rpc_dispatch.h"
#include "rpc_reply.h"
#include "rpc_validate.h"

typedef struct {
  const char* name;
  int num_args;
  int codes[4];
} syscall_signature_t;

/* Signatures indexed by code - UTVM_RPC_GET_GLOBAL_FUNC; num_args < 0: not supported. */
static const syscall_signature_t kSignatures[] = {
    {"GetGlobalFunc", 1, {kTVMStr}},
    {"FreeHandle", 2, {kTVMOpaqueHandle, kTVMArgInt}},
    {"DevSetDevice", -1, {0}},
    {"DevGetAttr", -1, {0}},
    {"DevAllocData", 4, {kDLDevice, kTVMArgInt, kTVMArgInt, kTVMDataType}},
    {"DevFreeData", 2, {kDLDevice, kTVMOpaqueHandle}},
    {"DevStreamSync", 2, {kDLDevice, kTVMOpaqueHandle}},
    {"CopyAmongRemote", 3, {kTVMDLTensorHandle, kTVMDLTensorHandle, kTVMOpaqueHandle}},
    {"DevAllocDataWithScope", 2, {kTVMDLTensorHandle, kTVMNullptr}},
    {"DevCreateStream", 1, {kDLDevice}},
    {"DevFreeStream", 2, {kDLDevice, kTVMOpaqueHandle}},
    {"DevSetStream", 2, {kDLDevice, kTVMOpaqueHandle}},
};

/* The messages TVM's device answers unsupported syscalls with. */
static const char* unsupported_message(int32_t code) {
  switch (code) {
    case UTVM_RPC_DEV_SET_DEVICE:
      return "SetDevice not supported";
    case UTVM_RPC_DEV_GET_ATTR:
      return "GetAttr not supported";
    default:
      return "Syscall not recognized";
  }
}

static int free_handle(const utvm_rpc_args_t* a) {
  void* handle = a->values[0].v_handle;
  int64_t type_code = a->values[1].v_int64;
  switch (type_code) {
    case kTVMNDArrayHandle:
      if (utvm_rpc_check_ndarray(handle, "FreeHandle") == NULL) return kTvmErrorFunctionCallInvalidArg;
      return TVMArrayFree(handle);
    case kTVMPackedFuncHandle: {
      int rc = utvm_rpc_check_function(handle, "FreeHandle");
      return rc != 0 ? rc : TVMFuncFree(handle);
    }
    case kTVMModuleHandle: {
      int rc = utvm_rpc_check_module(handle, "FreeHandle");
      return rc != 0 ? rc : TVMModFree(handle);
    }
    case kTVMObjectHandle:
      return 0; /* no objects live on this device: nothing to free, as in TVM */
    default:
      return utvm_fail(kTvmErrorFunctionCallWrongArgType,
                       "FreeHandle: type code %lld is not 8, 9, 10 or 13", (long long)type_code);
  }
}

static int alloc_data(const utvm_rpc_args_t* a, void** out) {
  DLDevice dev = a->values[0].v_device;
  int64_t nbytes = a->values[1].v_int64;
  int64_t alignment = a->values[2].v_int64;
  int rc = utvm_rpc_check_device(dev, "DevAllocData");
  if (rc != 0) return rc;
  if (nbytes < 0 || alignment < 1 || (uint64_t)nbytes > (uint64_t)SIZE_MAX / 2 ||
      (uint64_t)alignment > 4096) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "DevAllocData: %lld bytes aligned to %lld is not a valid request",
                     (long long)nbytes, (long long)alignment);
  }
  /* Rounded up to a multiple of the alignment, as TVM's device does. */
  uint64_t rounded = ((uint64_t)nbytes + (uint64_t)alignment - 1) / (uint64_t)alignment *
                     (uint64_t)alignment;
  return TVMDeviceAllocDataSpace(dev, (size_t)rounded, (size_t)alignment,
                                 a->values[3].v_type, out);
}

static int alloc_data_with_scope(const utvm_rpc_args_t* a, void** out) {
  const DLTensor* t = &a->tensors[0];
  uint64_t nbytes;
  int rc = utvm_rpc_check_device(t->device, "DevAllocDataWithScope");
  if (rc == 0) rc = utvm_rpc_tensor_nbytes(t, &nbytes, "DevAllocDataWithScope");
  if (rc != 0) return rc;
  const char* scope = a->codes[1] == kTVMStr ? a->values[1].v_str : NULL;
  return TVMDeviceAllocDataSpaceWithScope(t->device, t->ndim, t->shape, t->dtype, scope, out);
}

static int copy_among_remote(const utvm_rpc_args_t* a) {
  int rc = utvm_rpc_check_tensor_arg(&a->tensors[0], "CopyAmongRemote source");
  if (rc == 0) rc = utvm_rpc_check_tensor_arg(&a->tensors[1], "CopyAmongRemote destination");
  if (rc != 0) return rc;
  return TVMDeviceCopyDataFromTo((DLTensor*)&a->tensors[0], (DLTensor*)&a->tensors[1], NULL);
}

void utvm_rpc_syscall(utvm_rpc_server_t* s, int32_t code, utvm_rpc_reader_t* r) {
  int index = code - UTVM_RPC_GET_GLOBAL_FUNC;
  if (index >= (int)(sizeof(kSignatures) / sizeof(kSignatures[0])) ||
      kSignatures[index].num_args < 0) {
    utvm_rpc_reply_exception(s, unsupported_message(code));
    return;
  }
  const syscall_signature_t* sig = &kSignatures[index];
  utvm_rpc_args_t* a = &s->args;
  int rc = utvm_rpc_read_args(r, a, sig->name);
  if (rc == 0 && r->left != 0) {
    rc = utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: %lu unexpected bytes after the request",
                   sig->name, (unsigned long)r->left);
  }
  /* DevAllocDataWithScope's scope is either None or a string. */
  int codes[4] = {sig->codes[0], sig->codes[1], sig->codes[2], sig->codes[3]};
  if (code == UTVM_RPC_DEV_ALLOC_DATA_WITH_SCOPE && a->num_args == 2 && a->codes[1] == kTVMStr) {
    codes[1] = kTVMStr;
  }
  if (rc == 0) rc = utvm_rpc_expect_args(a, sig->name, sig->num_args, codes);
  void* ptr = NULL;
  if (rc == 0) {
    switch (code) {
      case UTVM_RPC_GET_GLOBAL_FUNC:
        /* An unknown name is handle 0, not an error (the host reports it). */
        rc = TVMFuncGetGlobal(a->values[0].v_str, &ptr);
        break;
      case UTVM_RPC_FREE_HANDLE:
        rc = free_handle(a);
        break;
      case UTVM_RPC_DEV_ALLOC_DATA:
      case UTVM_RPC_DEV_ALLOC_DATA_WITH_SCOPE:
        rc = code == UTVM_RPC_DEV_ALLOC_DATA ? alloc_data(a, &ptr) : alloc_data_with_scope(a, &ptr);
        if (rc == 0) {
          rc = utvm_host_allocs_add(ptr);
          if (rc != 0) TVMDeviceFreeDataSpace((DLDevice){kDLCPU, 0}, ptr);
        }
        break;
      case UTVM_RPC_DEV_FREE_DATA:
        rc = utvm_rpc_check_device(a->values[0].v_device, sig->name);
        if (rc == 0 && !utvm_host_allocs_remove(a->values[1].v_handle)) {
          rc = utvm_fail(kTvmErrorFunctionCallInvalidArg,
                         "DevFreeData: 0x%llx was not allocated with DevAllocData (or is freed)",
                         (unsigned long long)(uintptr_t)a->values[1].v_handle);
        }
        if (rc == 0) rc = TVMDeviceFreeDataSpace(a->values[0].v_device, a->values[1].v_handle);
        break;
      case UTVM_RPC_COPY_AMONG_REMOTE:
        rc = copy_among_remote(a);
        break;
      default: /* stream syscalls: everything is synchronous on this device */
        rc = utvm_rpc_check_device(a->values[0].v_device, sig->name);
        break;
    }
  }
  if (rc != 0) {
    utvm_rpc_reply_error(s, sig->name, rc);
    return;
  }
  switch (code) {
    case UTVM_RPC_GET_GLOBAL_FUNC:
    case UTVM_RPC_DEV_ALLOC_DATA:
    case UTVM_RPC_DEV_ALLOC_DATA_WITH_SCOPE:
    case UTVM_RPC_DEV_CREATE_STREAM: /* no streams: handle 0 (TVM sends garbage here) */
      utvm_rpc_reply_handle(s, (uint64_t)(uintptr_t)ptr);
      return;
    default:
      utvm_rpc_reply_void(s);
      return;
  }
}
