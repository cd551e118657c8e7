/*
 * Replies (wire doc section 4.6), streamed straight into the framer: kReturn with a packed
 * sequence (ReturnVoid, ReturnHandle, the two- or three-value CallFunc return), kCopyAck
 * and kException. Shapes and sizes are byte-identical to TVM's server.
 */
#ifndef UTVM_RPC_REPLY_H_
#define UTVM_RPC_REPLY_H_

#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>

#include "server_state.h"

/* Largest packet_nbytes a reply may have. */
static inline size_t utvm_rpc_reply_limit(const utvm_rpc_server_t* s) {
  return s->max_rpc_packet;
}

/* The error for a request or reply of nbytes that does not fit in one message. */
int utvm_rpc_too_big(size_t nbytes);

/* The kReturn replies return 0 once sent (transport errors are the framer's to report), or
 * the error to answer with instead when the reply cannot be sent (too big, a return type
 * that cannot travel): the dispatcher then replies with that error. */

/* A one-value kReturn: ReturnVoid (kTVMNullptr) or ReturnHandle (kTVMOpaqueHandle). */
int utvm_rpc_reply_return(utvm_rpc_server_t* s, int type_code, void* handle);
/* A kException carrying the last error (or naming `code` when a callee left none), cut to
 * what one reply can carry. */
void utvm_rpc_reply_error(utvm_rpc_server_t* s, int code);
/* The return of a CallFunc: [kDLInt tcode, value] or, for an NDArray, [13, record, handle].
 * Bytes returned by the callee (kTVMBytes) are freed after sending, as in TVM. The type code
 * comes before the value, so that every argument travels in a register. */
int utvm_rpc_reply_call_return(utvm_rpc_server_t* s, int tcode, TVMValue value);
void utvm_rpc_reply_copy_ack(utvm_rpc_server_t* s, const void* data, size_t nbytes);

#endif /* UTVM_RPC_REPLY_H_ */
