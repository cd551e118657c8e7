/* Packed-sequence and DLTensor-record decoding with every bound checked (rpc_args.h). */
#include "rpc_args.h"

#include <stddef.h>
#include <string.h>
#include <utvm/error.h>

#include "rpc_validate.h"

/* A DLTensor record's device, ndim and dtype are 16 wire bytes in the struct's own order. */
_Static_assert(offsetof(DLTensor, ndim) == offsetof(DLTensor, device) + 8 &&
                   offsetof(DLTensor, dtype) == offsetof(DLTensor, device) + 12 &&
                   sizeof(DLDataType) == 4,
               "DLTensor layout");
/* Type codes travel as i32 and are decoded in place. */
_Static_assert(sizeof(int) == 4 && sizeof(TVMValue) == 8, "int and TVMValue sizes");

uint8_t* utvm_rpc_read_bytes(utvm_rpc_reader_t* r, uint64_t n) {
  if (!r->ok || n > r->left) {
    r->ok = false;
    return NULL;
  }
  uint8_t* p = r->p;
  r->p += n;
  r->left -= (size_t)n;
  return p;
}

void utvm_rpc_read_into(utvm_rpc_reader_t* r, void* out, size_t n) {
  const uint8_t* p = utvm_rpc_read_bytes(r, n);
  if (p != NULL) {
    memcpy(out, p, n);
  } else {
    memset(out, 0, n);
  }
}

uint64_t utvm_rpc_read_u64(utvm_rpc_reader_t* r) {
  uint64_t v;
  utvm_rpc_read_into(r, &v, sizeof(v));
  return v;
}

int32_t utvm_rpc_read_i32(utvm_rpc_reader_t* r) {
  int32_t v;
  utvm_rpc_read_into(r, &v, sizeof(v));
  return v;
}

int utvm_rpc_truncated(void) {
  return utvm_fail(kTvmErrorFunctionCallInvalidArg, "truncated");
}

#if UTVM_ERROR_MESSAGES
int utvm_rpc_bad_type_code(int64_t type_code) {
  return utvm_fail(kTvmErrorFunctionCallWrongArgType, "invalid type code %lld",
                   (long long)type_code);
}
#endif

int utvm_rpc_expect_end(const utvm_rpc_reader_t* r) {
  if (r->left != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%lu extra bytes", (unsigned long)r->left);
  }
  return 0;
}

/* How a record or a handle ends: the error for a request cut short, else the 64-bit wire
 * pointer `raw` as this device's (it fails when it does not fit). Out of line, with the
 * pointer first (in r0/r1 on 32-bit ARM): its two callers share one copy of both checks. */
__attribute__((noinline)) static int pointer_at_end(uint64_t raw, const utvm_rpc_reader_t* r,
                                                    void** out) {
  if (!r->ok) return utvm_rpc_truncated();
  if (raw > (uint64_t)UINTPTR_MAX) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "pointer 0x%llx too wide",
                     (unsigned long long)raw);
  }
  *out = (void*)(uintptr_t)raw;
  return 0;
}

int utvm_rpc_read_tensor(utvm_rpc_reader_t* r, DLTensor* t, int64_t* shape) {
  uint64_t data = utvm_rpc_read_u64(r);
  utvm_rpc_read_into(r, &t->device, 16); /* device, ndim, dtype */
  /* A record cut short reads as zeros, so ndim passes and the check below finds the cut. */
  if ((uint32_t)t->ndim > UTVM_MAX_NDIM) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "ndim %d not in 0.." UTVM_RPC_STR(UTVM_MAX_NDIM), (int)t->ndim);
  }
  utvm_rpc_read_into(r, shape, sizeof(int64_t) * (size_t)t->ndim);
  t->shape = shape;
  t->strides = NULL; /* the wire has no strides: tensors are compact */
  t->byte_offset = utvm_rpc_read_u64(r);
  return pointer_at_end(data, r, &t->data);
}

int utvm_rpc_read_handle(utvm_rpc_reader_t* r, int type_code, void** out) {
  uint64_t raw = utvm_rpc_read_u64(r);
  int rc = pointer_at_end(raw, r, out);
  return rc != 0 ? rc : utvm_rpc_check_handle(*out, type_code);
}

/* Reads argument i's payload for its type code. */
static int read_value(utvm_rpc_reader_t* r, utvm_rpc_args_t* a, int i, bool real_tensors) {
  TVMValue* v = &a->values[i];
  utvm_rpc_arg_slot_t* slot = &a->slots[i];
  int code = a->codes[i];
  switch (code) {
    case kTVMArgInt:
    case kDLUInt:
    case kTVMArgFloat:
    case kTVMArgBool:
    case kTVMDataType: /* code, bits, lanes, 4 bytes of padding */
    case kDLDevice:    /* device type, device id */
      /* The 8 wire bytes are the union's bytes. */
      utvm_rpc_read_into(r, v, sizeof(*v));
      break;
    case kTVMNullptr:
      v->v_handle = NULL;
      break;
    case kTVMDLTensorHandle: {
      v->v_handle = &slot->tensor;
      int rc = utvm_rpc_read_tensor(r, &slot->tensor, slot->shape);
      size_t nbytes;
      if (rc == 0 && real_tensors) rc = utvm_rpc_check_tensor_arg(&slot->tensor, &nbytes);
      return rc;
    }
    case kTVMOpaqueHandle:
    case kTVMModuleHandle:
    case kTVMPackedFuncHandle:
      return utvm_rpc_read_handle(r, code, &v->v_handle);
    case kTVMStr:
    case kTVMBytes: {
      uint64_t len = utvm_rpc_read_u64(r);
      uint8_t* s = utvm_rpc_read_bytes(r, len);
      if (s == NULL) break;
      if (code == kTVMBytes) {
        slot->bytes.data = (const char*)s;
        slot->bytes.size = (size_t)len;
        v->v_handle = &slot->bytes;
        break;
      }
      if (memchr(s, '\0', (size_t)len) != NULL) {
        return utvm_fail(kTvmErrorFunctionCallInvalidArg, "NUL in string");
      }
      /* NUL-terminate in place: slide the text one byte back over the last byte of its
       * length field (already read), which leaves room for the terminator. */
      char* text = (char*)s - 1;
      memmove(text, s, (size_t)len);
      text[len] = '\0';
      v->v_str = text;
      break;
    }
    default: /* object and NDArray handles cannot travel on the wire either */
      return utvm_rpc_bad_type_code(code);
  }
  return r->ok ? 0 : utvm_rpc_truncated();
}

int utvm_rpc_read_args(utvm_rpc_reader_t* r, utvm_rpc_args_t* a, bool real_tensors,
                       int num_expected) {
  a->num_args = 0;
  int32_t n = utvm_rpc_read_i32(r); /* 0 if the packet ends here: the next check finds it */
  if ((uint32_t)n > UTVM_RPC_MAX_ARGS) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments,
                     "arg count %d not in 0.." UTVM_RPC_STR(UTVM_RPC_MAX_ARGS), (int)n);
  }
  utvm_rpc_read_into(r, a->codes, sizeof(int) * (size_t)n);
  if (!r->ok) return utvm_rpc_truncated();
  for (int32_t i = 0; i < n; i++) {
    int rc = read_value(r, a, i, real_tensors);
    if (rc != 0) return rc;
  }
  a->num_args = n;
  int rc = utvm_rpc_expect_end(r);
  if (rc == 0 && num_expected >= 0 && n != num_expected) {
    rc = utvm_fail(kTvmErrorFunctionCallNumArguments, "takes %d args, %d given", num_expected,
                   (int)n);
  }
  return rc;
}
