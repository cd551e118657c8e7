/* Request routing, CallFunc, data copies and InitServer (rpc_dispatch.h). Each handler
 * sends its own reply and returns 0, or returns an error code: the failure's message then
 * goes back as a kException (TVM's device would hang or crash instead). */
#include "rpc_dispatch.h"

#include <string.h>
#include <utvm/error.h>
#include <utvm/registry.h>

#include "rpc_args.h"
#include "rpc_codes.h"
#include "rpc_reply.h"
#include "rpc_validate.h"

/* Out of line: inlined into handle_packet it costs 4 bytes more. */
__attribute__((noinline)) static int call_func(utvm_rpc_server_t* s, utvm_rpc_reader_t* r) {
  utvm_rpc_args_t* a = &s->args;
  void* func;
  int rc = utvm_rpc_read_handle(r, kTVMPackedFuncHandle, &func);
  if (rc == 0) rc = utvm_rpc_read_args(r, a, true, -1);
  if (rc == 0) rc = utvm_rpc_check_generated_call(func, a->values, a->codes, a->num_args);
  if (rc != 0) return rc;
  /* Slots past the arguments read as None, never as a previous request's values. */
  for (int i = a->num_args; i < UTVM_RPC_MAX_ARGS + UTVM_RPC_SPARE_ARGS; i++) {
    a->values[i].v_handle = NULL;
    a->codes[i] = kTVMNullptr;
  }
  TVMValue ret;
  int ret_code;
  rc = TVMFuncCall(func, a->values, a->codes, a->num_args, &ret, &ret_code);
  return rc != 0 ? rc : utvm_rpc_reply_call_return(s, ret_code, ret);
}

/* CopyToRemote: DLTensor record, u64 nbytes, the bytes. CopyFromRemote: record, nbytes. */
static int copy(utvm_rpc_server_t* s, utvm_rpc_reader_t* r, int32_t code) {
  DLTensor t;
  int rc = utvm_rpc_read_tensor(r, &t, s->args.slots[0].shape);
  uint64_t nbytes = utvm_rpc_read_u64(r);
  if (rc == 0 && !r->ok) rc = utvm_rpc_truncated();
  if (rc == 0) rc = utvm_rpc_check_device(&t.device);
  if (rc == 0) rc = utvm_rpc_check_data_range(&t, nbytes);
  if (rc != 0) return rc;
  /* The range check bounds nbytes and the sums below by the allocation (far below
   * SIZE_MAX), so the rest is size_t arithmetic. */
  size_t n = (size_t)nbytes;
  uint8_t* data = (uint8_t*)t.data + t.byte_offset;
  if (code == UTVM_RPC_COPY_TO_REMOTE) {
    if (n != r->left) {
      return utvm_fail(kTvmErrorFunctionCallInvalidArg, "announces %lu bytes, carries %lu",
                       (unsigned long)n, (unsigned long)r->left);
    }
    memmove(data, r->p, n);
    return utvm_rpc_reply_return(s, kTVMNullptr, NULL);
  }
  rc = utvm_rpc_expect_end(r);
  if (rc == 0 && 4 + n > utvm_rpc_reply_limit(s)) rc = utvm_rpc_too_big(4 + n);
  if (rc != 0) return rc;
  utvm_rpc_reply_copy_ack(s, data, n);
  return 0;
}

/* kInitServer: u64 length + protocol version, then an empty packed sequence. */
static int init_server(utvm_rpc_server_t* s, utvm_rpc_reader_t* r) {
  utvm_rpc_read_bytes(r, utvm_rpc_read_u64(r));
  int rc = utvm_rpc_read_args(r, &s->args, false, 0);
  return rc != 0 ? rc : utvm_rpc_reply_return(s, kTVMNullptr, NULL);
}

static int handle_packet(utvm_rpc_server_t* s, uint8_t* body, size_t stored, size_t len) {
  utvm_rpc_reader_t r;
  utvm_rpc_reader_init(&r, body, stored);
  uint64_t packet_nbytes = utvm_rpc_read_u64(&r);
  if (r.ok && packet_nbytes == 0) return 0; /* an empty packet: both sides ignore it */
  if (stored < len) {
    /* TVM's host sends remote.upload()'s whole file as one message: this names the limit. */
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "%lu bytes > max packet: the board receives messages of at most %lu bytes "
                     "(UTVM_RPC_MAX_PACKET_SIZE; an upload larger than that goes in pieces, "
                     "as utvm's host sends it)",
                     (unsigned long)len, (unsigned long)(s->max_rpc_packet + UTVM_RPC_LENGTH_BYTES));
  }
  size_t carried = r.left;
  int32_t code = utvm_rpc_read_i32(&r);
  if (!r.ok || packet_nbytes != carried) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "announces %lu bytes, carries %lu",
                     (unsigned long)packet_nbytes, (unsigned long)carried);
  }
  switch (code) {
    case UTVM_RPC_SHUTDOWN:
      s->shutdown = true; /* no reply, as in TVM */
      return 0;
    case UTVM_RPC_INIT_SERVER:
      return init_server(s, &r);
    case UTVM_RPC_CALL_FUNC:
      return call_func(s, &r);
    case UTVM_RPC_COPY_FROM_REMOTE:
    case UTVM_RPC_COPY_TO_REMOTE:
      return copy(s, &r, code);
    default:
      if (code >= UTVM_RPC_GET_GLOBAL_FUNC) return utvm_rpc_syscall(s, code, &r);
      /* kNone, kReturn, kException, kCopyAck and negative codes: TVM's device hangs here. */
      return utvm_fail(kTvmErrorFunctionCallInvalidArg, "unknown RPC code %d", (int)code);
  }
}

void utvm_rpc_dispatch(utvm_rpc_server_t* s, uint8_t* body, size_t stored, size_t len) {
  s->stats.requests++;
  /* Exceptions carry this request's error, never an older one (TVM's often are stale). */
  TVMAPISetLastError("");
  int rc = handle_packet(s, body, stored, len);
  if (rc != 0) utvm_rpc_reply_error(s, rc);
}
