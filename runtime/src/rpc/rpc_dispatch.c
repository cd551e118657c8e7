/* Request routing, CallFunc, data copies and InitServer (rpc_dispatch.h). */
#include "rpc_dispatch.h"

#include <string.h>
#include <utvm/error.h>
#include <utvm/registry.h>

#include "rpc_args.h"
#include "rpc_codes.h"
#include "rpc_reply.h"
#include "rpc_validate.h"

/* Replies with the last error when rc says a check failed; true if it did. */
static bool failed(utvm_rpc_server_t* s, int rc, const char* request) {
  if (rc == 0) return false;
  utvm_rpc_reply_error(s, request, rc);
  return true;
}

static int expect_end(const utvm_rpc_reader_t* r, const char* request) {
  if (r->left != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: %lu unexpected bytes after the request",
                     request, (unsigned long)r->left);
  }
  return 0;
}

static void call_func(utvm_rpc_server_t* s, utvm_rpc_reader_t* r) {
  static const char* const kRequest = "CallFunc";
  void* handle = NULL;
  uint64_t raw = utvm_rpc_read_u64(r);
  int rc = r->ok ? utvm_rpc_check_pointer(raw, &handle, kRequest)
                 : utvm_fail(kTvmErrorFunctionCallInvalidArg, "CallFunc: truncated packet");
  if (rc == 0) rc = utvm_rpc_check_function(handle, kRequest);
  if (rc == 0) rc = utvm_rpc_read_args(r, &s->args, kRequest);
  if (rc == 0) rc = expect_end(r, kRequest);
  if (rc == 0) rc = utvm_rpc_check_tensor_args(&s->args, kRequest);
  if (rc == 0) {
    rc = utvm_rpc_check_generated_call(handle, s->args.codes, s->args.num_args, kRequest);
  }
  if (failed(s, rc, kRequest)) return;
  /* Slots past the arguments read as None, never as a previous request's values. */
  for (int i = s->args.num_args; i < UTVM_RPC_MAX_ARGS + UTVM_RPC_SPARE_ARGS; i++) {
    s->args.values[i].v_handle = NULL;
    s->args.codes[i] = kTVMNullptr;
  }
  TVMValue ret = {.v_handle = NULL};
  int ret_code = kTVMNullptr;
  rc = TVMFuncCall(handle, s->args.values, s->args.codes, s->args.num_args, &ret, &ret_code);
  if (failed(s, rc, "the called function")) return;
  utvm_rpc_reply_call_return(s, ret, ret_code);
}

/* The destination/source of a copy: DLTensor record + u64 nbytes, checked against memory. */
static int read_copy_target(utvm_rpc_server_t* s, utvm_rpc_reader_t* r, const char* request,
                            DLTensor* t, uint64_t* nbytes) {
  int rc = utvm_rpc_read_tensor(r, t, s->args.shapes[0], request);
  if (rc != 0) return rc;
  *nbytes = utvm_rpc_read_u64(r);
  if (!r->ok) return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: truncated packet", request);
  rc = utvm_rpc_check_device(t->device, request);
  if (rc == 0) rc = utvm_rpc_check_data_range(t, *nbytes, request);
  return rc;
}

static void copy_to_remote(utvm_rpc_server_t* s, utvm_rpc_reader_t* r) {
  static const char* const kRequest = "CopyToRemote";
  DLTensor t;
  uint64_t nbytes = 0;
  int rc = read_copy_target(s, r, kRequest, &t, &nbytes);
  if (rc == 0 && nbytes != r->left) {
    rc = utvm_fail(kTvmErrorFunctionCallInvalidArg,
                   "CopyToRemote: announces %llu data bytes but carries %lu",
                   (unsigned long long)nbytes, (unsigned long)r->left);
  }
  if (failed(s, rc, kRequest)) return;
  memmove((uint8_t*)t.data + t.byte_offset, r->p, (size_t)nbytes);
  utvm_rpc_reply_void(s);
}

static void copy_from_remote(utvm_rpc_server_t* s, utvm_rpc_reader_t* r) {
  static const char* const kRequest = "CopyFromRemote";
  DLTensor t;
  uint64_t nbytes = 0;
  int rc = read_copy_target(s, r, kRequest, &t, &nbytes);
  if (rc == 0) rc = expect_end(r, kRequest);
  if (rc == 0 && 4 + nbytes > utvm_rpc_reply_limit(s)) {
    rc = utvm_fail(kTvmErrorFunctionCallInvalidArg,
                   "CopyFromRemote: %llu bytes do not fit in one reply (at most %llu); copy in "
                   "chunks of tvm.rpc.server.GetCRTMaxPacketSize",
                   (unsigned long long)nbytes, (unsigned long long)(utvm_rpc_reply_limit(s) - 4));
  }
  if (failed(s, rc, kRequest)) return;
  utvm_rpc_reply_copy_ack(s, (const uint8_t*)t.data + t.byte_offset, nbytes);
}

/* kInitServer: u64 length + protocol version, then an (empty) packed sequence. */
static void init_server(utvm_rpc_server_t* s, utvm_rpc_reader_t* r) {
  static const char* const kRequest = "InitServer";
  uint64_t len = utvm_rpc_read_u64(r);
  utvm_rpc_read_bytes(r, len);
  int rc = r->ok ? utvm_rpc_read_args(r, &s->args, kRequest)
                 : utvm_fail(kTvmErrorFunctionCallInvalidArg, "InitServer: truncated packet");
  if (rc == 0) rc = expect_end(r, kRequest);
  if (rc == 0 && s->args.num_args != 0) {
    rc = utvm_fail(kTvmErrorFunctionCallNumArguments, "InitServer takes no arguments, %d given",
                   s->args.num_args);
  }
  if (failed(s, rc, kRequest)) return;
  utvm_rpc_reply_void(s);
}

void utvm_rpc_dispatch(utvm_rpc_server_t* s, uint8_t* body, size_t stored, size_t len) {
  s->stats.requests++;
  /* Exceptions carry this request's error, never an older one (TVM's often are stale). */
  TVMAPISetLastError("");
  if (len < UTVM_RPC_LENGTH_BYTES) {
    utvm_rpc_reply_exception(s, "malformed request: shorter than its 8-byte length prefix");
    return;
  }
  utvm_rpc_reader_t r;
  utvm_rpc_reader_init(&r, body, stored);
  uint64_t packet_nbytes = utvm_rpc_read_u64(&r);
  if (packet_nbytes == 0) return; /* an empty packet: both sides ignore it */
  if (stored < len) {
    utvm_rpc_reply_exceptionf(
        s, "request of %llu bytes is larger than this device's receive buffer (at most %llu); "
        "ask tvm.rpc.server.GetCRTMaxPacketSize",
        (unsigned long long)(len - UTVM_RPC_LENGTH_BYTES),
        (unsigned long long)(s->capacity - UTVM_RPC_MESSAGE_OVERHEAD));
    return;
  }
  if (packet_nbytes != r.left) {
    utvm_rpc_reply_exceptionf(
        s, "malformed request: its header announces %llu bytes, the message carries %lu",
        (unsigned long long)packet_nbytes, (unsigned long)r.left);
    return;
  }
  int32_t code = utvm_rpc_read_i32(&r);
  if (!r.ok) {
    utvm_rpc_reply_exception(s, "malformed request: no RPC code");
    return;
  }
  switch (code) {
    case UTVM_RPC_SHUTDOWN:
      s->shutdown = true; /* no reply, as in TVM */
      return;
    case UTVM_RPC_INIT_SERVER:
      init_server(s, &r);
      return;
    case UTVM_RPC_CALL_FUNC:
      call_func(s, &r);
      return;
    case UTVM_RPC_COPY_FROM_REMOTE:
      copy_from_remote(s, &r);
      return;
    case UTVM_RPC_COPY_TO_REMOTE:
      copy_to_remote(s, &r);
      return;
    default:
      if (code >= UTVM_RPC_GET_GLOBAL_FUNC) {
        utvm_rpc_syscall(s, code, &r);
        return;
      }
      /* kNone, kReturn, kException, kCopyAck and negative codes: TVM's device hangs here. */
      utvm_rpc_reply_exceptionf(s, "unknown RPC code %d: this device serves requests only",
                                (int)code);
      return;
  }
}
