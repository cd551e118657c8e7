/* Syscalls (RPC codes >= 9, wire doc section 4.5.4): global lookup, handle freeing, device
 * memory, streams. Argument counts and type codes are those TVM's host sends; anything
 * else gets an exception (TVM's device would hang). */
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>

#include "rpc_args.h"
#include "rpc_codes.h"
#include "rpc_dispatch.h"
#include "rpc_reply.h"
#include "rpc_validate.h"

/* A signature in one word: the argument count in the low nibble, each argument's type code
 * in the next nibbles, and the type code of the reply's value in the top nibble: RET_VOID,
 * or RET_HANDLE for a syscall that returns a handle (0 on this device for a stream);
 * NOT_SUPPORTED for a syscall this device does not support. kTVMNullptr stands for an
 * optional string: None or a string. */
#define SIG1(a) (1u | (a) << 4)
#define SIG2(a, b) (2u | (a) << 4 | (b) << 8)
#define SIG3(a, b, c) (3u | (a) << 4 | (b) << 8 | (c) << 12)
#define SIG4(a, b, c, d) (4u | (a) << 4 | (b) << 8 | (c) << 12 | (d) << 16)
#define RET_VOID ((uint32_t)kTVMNullptr << 28)
#define RET_HANDLE ((uint32_t)kTVMOpaqueHandle << 28)
/* A syscall this device does not support: no argument count, and where its message starts in
 * kUnsupported (TVM's device's own messages, kept even without UTVM_ERROR_MESSAGES). */
#define NOT_SUPPORTED(offset) ((uint32_t)(offset) << 4)
#define SET_DEVICE_TEXT "SetDevice not supported"
#define GET_ATTR_TEXT "GetAttr not supported"
static const char kUnsupported[] = SET_DEVICE_TEXT "\0" GET_ATTR_TEXT "\0" "Syscall not recognized";
#define SET_DEVICE_MSG 0
#define GET_ATTR_MSG sizeof(SET_DEVICE_TEXT)
#define UNKNOWN_MSG (sizeof(SET_DEVICE_TEXT) + sizeof(GET_ATTR_TEXT))
_Static_assert(kTVMStr < 16 && kTVMOpaqueHandle < 16 && kDLDevice < 16 && kTVMDataType < 16 &&
                   kTVMDLTensorHandle < 16 && kTVMNullptr < 16,
               "a type code in a nibble");

/* Indexed by code - UTVM_RPC_GET_GLOBAL_FUNC. */
static const uint32_t kSignatures[] = {
    SIG1(kTVMStr) | RET_HANDLE,                                     /* GetGlobalFunc(name) */
    SIG2(kTVMOpaqueHandle, kTVMArgInt) | RET_VOID,                  /* FreeHandle(h, type) */
    NOT_SUPPORTED(SET_DEVICE_MSG),                                  /* DevSetDevice */
    NOT_SUPPORTED(GET_ATTR_MSG),                                    /* DevGetAttr */
    SIG4(kDLDevice, kTVMArgInt, kTVMArgInt, kTVMDataType) | RET_HANDLE, /* DevAllocData */
    SIG2(kDLDevice, kTVMOpaqueHandle) | RET_VOID,                   /* DevFreeData */
    SIG2(kDLDevice, kTVMOpaqueHandle) | RET_VOID,                   /* DevStreamSync */
    SIG3(kTVMDLTensorHandle, kTVMDLTensorHandle, kTVMOpaqueHandle) | RET_VOID, /* CopyAmongRemote */
    SIG2(kTVMDLTensorHandle, kTVMNullptr) | RET_HANDLE,             /* DevAllocDataWithScope */
    SIG1(kDLDevice) | RET_HANDLE,                                   /* DevCreateStream */
    SIG2(kDLDevice, kTVMOpaqueHandle) | RET_VOID,                   /* DevFreeStream */
    SIG2(kDLDevice, kTVMOpaqueHandle) | RET_VOID,                   /* DevSetStream */
};

/* The argument types (read_args checked their number). */
static int check_signature(const utvm_rpc_args_t* a, uint32_t sig) {
  uint32_t types = sig;
  for (int i = 0; i < a->num_args; i++) {
    types >>= 4;
    int want = (int)(types & 15);
    int given = a->codes[i];
    if (given != want && !(want == kTVMArgInt && given == kTVMArgBool) &&
        !(want == kTVMNullptr && given == kTVMStr)) {
      return utvm_rpc_wrong_type(i, given, want);
    }
  }
  /* A device argument always comes first; this device has only cpu(0). */
  return (sig >> 4 & 15) == kDLDevice ? utvm_rpc_check_device(&a->values[0].v_device) : 0;
}

static int free_handle(const utvm_rpc_args_t* a) {
  void* handle = a->values[0].v_handle;
  int64_t type_code = a->values[1].v_int64;
  switch (type_code) {
    case kTVMNDArrayHandle:
      return TVMArrayFree(handle); /* checks that the array is live */
    case kTVMModuleHandle:
      return TVMModFree(handle); /* checks that the module is live */
    case kTVMPackedFuncHandle: {
      int rc = utvm_rpc_check_handle(handle, kTVMPackedFuncHandle);
      return rc != 0 ? rc : TVMFuncFree(handle);
    }
    case kTVMObjectHandle:
      return 0; /* no objects live on this device: nothing to free, as in TVM */
    default:
      return utvm_rpc_bad_type_code(type_code);
  }
}

static int alloc_data(const utvm_rpc_args_t* a, void** out) {
  int64_t nbytes = a->values[1].v_int64;
  int64_t alignment = a->values[2].v_int64;
  if (nbytes < 0 || (uint64_t)nbytes > SIZE_MAX / 2 || alignment < 1 || alignment > 4096) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "invalid size or alignment");
  }
  /* Rounded up to a multiple of the alignment, as TVM's device does (in size_t: the
   * bounds above keep it from overflowing). */
  size_t align = (size_t)alignment;
  size_t rounded = ((size_t)nbytes + align - 1) / align * align;
  return TVMDeviceAllocDataSpace(a->values[0].v_device, rounded, align, a->values[3].v_type, out);
}

/* Runs syscall `code` on checked arguments; *out is the handle it returns, if any. */
static int run(int32_t code, const utvm_rpc_args_t* a, void** out) {
  int rc;
  switch (code) {
    case UTVM_RPC_GET_GLOBAL_FUNC:
      /* An unknown name is handle 0, not an error (the host reports it). */
      return TVMFuncGetGlobal(a->values[0].v_str, out);
    case UTVM_RPC_FREE_HANDLE:
      return free_handle(a);
    case UTVM_RPC_DEV_ALLOC_DATA:
    case UTVM_RPC_DEV_ALLOC_DATA_WITH_SCOPE:
      if (code == UTVM_RPC_DEV_ALLOC_DATA) {
        rc = alloc_data(a, out);
      } else { /* from a template tensor; the runtime checks its device and shape */
        const DLTensor* t = &a->slots[0].tensor;
        /* The scope: a string, or None, which the decoder reads as NULL. */
        rc = TVMDeviceAllocDataSpaceWithScope(t->device, t->ndim, t->shape, t->dtype,
                                              a->values[1].v_str, out);
      }
      if (rc == 0) utvm_data_set_host_owned(*out);
      return rc;
    case UTVM_RPC_DEV_FREE_DATA:
      return utvm_data_free_host_owned(a->values[1].v_handle);
    case UTVM_RPC_COPY_AMONG_REMOTE:
      return TVMDeviceCopyDataFromTo((DLTensor*)&a->slots[0].tensor, (DLTensor*)&a->slots[1].tensor,
                                     NULL);
    default: /* stream syscalls: everything is synchronous on this device */
      return 0;
  }
}

int utvm_rpc_syscall(utvm_rpc_server_t* s, int32_t code, utvm_rpc_reader_t* r) {
  uint32_t index = (uint32_t)(code - UTVM_RPC_GET_GLOBAL_FUNC);
  uint32_t sig = index < sizeof(kSignatures) / sizeof(kSignatures[0]) ? kSignatures[index]
                                                                      : NOT_SUPPORTED(UNKNOWN_MSG);
  if ((sig & 15) == 0) {
    TVMAPISetLastError(kUnsupported + (sig >> 4));
    return kTvmErrorFunctionCallNotImplemented;
  }
  utvm_rpc_args_t* a = &s->args;
  void* handle = NULL;
  /* CopyAmongRemote's tensors are real; DevAllocDataWithScope's is a template. */
  int rc = utvm_rpc_read_args(r, a, code == UTVM_RPC_COPY_AMONG_REMOTE, (int)(sig & 15));
  if (rc == 0) rc = check_signature(a, sig);
  if (rc == 0) rc = run(code, a, &handle);
  if (rc != 0) return rc;
  /* No streams: DevCreateStream returns handle 0 (TVM sends garbage here). */
  return utvm_rpc_reply_return(s, (int)(sig >> 28), handle);
}
