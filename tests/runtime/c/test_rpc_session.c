/* RPC server, session layer: boot message, handshake, nonces, session ids, termination,
 * logs, and which messages are dropped. */
#include "../../../runtime/src/rpc/session.h"
#include "test_rpc_support.h"
#include "utest.h"

static const uint8_t kVersion = 1;

UTEST(nonce_sequence_matches_the_doc) {
  CHECK_EQ_INT(utvm_session_next_nonce(0x21), 0x22);
  CHECK_EQ_INT(utvm_session_next_nonce(0x3C), 0x82);
  CHECK_EQ_INT(utvm_session_next_nonce(0x00), 0x01);
  for (int n = 0; n < 256; n++) CHECK(utvm_session_next_nonce((uint8_t)n) != 0);
}

UTEST(boot_sends_terminate_with_leading_fe) {
  static const uint8_t expected[] = {0xfe, 0xff, 0xfd, 0x03, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x02, 0x66, 0x77};
  clear_wire();
  srv = utvm_rpc_server_init(rx_buf, sizeof(rx_buf), record_write, NULL);
  CHECK(srv != NULL);
  CHECK_EQ_INT(wire_len, sizeof(expected));
  CHECK(memcmp(wire, expected, sizeof(expected)) == 0);
  CHECK(!utvm_rpc_server_session_established(srv));
}

UTEST(init_rejects_a_tiny_buffer) {
  CHECK(utvm_rpc_server_init(rx_buf, 16, record_write, NULL) == NULL);
  CHECK_LAST_ERROR_HAS("receive buffer");
  CHECK(utvm_rpc_server_init(rx_buf, sizeof(rx_buf), NULL, NULL) == NULL);
}

UTEST(handshake_replies_with_the_host_nonce_and_a_fresh_one) {
  CHECK(start_session());
  CHECK_EQ_INT(sid & 0xFF, 0x22);
  CHECK((sid >> 8) != 0);
  /* A second Init (the host restarted) is answered with a new responder nonce. */
  uint16_t first = sid;
  send_message(0x0037, 0x00, &kVersion, 1);
  CHECK_EQ_INT(parse_wire(), 1);
  CHECK_EQ_INT(msgs[0].type, 0x01);
  CHECK_EQ_INT(msgs[0].id & 0xFF, 0x37);
  CHECK(msgs[0].id >> 8 != first >> 8);
  CHECK_EQ_INT(msgs[0].body_len, 1);
  CHECK_EQ_INT(msgs[0].body[0], 1);
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(srv, &stats);
  CHECK_EQ_INT(stats.sessions_started, 2);
}

UTEST(init_with_nonce_zero_or_no_version_is_ignored) {
  clear_wire();
  srv = utvm_rpc_server_init(rx_buf, sizeof(rx_buf), record_write, NULL);
  clear_wire();
  send_message(0x0000, 0x00, &kVersion, 1);
  send_message(0x0022, 0x00, NULL, 0);
  CHECK_EQ_INT(wire_len, 0);
  CHECK(!utvm_rpc_server_session_established(srv));
}

UTEST(normal_messages_outside_the_session_are_dropped) {
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "runtime.SystemLib");
  req_end(p);
  clear_wire();
  srv = utvm_rpc_server_init(rx_buf, sizeof(rx_buf), record_write, NULL);
  clear_wire();
  send_message(0x1234, 0x10, p->b, p->n); /* no session yet */
  CHECK_EQ_INT(wire_len, 0);
  CHECK(start_session());
  send_message((uint16_t)(sid ^ 0x0100), 0x10, p->b, p->n); /* wrong session id */
  send_message(sid, 0x42, p->b, p->n);                      /* unknown message type */
  send_message(sid, 0x01, &kVersion, 1);                    /* a reply the device never asked for */
  static const uint8_t runt[2] = {0x10, 0x00};
  uint8_t framed[32];
  feed(framed, host_frame(runt, sizeof(runt), framed)); /* shorter than a session header */
  CHECK_EQ_INT(wire_len, 0);
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(srv, &stats);
  CHECK_EQ_INT(stats.messages_dropped, 4);
  /* The session survived all of it. */
  CHECK(get_global("runtime.SystemLib") != UINT64_MAX);
}

UTEST(terminate_ends_the_session) {
  CHECK(start_session());
  send_message(0, 0x02, NULL, 0);
  CHECK(!utvm_rpc_server_session_established(srv));
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "runtime.SystemLib");
  CHECK(call(p) == NULL); /* dropped: no reply */
  CHECK_EQ_INT(wire_len, 0);
}

UTEST(host_logs_are_ignored) {
  CHECK(start_session());
  send_message(0, 0x03, (const uint8_t*)"hello", 5);
  CHECK_EQ_INT(wire_len, 0);
  CHECK(utvm_rpc_server_session_established(srv));
}

UTEST(tvmlogf_sends_a_log_message_with_id_zero) {
  CHECK(start_session());
  TVMLogf("value %d\n", 42);
  TVMLogf("%s", ""); /* empty lines are not sent */
  CHECK_EQ_INT(parse_wire(), 1);
  CHECK_EQ_INT(msgs[0].id, 0);
  CHECK_EQ_INT(msgs[0].type, 0x03);
  CHECK_EQ_INT(msgs[0].body_len, 8);
  CHECK(memcmp(msgs[0].body, "value 42", 8) == 0);
  /* Long lines are cut to UTVM_RPC_LOG_SIZE - 1 bytes. */
  clear_wire();
  char big[UTVM_RPC_LOG_SIZE * 2];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  TVMLogf("%s", big);
  CHECK_EQ_INT(parse_wire(), 1);
  CHECK_EQ_INT(msgs[0].body_len, UTVM_RPC_LOG_SIZE - 1);
}

UTEST(the_doc_log_example_is_byte_exact) {
  /* Wire doc 3.5: after the boot Terminate, the log frame has no FE. */
  static const char text[] = "microTVM Zephyr runtime - running";
  static const uint8_t tail[] = {0x26, 0x4c};
  clear_wire();
  srv = utvm_rpc_server_init(rx_buf, sizeof(rx_buf), record_write, NULL);
  clear_wire();
  TVMLogf("%s", text);
  CHECK_EQ_INT(wire_len, 2 + 4 + 3 + 33 + 2);
  static const uint8_t head[] = {0xff, 0xfd, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03};
  CHECK(memcmp(wire, head, sizeof(head)) == 0);
  CHECK(memcmp(wire + sizeof(head), text, 33) == 0);
  CHECK(memcmp(wire + sizeof(head) + 33, tail, 2) == 0);
}

UTEST_MAIN()
