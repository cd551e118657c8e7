/* Writing replies (rpc_reply.h). */
#include "rpc_reply.h"

#include <stdarg.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>

#include "rpc_codes.h"

/* ---- low-level writer: little-endian fields into the open frame ---- */

static void note(utvm_rpc_server_t* s, int rc) {
  if (rc != 0 && s->write_error == 0) s->write_error = rc;
}

static void put_bytes(utvm_rpc_server_t* s, const void* data, size_t len) {
  note(s, utvm_framer_write(&s->framer, data, len));
}

static void put_le(utvm_rpc_server_t* s, uint64_t v, int nbytes) {
  uint8_t b[8];
  for (int i = 0; i < nbytes; i++) b[i] = (uint8_t)(v >> (8 * i));
  put_bytes(s, b, (size_t)nbytes);
}

static void put_i32(utvm_rpc_server_t* s, int32_t v) { put_le(s, (uint32_t)v, 4); }
static void put_u64(utvm_rpc_server_t* s, uint64_t v) { put_le(s, v, 8); }

/* Opens a Normal message holding one RPC packet of packet_nbytes (after its length) and
 * writes the length and the code. */
static void begin(utvm_rpc_server_t* s, uint64_t packet_nbytes, int32_t code) {
  note(s, utvm_session_begin(&s->session, UTVM_MSG_NORMAL,
                             (uint32_t)(UTVM_RPC_LENGTH_BYTES + packet_nbytes)));
  put_u64(s, packet_nbytes);
  put_i32(s, code);
}

static void end(utvm_rpc_server_t* s) {
  int rc = utvm_framer_finish(&s->framer);
  note(s, rc);
  if (rc != 0) s->stats.write_errors++;
}

/* ---- reply kinds ---- */

uint64_t utvm_rpc_reply_limit(const utvm_rpc_server_t* s) {
  return s->capacity - UTVM_RPC_MESSAGE_OVERHEAD;
}

void utvm_rpc_reply_void(utvm_rpc_server_t* s) {
  begin(s, 4 + 4 + 4, UTVM_RPC_RETURN);
  put_i32(s, 1);
  put_i32(s, kTVMNullptr);
  end(s);
}

void utvm_rpc_reply_handle(utvm_rpc_server_t* s, uint64_t handle) {
  begin(s, 4 + 4 + 4 + 8, UTVM_RPC_RETURN);
  put_i32(s, 1);
  put_i32(s, kTVMOpaqueHandle);
  put_u64(s, handle);
  end(s);
}

void utvm_rpc_reply_exception(utvm_rpc_server_t* s, const char* message) {
  const uint64_t fixed = 4 + 4 + 4 + 8;
  uint64_t len = strlen(message);
  if (len > utvm_rpc_reply_limit(s) - fixed) len = utvm_rpc_reply_limit(s) - fixed;
  s->stats.exceptions++;
  begin(s, fixed + len, UTVM_RPC_EXCEPTION);
  put_i32(s, 1);
  put_i32(s, kTVMStr);
  put_u64(s, len);
  put_bytes(s, message, (size_t)len);
  end(s);
}

void utvm_rpc_reply_exceptionf(utvm_rpc_server_t* s, const char* fmt, ...) {
  char message[192];
  va_list args;
  va_start(args, fmt);
  size_t n = TVMPlatformFormatMessage(message, sizeof(message), fmt, args);
  va_end(args);
  message[n < sizeof(message) ? n : sizeof(message) - 1] = '\0';
  utvm_rpc_reply_exception(s, message);
}

void utvm_rpc_reply_error(utvm_rpc_server_t* s, const char* request, int code) {
  const char* message = TVMGetLastError();
  if (message == NULL || message[0] == '\0') {
    /* TVM would send a stale or empty message here; say at least what failed. */
    utvm_rpc_reply_exceptionf(s, "%s failed with error 0x%x", request, (unsigned)code);
    return;
  }
  utvm_rpc_reply_exception(s, message);
}

static uint64_t tensor_record_bytes(const DLTensor* t) {
  return UTVM_RPC_TENSOR_RECORD_BYTES + 8u * (uint64_t)t->ndim;
}

static void put_tensor_record(utvm_rpc_server_t* s, const DLTensor* t) {
  put_u64(s, (uint64_t)(uintptr_t)t->data);
  put_i32(s, (int32_t)t->device.device_type);
  put_i32(s, t->device.device_id);
  put_i32(s, t->ndim);
  put_le(s, t->dtype.code, 1);
  put_le(s, t->dtype.bits, 1);
  put_le(s, t->dtype.lanes, 2);
  for (int32_t i = 0; i < t->ndim; i++) put_u64(s, (uint64_t)t->shape[i]);
  put_u64(s, t->byte_offset);
}

/* Bytes of the second value, as the wire encodes it; false for type codes a reply cannot
 * carry. */
static bool value_bytes(TVMValue v, int tcode, uint64_t* out) {
  switch (tcode) {
    case kTVMNullptr:
      *out = 0;
      return true;
    case kTVMStr:
      *out = 8 + (uint64_t)strlen(v.v_str);
      return true;
    case kTVMBytes:
      *out = 8 + (uint64_t)((const TVMByteArray*)v.v_handle)->size;
      return true;
    case kTVMDLTensorHandle:
    case kTVMNDArrayHandle:
      *out = tensor_record_bytes((const DLTensor*)v.v_handle);
      return true;
    case kTVMArgInt:
    case kDLUInt:
    case kTVMArgBool:
    case kTVMArgFloat:
    case kTVMOpaqueHandle:
    case kTVMDataType:
    case kDLDevice:
    case kTVMModuleHandle:
    case kTVMPackedFuncHandle:
    case kTVMObjectHandle:
      *out = 8;
      return true;
    default:
      return false;
  }
}

static void put_value(utvm_rpc_server_t* s, TVMValue v, int tcode) {
  switch (tcode) {
    case kTVMNullptr:
      break;
    case kTVMStr: {
      size_t n = strlen(v.v_str);
      put_u64(s, n);
      put_bytes(s, v.v_str, n);
      break;
    }
    case kTVMBytes: {
      const TVMByteArray* b = v.v_handle;
      put_u64(s, b->size);
      put_bytes(s, b->data, b->size);
      break;
    }
    case kTVMDLTensorHandle:
    case kTVMNDArrayHandle:
      put_tensor_record(s, v.v_handle);
      break;
    case kTVMDataType:
      put_le(s, v.v_type.code, 1);
      put_le(s, v.v_type.bits, 1);
      put_le(s, v.v_type.lanes, 2);
      put_i32(s, 0);
      break;
    case kDLDevice:
      put_i32(s, (int32_t)v.v_device.device_type);
      put_i32(s, v.v_device.device_id);
      break;
    case kTVMArgFloat: {
      uint64_t bits;
      memcpy(&bits, &v.v_float64, sizeof(bits));
      put_u64(s, bits);
      break;
    }
    case kTVMOpaqueHandle:
    case kTVMModuleHandle:
    case kTVMPackedFuncHandle:
    case kTVMObjectHandle:
      put_u64(s, (uint64_t)(uintptr_t)v.v_handle);
      break;
    default: /* int, uint, bool */
      put_u64(s, (uint64_t)v.v_int64);
      break;
  }
}

void utvm_rpc_reply_call_return(utvm_rpc_server_t* s, TVMValue value, int tcode) {
  uint64_t nbytes;
  if (!value_bytes(value, tcode, &nbytes)) {
    utvm_rpc_reply_exceptionf(s, "the function returned type code %d, which RPC cannot carry",
                              tcode);
    return;
  }
  /* Handles travel as opaque handles; an NDArray adds its handle as a third value. */
  int wire_code = tcode;
  if (tcode == kTVMModuleHandle || tcode == kTVMPackedFuncHandle || tcode == kTVMObjectHandle) {
    wire_code = kTVMOpaqueHandle;
  } else if (tcode == kTVMNDArrayHandle) {
    wire_code = kTVMDLTensorHandle;
  }
  int num_values = tcode == kTVMNDArrayHandle ? 3 : 2;
  uint64_t packet = 4 + 4 + 4u * (uint64_t)num_values + 8 + nbytes + (num_values == 3 ? 8 : 0);
  if (packet > utvm_rpc_reply_limit(s)) {
    utvm_rpc_reply_exceptionf(
        s, "the function's return value needs a %llu-byte reply; this device sends at most %llu",
        (unsigned long long)packet, (unsigned long long)utvm_rpc_reply_limit(s));
  } else {
    begin(s, packet, UTVM_RPC_RETURN);
    put_i32(s, num_values);
    put_i32(s, kTVMArgInt);
    put_i32(s, wire_code);
    if (num_values == 3) put_i32(s, kTVMOpaqueHandle);
    put_u64(s, (uint64_t)tcode);
    put_value(s, value, wire_code == kTVMDLTensorHandle ? kTVMDLTensorHandle : tcode);
    if (num_values == 3) put_u64(s, (uint64_t)(uintptr_t)value.v_handle);
    end(s);
  }
  if (tcode == kTVMBytes) TVMByteArrayFree(value.v_handle);
}

void utvm_rpc_reply_copy_ack(utvm_rpc_server_t* s, const uint8_t* data, uint64_t nbytes) {
  begin(s, 4 + nbytes, UTVM_RPC_COPY_ACK);
  put_bytes(s, data, (size_t)nbytes);
  end(s);
}
