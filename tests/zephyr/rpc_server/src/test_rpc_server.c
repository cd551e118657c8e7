/*
 * utvm's RPC server on Zephyr, driven in memory as a host would drive it over a UART: the
 * boot message, the session handshake, minRPC requests against the linked-in model, log lines
 * to the host (the server's TVMLogf replacing the port's), and bad input on the wire.
 */
#include <errno.h>
#include <string.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/ztest.h>

#include "wire.h"

#define HOST_NONCE 0x22
#define TVM_HOST_MAX_MESSAGE 2048

static uint8_t rx_buf[CONFIG_UTVM_RPC_MAX_PACKET_SIZE];
static uint8_t sent[8192];
static size_t sent_len;
static size_t read_pos;
static bool writes_fail;
static utvm_rpc_server_t* server;

static int capture(void* ctx, const uint8_t* data, size_t len) {
  ARG_UNUSED(ctx);
  if (writes_fail) return -EIO;
  if (sent_len + len > sizeof(sent)) return -ENOSPC;
  memcpy(sent + sent_len, data, len);
  sent_len += len;
  return (int)len;
}

static void start_server(void* fixture) {
  ARG_UNUSED(fixture);
  zassert_equal(utvm_zephyr_init(), 0, "%s", TVMGetLastError());
  sent_len = 0;
  read_pos = 0;
  writes_fail = false;
  server = utvm_rpc_server_init(rx_buf, sizeof(rx_buf), capture, NULL);
  zassert_not_null(server, "%s", TVMGetLastError());
}

ZTEST_SUITE(utvm_rpc_server, NULL, NULL, start_server, NULL, NULL);

static int feed(const uint8_t* bytes, size_t len) {
  int rc = utvm_rpc_server_feed(server, &bytes, &len);
  if (rc == 0) zassert_equal(len, 0, "all input consumed");
  return rc;
}

static int send_payload(const uint8_t* payload, size_t len) {
  static uint8_t frame[2 * CONFIG_UTVM_RPC_MAX_PACKET_SIZE + 64];
  size_t n = wire_frame(payload, len, frame, sizeof(frame));
  zassert_true(n > 0);
  return feed(frame, n);
}

/* The next message the server sent that is not a log line. */
static bool next_reply(wire_message_t* msg) {
  while (wire_next_message(sent, sent_len, &read_pos, msg)) {
    if (msg->type != MSG_LOG) return true;
  }
  return false;
}

static uint16_t handshake(void) {
  static uint8_t payload[8];
  const uint8_t version = 1;
  zassert_equal(send_payload(payload, wire_session(HOST_NONCE, MSG_START_INIT, &version, 1,
                                                    payload)), 0);
  static wire_message_t msg;
  do {
    zassert_true(next_reply(&msg), "no StartSessionReply");
  } while (msg.type == MSG_TERMINATE); /* the boot message */
  zassert_equal(msg.type, MSG_START_REPLY);
  zassert_equal(msg.session_id & 0xFF, HOST_NONCE, "initiator nonce echoed");
  zassert_not_equal(msg.session_id >> 8, 0, "responder nonce is never 0");
  zassert_equal(msg.body_len, 1);
  zassert_equal(msg.body[0], 1, "protocol version 1");
  return msg.session_id;
}

/* Sends one RPC request and returns the reply's packet (after the u64 length) in msg. */
static void request(uint16_t sid, int32_t code, const uint8_t* body, size_t len,
                    wire_message_t* msg) {
  static uint8_t payload[CONFIG_UTVM_RPC_MAX_PACKET_SIZE];
  zassert_equal(send_payload(payload, wire_rpc(sid, code, body, len, payload)), 0);
  zassert_true(next_reply(msg), "no reply to RPC code %d", code);
  zassert_equal(msg->type, MSG_NORMAL);
  zassert_equal(msg->session_id, sid);
  uint64_t nbytes;
  memcpy(&nbytes, msg->body, 8);
  zassert_equal(nbytes, msg->body_len - 8, "one whole RPC packet per message");
}

static int32_t i32_at(const wire_message_t* msg, size_t offset) {
  int32_t v;
  memcpy(&v, msg->body + offset, 4);
  return v;
}

static uint64_t u64_at(const wire_message_t* msg, size_t offset) {
  uint64_t v;
  memcpy(&v, msg->body + offset, 8);
  return v;
}

/* GetGlobalFunc(name) -> handle (0 when unknown). */
static uint64_t get_global(uint16_t sid, const char* name) {
  uint8_t body[128];
  int32_t num_args = 1, type_str = 11;
  uint64_t len = strlen(name);
  memcpy(body, &num_args, 4);
  memcpy(body + 4, &type_str, 4);
  memcpy(body + 8, &len, 8);
  memcpy(body + 16, name, len);
  static wire_message_t msg;
  request(sid, RPC_GET_GLOBAL, body, 16 + len, &msg);
  zassert_equal(i32_at(&msg, 8), RPC_RETURN);
  zassert_equal(i32_at(&msg, 12), 1, "one value");
  zassert_equal(i32_at(&msg, 16), 3, "an opaque handle");
  return u64_at(&msg, 20);
}

/* CallFunc(handle) without arguments; msg holds the reply. */
static void call_no_args(uint16_t sid, uint64_t func, wire_message_t* msg) {
  uint8_t body[12];
  int32_t num_args = 0;
  memcpy(body, &func, 8);
  memcpy(body + 8, &num_args, 4);
  request(sid, RPC_CALL_FUNC, body, sizeof(body), msg);
  zassert_equal(i32_at(msg, 8), RPC_RETURN, "not an exception");
  zassert_equal(i32_at(msg, 12), 2, "callee's type code, then its value");
  zassert_equal(i32_at(msg, 16), 0);
}

ZTEST(utvm_rpc_server, test_boot_announces_a_terminate_session) {
  /* As TVM's device does, FE-prefixed since it is the server's first frame. */
  static const uint8_t expected[] = {0xfe, 0xff, 0xfd, 0x03, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x02, 0x66, 0x77};
  zassert_equal(sent_len, sizeof(expected));
  zassert_mem_equal(sent, expected, sizeof(expected));
  zassert_false(utvm_rpc_server_session_established(server));
}

ZTEST(utvm_rpc_server, test_handshake_establishes_a_session) {
  handshake();
  zassert_true(utvm_rpc_server_session_established(server));
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(server, &stats);
  zassert_equal(stats.sessions_started, 1);
}

ZTEST(utvm_rpc_server, test_max_packet_size_follows_kconfig) {
  uint16_t sid = handshake();
  uint64_t func = get_global(sid, "tvm.rpc.server.GetCRTMaxPacketSize");
  zassert_not_equal(func, 0);
  static wire_message_t msg;
  call_no_args(sid, func, &msg);
  zassert_equal(i32_at(&msg, 20), 0, "an int");
  int64_t expected = MIN(CONFIG_UTVM_RPC_MAX_PACKET_SIZE, TVM_HOST_MAX_MESSAGE) - 11;
  zassert_equal((int64_t)u64_at(&msg, 32), expected);
  zassert_equal(utvm_rpc_server_max_rpc_packet(server), CONFIG_UTVM_RPC_MAX_PACKET_SIZE - 11);
}

ZTEST(utvm_rpc_server, test_system_lib_is_the_linked_model) {
  uint16_t sid = handshake();
  static wire_message_t msg;
  call_no_args(sid, get_global(sid, "runtime.SystemLib"), &msg);
  zassert_equal(i32_at(&msg, 20), 3, "the handle travels as opaque");
  zassert_equal((int64_t)u64_at(&msg, 24), 9, "callee returned a module");
  zassert_not_equal(u64_at(&msg, 32), 0);
  zassert_not_equal(get_global(sid, "tvm.aot_executor.create"), 0, "AOT executor registered");
}

ZTEST(utvm_rpc_server, test_unknown_global_is_handle_zero) {
  uint16_t sid = handshake();
  zassert_equal(get_global(sid, "no.such.function"), 0);
}

ZTEST(utvm_rpc_server, test_log_lines_go_to_the_host) {
  /* The server's TVMLogf replaces the port's weak one (which logs through Zephyr's LOG). */
  size_t before = sent_len;
  TVMLogf("inference %d done\n", 3);
  read_pos = before;
  static wire_message_t msg;
  zassert_true(wire_next_message(sent, sent_len, &read_pos, &msg), "no frame sent");
  zassert_equal(msg.type, MSG_LOG);
  zassert_equal(msg.session_id, 0, "logs always carry session id 0");
  zassert_equal(msg.body_len, strlen("inference 3 done"), "trailing newline stripped");
  zassert_mem_equal(msg.body, "inference 3 done", msg.body_len);
}

ZTEST(utvm_rpc_server, test_bad_crc_and_noise_are_survived) {
  uint16_t sid = handshake();
  size_t before = sent_len;
  static const char noise[] = "*** Booting Zephyr OS ***\n\xfe\xff";
  zassert_equal(feed((const uint8_t*)noise, sizeof(noise) - 1), 0);

  static uint8_t payload[64], frame[160];
  int32_t zero = 0;
  size_t n = wire_frame(payload, wire_rpc(sid, RPC_CALL_FUNC, (uint8_t*)&zero, 4, payload), frame,
                        sizeof(frame));
  frame[n - 1] ^= 0x5A; /* corrupt the CRC */
  zassert_equal(feed(frame, n), 0);
  zassert_equal(sent_len, before, "nothing answered");
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(server, &stats);
  zassert_true(stats.crc_errors + stats.framing_errors >= 1, "the bad frame was counted");

  zassert_not_equal(get_global(sid, "runtime.SystemLib"), 0, "still serving");
}

ZTEST(utvm_rpc_server, test_oversize_request_gets_an_exception) {
  uint16_t sid = handshake();
  static uint8_t payload[CONFIG_UTVM_RPC_MAX_PACKET_SIZE + 16];
  memset(payload, 0x11, sizeof(payload));
  size_t len = wire_rpc(sid, RPC_CALL_FUNC, payload, sizeof(payload) - 15, payload);
  zassert_equal(send_payload(payload, len), 0);
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(server, &stats);
  zassert_equal(stats.oversize_frames, 1);
  static wire_message_t msg;
  zassert_true(next_reply(&msg), "the host is told, not left waiting");
  zassert_equal(msg.type, MSG_NORMAL);
  zassert_equal(i32_at(&msg, 8), RPC_EXCEPTION);
  zassert_not_equal(get_global(sid, "runtime.SystemLib"), 0, "still serving");
}

ZTEST(utvm_rpc_server, test_shutdown_stops_the_server) {
  uint16_t sid = handshake();
  uint8_t payload[16];
  zassert_equal(send_payload(payload, wire_rpc(sid, RPC_SHUTDOWN, NULL, 0, payload)),
                kTvmErrorPlatformShutdown);
}

ZTEST(utvm_rpc_server, test_write_errors_reach_the_caller) {
  uint16_t sid = handshake();
  writes_fail = true;
  static uint8_t payload[64];
  const char* name = "runtime.SystemLib";
  uint8_t body[64];
  int32_t num_args = 1, type_str = 11;
  uint64_t len = strlen(name);
  memcpy(body, &num_args, 4);
  memcpy(body + 4, &type_str, 4);
  memcpy(body + 8, &len, 8);
  memcpy(body + 16, name, len);
  int rc = send_payload(payload, wire_rpc(sid, RPC_GET_GLOBAL, body, 16 + len, payload));
  zassert_equal(rc, -EIO, "the transport's error comes back");
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(server, &stats);
  zassert_true(stats.write_errors >= 1);
}
