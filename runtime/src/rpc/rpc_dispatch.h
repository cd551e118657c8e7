/* minRPC request handling: one RPC packet in, one reply out (or none for kShutdown). */
#ifndef UTVM_RPC_DISPATCH_H_
#define UTVM_RPC_DISPATCH_H_

#include <stddef.h>
#include <stdint.h>

#include "rpc_reader.h"
#include "server_state.h"

/* Handles the RPC packet in a Normal message body (starting at its u64 packet_nbytes).
 * `stored` bytes are in memory; `len` is what the message carried (more when the frame
 * overflowed the receive buffer). */
void utvm_rpc_dispatch(utvm_rpc_server_t* s, uint8_t* body, size_t stored, size_t len);

/* Syscalls (codes >= 9): the rest of the packet is a packed sequence (rpc_syscalls.c).
 * Returns 0 once it replied, or an error code for the caller to reply with. */
int utvm_rpc_syscall(utvm_rpc_server_t* s, int32_t code, utvm_rpc_reader_t* r);

#endif /* UTVM_RPC_DISPATCH_H_ */
