/* Writing replies (rpc_reply.h). */
#include "rpc_reply.h"

#include <string.h>
#include <utvm/error.h>

#include "rpc_codes.h"

/* kException's fixed part: code, value count, type code, string length. */
#define EXCEPTION_OVERHEAD (4 + 4 + 4 + 8)

int utvm_rpc_too_big(size_t nbytes) {
  return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%lu bytes > max packet",
                   (unsigned long)nbytes);
}

/* A reply is encoded twice: first only counting bytes (the headers announce the length
 * up front), then into the framer. So one encoder serves both and no size table is
 * needed per type code. The framer keeps the first transport error of a frame and reports
 * it when the frame ends (end()), so writes need no checks of their own. */
static void put(utvm_rpc_server_t* s, const void* data, size_t len) {
  if (s->measured != 0) {
    s->measured += len;
  } else {
    utvm_framer_write(&s->framer, data, len);
  }
}

/* Little-endian like the wire (rpc_reader.h). */
static void put_u64(utvm_rpc_server_t* s, uint64_t v) { put(s, &v, sizeof(v)); }

/* One value of a packed sequence, for wire type code `code` (out of line, so the loop over
 * the values stays small; the value by address, so that all arguments travel in registers). */
__attribute__((noinline)) static void put_value(utvm_rpc_server_t* s, const TVMValue* value,
                                               int code) {
  TVMValue v = *value;
  switch (code) {
    case kTVMNullptr:
      return;
    case kTVMStr: /* as bytes: u64 length, then the text */
    case kTVMBytes: {
      /* Only a kTVMBytes handle is converted to a TVMByteArray (a string may start at any
       * byte, and a misaligned pointer conversion is undefined). */
      const char* data = code == kTVMStr ? v.v_str : ((const TVMByteArray*)v.v_handle)->data;
      size_t size = code == kTVMStr ? strlen(data) : ((const TVMByteArray*)v.v_handle)->size;
      put_u64(s, size);
      put(s, data, size);
      return;
    }
    case kTVMDLTensorHandle: {
      const DLTensor* t = v.v_handle;
      /* u64 data, then the device as the wire's two i32s, not the struct's bytes: with
       * one-byte enums (the ARM EABI's default) the bytes after device_type are padding of
       * any value. */
      const uint32_t head[4] = {(uint32_t)(uintptr_t)t->data,
                                (uint32_t)((uint64_t)(uintptr_t)t->data >> 32),
                                (uint32_t)t->device.device_type, (uint32_t)t->device.device_id};
      put(s, head, sizeof(head));
      put(s, &t->ndim, 8); /* ndim, dtype: as in the struct (rpc_args.c) */
      put(s, t->shape, sizeof(int64_t) * (size_t)t->ndim);
      put(s, &t->byte_offset, sizeof(t->byte_offset)); /* little-endian as on the wire */
      return;
    }
    case kTVMOpaqueHandle:
      v.v_int64 = (int64_t)(uintptr_t)v.v_handle; /* zero-extended on 32-bit devices */
      break;
    case kTVMDataType:
      v.v_int64 = (uint32_t)v.v_int64; /* code, bits, lanes, then 4 bytes of zero padding */
      break;
    case kDLDevice: /* i32 type, i32 id (the struct may pad a one-byte enum) */
      v.v_int64 = (int64_t)((uint64_t)(uint32_t)v.v_device.device_id << 32 |
                            (uint32_t)v.v_device.device_type);
      break;
    default: /* int, uint, bool, float: the union's 8 bytes are the wire bytes */
      break;
  }
  put(s, &v, sizeof(v));
}

/* A packed sequence: `head` is its start as on the wire, the value count and then the type
 * codes, followed by the values. */
static void put_packed(utvm_rpc_server_t* s, const int32_t* head, const TVMValue* values) {
  int n = head[0];
  put(s, head, sizeof(int32_t) * (size_t)(1 + n));
  for (int i = 0; i < n; i++) put_value(s, &values[i], head[1 + i]);
}

/* Opens a Normal message holding RPC packet `code` of nbytes (code included). Kept out of
 * line: inlined into its two callers it would cost more than the call. */
__attribute__((noinline)) static void begin(utvm_rpc_server_t* s, size_t nbytes, int32_t code) {
  utvm_session_begin_normal(&s->session, (uint32_t)(UTVM_RPC_LENGTH_BYTES + nbytes));
  /* u64 packet_nbytes (a reply is far below 4 GiB), i32 code */
  const uint32_t head[3] = {(uint32_t)nbytes, 0, (uint32_t)code};
  put(s, head, sizeof(head));
}

static void end(utvm_rpc_server_t* s) {
  int rc = utvm_framer_finish(&s->framer);
  if (rc != 0) {
    if (s->write_error == 0) s->write_error = rc;
    s->stats.write_errors++;
  }
}

/* Sends a kReturn whose body is a packed sequence, or returns the error when it would not
 * fit in one reply. */
static int send_return(utvm_rpc_server_t* s, const int32_t* head, const TVMValue* values) {
  s->measured = sizeof(int32_t); /* the RPC code; not 0, so put() counts */
  put_packed(s, head, values);
  size_t nbytes = s->measured;
  s->measured = 0;
  if (nbytes > utvm_rpc_reply_limit(s)) return utvm_rpc_too_big(nbytes);
  begin(s, nbytes, UTVM_RPC_RETURN);
  put_packed(s, head, values);
  end(s);
  return 0;
}

int utvm_rpc_reply_return(utvm_rpc_server_t* s, int type_code, void* handle) {
  const int32_t head[2] = {1, type_code};
  TVMValue v = {.v_handle = handle};
  return send_return(s, head, &v);
}

void utvm_rpc_reply_error(utvm_rpc_server_t* s, int code) {
  /* A callee may fail without a message; TVM would then send a stale one. The last error
   * is one buffer (error.c), so the message is read where utvm_fail writes it. */
  const char* message = TVMGetLastError();
  if (message[0] == '\0') utvm_fail(code, "error 0x%x", (unsigned)code);
  /* Written directly, not through send_return: the text is cut to what one reply can carry
   * instead of being refused. [1 value, kTVMStr, u64 length, text]. */
  size_t n = strlen(message);
  size_t room = utvm_rpc_reply_limit(s) - EXCEPTION_OVERHEAD;
  if (n > room) n = room;
  s->stats.exceptions++;
  begin(s, EXCEPTION_OVERHEAD + n, UTVM_RPC_EXCEPTION);
  const uint32_t head[4] = {1, kTVMStr, (uint32_t)n, 0};
  put(s, head, sizeof(head));
  put(s, message, n);
  end(s);
}

int utvm_rpc_reply_call_return(utvm_rpc_server_t* s, int tcode, TVMValue value) {
  /* [kDLInt tcode, value]; handles travel as opaque handles, an NDArray as its DLTensor
   * record followed by its handle. */
  int32_t head[4] = {2, kTVMArgInt, tcode, kTVMOpaqueHandle};
  TVMValue values[3] = {{.v_int64 = tcode}, value, value};
  if (tcode == kTVMModuleHandle || tcode == kTVMPackedFuncHandle || tcode == kTVMObjectHandle) {
    head[2] = kTVMOpaqueHandle;
  } else if (tcode == kTVMNDArrayHandle) {
    head[0] = 3;
    head[2] = kTVMDLTensorHandle;
  }
  int rc = tcode < 0 || tcode > kTVMArgBool || tcode == kTVMObjectRValueRefArg
               ? utvm_fail(kTvmErrorFunctionCallWrongArgType, "cannot return type code %d", tcode)
               : send_return(s, head, values);
  if (tcode == kTVMBytes) TVMByteArrayFree(value.v_handle);
  return rc;
}

void utvm_rpc_reply_copy_ack(utvm_rpc_server_t* s, const void* data, size_t nbytes) {
  begin(s, 4 + nbytes, UTVM_RPC_COPY_ACK);
  put(s, data, nbytes);
  end(s);
}
