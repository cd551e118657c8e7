/*
 * Replies (wire doc section 4.6), streamed straight into the framer: kReturn with one value
 * (ReturnVoid, ReturnHandle), the two- or three-value form of a CallFunc return, kCopyAck,
 * and kException. Shapes and sizes are byte-identical to TVM's server.
 */
#ifndef UTVM_RPC_REPLY_H_
#define UTVM_RPC_REPLY_H_

#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>

#include "server_state.h"

/* Largest packet_nbytes a reply may have. */
uint64_t utvm_rpc_reply_limit(const utvm_rpc_server_t* s);

void utvm_rpc_reply_void(utvm_rpc_server_t* s);
void utvm_rpc_reply_handle(utvm_rpc_server_t* s, uint64_t handle);
void utvm_rpc_reply_exception(utvm_rpc_server_t* s, const char* message);
void utvm_rpc_reply_exceptionf(utvm_rpc_server_t* s, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An exception carrying the last error, or naming `request` and `code` when it is empty. */
void utvm_rpc_reply_error(utvm_rpc_server_t* s, const char* request, int code);
/* The return of a CallFunc: [kDLInt tcode, value] or, for an NDArray, [13, record, handle].
 * Bytes returned by the callee (kTVMBytes) are freed after sending, as in TVM. */
void utvm_rpc_reply_call_return(utvm_rpc_server_t* s, TVMValue value, int tcode);
void utvm_rpc_reply_copy_ack(utvm_rpc_server_t* s, const uint8_t* data, uint64_t nbytes);

#endif /* UTVM_RPC_REPLY_H_ */
