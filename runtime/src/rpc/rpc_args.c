/* Packed-sequence and DLTensor-record decoding with every bound checked (rpc_args.h). */
#include "rpc_args.h"

#include <string.h>
#include <utvm/error.h>

#include "rpc_codes.h"
#include "rpc_validate.h"

/* "CallFunc argument 3" for messages (just the request when messages are compiled out). */
static const char* arg_name(char* buf, size_t size, const char* request, int index) {
#if UTVM_ERROR_MESSAGES
  size_t n = strlen(request);
  if (n + 21 > size) return request; /* " argument " + 10 digits + NUL */
  memcpy(buf, request, n);
  memcpy(buf + n, " argument ", 9);
  n += 9;
  char digits[12];
  int k = 0;
  unsigned v = (unsigned)index;
  do {
    digits[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (k > 0) buf[n++] = digits[--k];
  buf[n] = '\0';
  return buf;
#else
  (void)buf;
  (void)size;
  (void)index;
  return request;
#endif
}

static int truncated(const char* what) {
  return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: the request ends early (truncated packet)",
                   what);
}

int utvm_rpc_read_tensor(utvm_rpc_reader_t* r, DLTensor* t, int64_t* shape, const char* what) {
  uint64_t data = utvm_rpc_read_u64(r);
  t->device.device_type = (DLDeviceType)utvm_rpc_read_i32(r);
  t->device.device_id = utvm_rpc_read_i32(r);
  t->ndim = utvm_rpc_read_i32(r);
  t->dtype.code = utvm_rpc_read_u8(r);
  t->dtype.bits = utvm_rpc_read_u8(r);
  t->dtype.lanes = utvm_rpc_read_u16(r);
  if (!r->ok) return truncated(what);
  if (t->ndim < 0 || t->ndim > UTVM_MAX_NDIM) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: ndim %d is outside 0..%d (UTVM_MAX_NDIM)",
                     what, (int)t->ndim, UTVM_MAX_NDIM);
  }
  for (int32_t i = 0; i < t->ndim; i++) shape[i] = utvm_rpc_read_i64(r);
  t->shape = shape;
  t->strides = NULL; /* the wire has no strides: tensors are compact */
  t->byte_offset = utvm_rpc_read_u64(r);
  if (!r->ok) return truncated(what);
  return utvm_rpc_check_pointer(data, &t->data, what);
}

/* Reads argument i's payload for its type code. */
static int read_value(utvm_rpc_reader_t* r, utvm_rpc_args_t* a, int i, const char* what) {
  TVMValue* v = &a->values[i];
  int rc = 0;
  switch (a->codes[i]) {
    case kTVMArgInt:
    case kDLUInt:
    case kTVMArgBool:
      v->v_int64 = utvm_rpc_read_i64(r);
      break;
    case kTVMArgFloat: {
      uint64_t bits = utvm_rpc_read_u64(r);
      memcpy(&v->v_float64, &bits, sizeof(bits));
      break;
    }
    case kTVMNullptr:
      v->v_handle = NULL;
      break;
    case kTVMDataType:
      v->v_type.code = utvm_rpc_read_u8(r);
      v->v_type.bits = utvm_rpc_read_u8(r);
      v->v_type.lanes = utvm_rpc_read_u16(r);
      (void)utvm_rpc_read_i32(r); /* padding to 8 bytes */
      break;
    case kDLDevice:
      v->v_device.device_type = (DLDeviceType)utvm_rpc_read_i32(r);
      v->v_device.device_id = utvm_rpc_read_i32(r);
      break;
    case kTVMDLTensorHandle:
      rc = utvm_rpc_read_tensor(r, &a->tensors[i], a->shapes[i], what);
      v->v_handle = &a->tensors[i];
      break;
    case kTVMOpaqueHandle:
    case kTVMModuleHandle:
    case kTVMPackedFuncHandle: {
      uint64_t h = utvm_rpc_read_u64(r);
      if (!r->ok) break;
      rc = utvm_rpc_check_pointer(h, &v->v_handle, what);
      if (rc == 0 && a->codes[i] == kTVMModuleHandle) rc = utvm_rpc_check_module(v->v_handle, what);
      if (rc == 0 && a->codes[i] == kTVMPackedFuncHandle) {
        rc = utvm_rpc_check_function(v->v_handle, what);
      }
      break;
    }
    case kTVMStr: {
      uint64_t len = utvm_rpc_read_u64(r);
      uint8_t* s = utvm_rpc_read_bytes(r, len);
      if (s == NULL) break;
      if (memchr(s, '\0', (size_t)len) != NULL) {
        return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: the string contains a NUL byte",
                         what);
      }
      /* NUL-terminate in place: slide the text one byte back over the last byte of its
       * length field (already read), which leaves room for the terminator. */
      char* text = (char*)s - 1;
      memmove(text, s, (size_t)len);
      text[len] = '\0';
      v->v_str = text;
      break;
    }
    case kTVMBytes: {
      uint64_t len = utvm_rpc_read_u64(r);
      uint8_t* b = utvm_rpc_read_bytes(r, len);
      if (b == NULL) break;
      a->byte_arrays[i].data = (const char*)b;
      a->byte_arrays[i].size = (size_t)len;
      v->v_handle = &a->byte_arrays[i];
      break;
    }
    case kTVMObjectHandle:
      return utvm_fail(kTvmErrorFunctionCallWrongArgType,
                       "%s: object handles (type code 8) do not exist on this device", what);
    case kTVMNDArrayHandle:
      return utvm_fail(kTvmErrorFunctionCallWrongArgType,
                       "%s: NDArray handles (type code 13) cannot travel on the wire; send the "
                       "tensor as a DLTensor (type code 7)", what);
    default:
      return utvm_fail(kTvmErrorFunctionCallWrongArgType, "%s: invalid type code %d", what,
                       a->codes[i]);
  }
  if (rc != 0) return rc;
  return r->ok ? 0 : truncated(what);
}

int utvm_rpc_read_args(utvm_rpc_reader_t* r, utvm_rpc_args_t* a, const char* request) {
  char what[48];
  a->num_args = 0;
  int32_t n = utvm_rpc_read_i32(r);
  if (!r->ok) return truncated(request);
  if (n < 0 || n > UTVM_RPC_MAX_ARGS) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments,
                     "%s: %d arguments; this device accepts 0..%d (UTVM_RPC_MAX_ARGS)", request,
                     (int)n, UTVM_RPC_MAX_ARGS);
  }
  for (int32_t i = 0; i < n; i++) a->codes[i] = utvm_rpc_read_i32(r);
  if (!r->ok) return truncated(request);
  for (int32_t i = 0; i < n; i++) {
    int rc = read_value(r, a, i, arg_name(what, sizeof(what), request, i));
    if (rc != 0) return rc;
  }
  a->num_args = n;
  return 0;
}

int utvm_rpc_check_tensor_args(const utvm_rpc_args_t* a, const char* request) {
  char what[48];
  for (int i = 0; i < a->num_args; i++) {
    if (a->codes[i] != kTVMDLTensorHandle) continue;
    int rc = utvm_rpc_check_tensor_arg(&a->tensors[i], arg_name(what, sizeof(what), request, i));
    if (rc != 0) return rc;
  }
  return 0;
}

int utvm_rpc_expect_args(const utvm_rpc_args_t* a, const char* request, int num,
                         const int* codes) {
  if (a->num_args != num) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments, "%s takes %d arguments, %d given",
                     request, num, a->num_args);
  }
  for (int i = 0; i < num; i++) {
    int given = a->codes[i];
    if (given != codes[i] && !(codes[i] == kTVMArgInt && given == kTVMArgBool)) {
      return utvm_fail(kTvmErrorFunctionCallWrongArgType,
                       "%s: argument %d has type code %d, %d expected", request, i, given,
                       codes[i]);
    }
  }
  return 0;
}
