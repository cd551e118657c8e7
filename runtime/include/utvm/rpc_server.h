/*
 * The microTVM RPC server: speaks TVM v0.18's host <-> device wire protocol (framing,
 * session, minRPC) over any byte transport, so TVM's host tools (tvm.micro.Session,
 * tvmc run --device micro, AutoTVM) and utvm's own host can drive this runtime.
 *
 * Usage (after utvm_heap_init() and TVMInitializeRuntime()):
 *
 *   static uint8_t rx[UTVM_RPC_MAX_PACKET_SIZE];
 *   utvm_rpc_server_t* server = utvm_rpc_server_init(rx, sizeof(rx), uart_write, &uart);
 *   for (;;) {
 *     const uint8_t* p = bytes; size_t n = count;        // whatever the transport received
 *     int rc = utvm_rpc_server_feed(server, &p, &n);
 *     if (rc == kTvmErrorPlatformShutdown) reboot();      // the host sent kShutdown
 *   }
 *
 * There is one server per program (TVMLogf and tvm.rpc.server.GetCRTMaxPacketSize reach
 * it); utvm_rpc_server_init() again restarts it. Nothing on the receive path allocates:
 * requests are decoded in the receive buffer and in the server's static state.
 *
 * Every value the host sends is checked (function/module/NDArray handles, data pointers
 * with byte offsets and lengths, ndim, type codes, argument counts, string and packet
 * lengths): a bad request gets a kException reply naming the problem, a bad frame is
 * dropped. Generated code (the system library's functions, which read their arguments
 * unchecked) is reached only with arguments that match its signature (utvm/signatures.h):
 * CallFunc and the time evaluator check each call, a graph JSON sent to
 * tvm.graph_executor.create is checked node by node when the executor is created, and
 * functions without a known signature cannot be called directly (unless
 * UTVM_RPC_UNCHECKED_OPERATOR_CALLS); the AOT executor calls its model with tensors it makes
 * from the model's own metadata.
 */
#ifndef UTVM_RPC_SERVER_H_
#define UTVM_RPC_SERVER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest session message (3-byte session header + 8-byte RPC length + RPC body) the server
 * receives or sends, i.e. the receive buffer size. Hosts learn it minus 11 (the largest RPC
 * packet) and size copy chunks by it: utvm.rpc.GetMaxPacketSize reports it as is, while
 * tvm.rpc.server.GetCRTMaxPacketSize reports at most 2048 - 11, because TVM 0.18's host
 * cannot receive messages over 2048 bytes (its copy chunks, hence our replies, stay below).
 * Larger values speed up copies for hosts that ask utvm.rpc.GetMaxPacketSize. */
#ifndef UTVM_RPC_MAX_PACKET_SIZE
#define UTVM_RPC_MAX_PACKET_SIZE 2048
#endif

/* Most arguments one request may carry (CallFunc arguments, syscall arguments). */
#ifndef UTVM_RPC_MAX_ARGS
#define UTVM_RPC_MAX_ARGS 16
#endif

/* Time evaluators (runtime.RPCTimeEvaluator) alive at once; creating one more replaces the
 * oldest (TVM keeps only the newest). Each holds one closure slot (UTVM_MAX_CLOSURES). */
#ifndef UTVM_RPC_MAX_TIME_EVALUATORS
#define UTVM_RPC_MAX_TIME_EVALUATORS 2
#endif

/* Most calls in one timed batch of the time evaluator, whether the host asks for them
 * (`number`) or the evaluator grows the batch to reach min_repeat_ms. */
#ifndef UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER
#define UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER 10000000
#endif

/* 1 lets the host call generated functions for which no signature is known (utvm/signatures.h:
 * AOT operators, operator-style builds for AutoTVM) with any tensors the server allocated,
 * which is what tuning needs; it gives up the guarantee that generated code only runs on
 * arguments it was compiled for (a wrong call can then crash the device or corrupt its
 * memory). 0 (the default) refuses such calls. */
#ifndef UTVM_RPC_UNCHECKED_OPERATOR_CALLS
#define UTVM_RPC_UNCHECKED_OPERATOR_CALLS 0
#endif

/* Longest log line TVMLogf sends (bytes, including the terminating NUL while formatting). */
#ifndef UTVM_RPC_LOG_SIZE
#define UTVM_RPC_LOG_SIZE 256
#endif

/* Bytes the transmitter escapes before handing them to the write function. */
#ifndef UTVM_RPC_TX_CHUNK
#define UTVM_RPC_TX_CHUNK 128
#endif

/* Executor modules the server registers for the host ("tvm.aot_executor.create",
 * "tvm.graph_executor.create"); 0 leaves one out (and its library unneeded). */
#ifndef UTVM_RPC_AOT_EXECUTOR
#define UTVM_RPC_AOT_EXECUTOR 1
#endif
#ifndef UTVM_RPC_GRAPH_EXECUTOR
#define UTVM_RPC_GRAPH_EXECUTOR 1
#endif

/* Smallest receive buffer utvm_rpc_server_init() accepts. */
#define UTVM_RPC_MIN_PACKET_SIZE 128

/* Writes up to `len` (<= UTVM_RPC_TX_CHUNK) bytes to the transport. Returns how many were
 * written (the server calls again with the rest), or a negative value on a transport error. */
typedef int (*utvm_rpc_write_fn)(void* ctx, const uint8_t* data, size_t len);

typedef struct utvm_rpc_server utvm_rpc_server_t;

/* What the server saw, for diagnostics and tests. */
typedef struct {
  uint32_t frames_received;   /* frames with a good CRC */
  uint32_t crc_errors;        /* frames dropped for a bad CRC */
  uint32_t framing_errors;    /* frames abandoned: invalid escape, or a new start inside */
  uint32_t oversize_frames;   /* frames longer than the receive buffer */
  uint32_t messages_dropped;  /* session-level drops: no session, wrong session id, runt */
  uint32_t sessions_started;  /* StartSessionInit messages answered */
  uint32_t requests;          /* RPC requests handled */
  uint32_t exceptions;        /* kException replies sent */
  uint32_t write_errors;      /* replies lost to transport errors */
} utvm_rpc_server_stats_t;

/* Starts the server over rx_buf (its size bounds every message; UTVM_RPC_MAX_PACKET_SIZE is
 * used if rx_size is larger) and sends the boot TerminateSession, as TVM's device does.
 * Registers runtime.RPCTimeEvaluator, tvm.rpc.server.GetCRTMaxPacketSize,
 * tvm.contrib.random.random_fill, the executor modules' create functions and
 * utvm.rpc.GetMaxPacketSize. Call after utvm_heap_init() and TVMInitializeRuntime().
 * Returns NULL with a message (TVMGetLastError) on failure.
 * When a session ends — the host sends TerminateSession or kShutdown, or starts a new
 * session — everything that host made is freed: executors (with the parameters loaded
 * into them), the arrays handed to it, its DevAllocData memory and time evaluators. */
utvm_rpc_server_t* utvm_rpc_server_init(uint8_t* rx_buf, size_t rx_size, utvm_rpc_write_fn write,
                                        void* write_ctx);

/* Processes received bytes: *bytes and *len advance past what was consumed. Returns 0 when all
 * were consumed; kTvmErrorPlatformShutdown once the host sent kShutdown (the rest is left
 * unconsumed; TVM's device reboots here); the transport's (negative) error when a reply
 * could not be written (input up to that request is consumed; feeding may continue); or
 * kTvmErrorSessionInvalidState when called before init or from inside a request. */
int utvm_rpc_server_feed(utvm_rpc_server_t* server, const uint8_t** bytes, size_t* len);

/* Largest RPC packet (packet_nbytes) the host may send: what utvm.rpc.GetMaxPacketSize
 * returns (tvm.rpc.server.GetCRTMaxPacketSize caps it at 2037 for TVM's host). */
size_t utvm_rpc_server_max_rpc_packet(const utvm_rpc_server_t* server);

bool utvm_rpc_server_session_established(const utvm_rpc_server_t* server);

void utvm_rpc_server_get_stats(const utvm_rpc_server_t* server, utvm_rpc_server_stats_t* out);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_RPC_SERVER_H_ */
