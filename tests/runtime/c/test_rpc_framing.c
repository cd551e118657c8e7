/* RPC server, framing layer: CRC, escaping, the wire doc's example frames, and surviving
 * garbage, bad CRCs, bad escapes, new starts inside frames and oversize frames. */
#include "../../../runtime/src/rpc/crc16.h"
#include "../../../runtime/src/rpc/framer.h"
#include "../../../runtime/src/rpc/unframer.h"
#include "test_rpc_support.h"
#include "utest.h"

static const uint8_t kDocPayload[] = {0x22, 0xFF, 0x10, 0xFF, 0xFF, 0xFD, 0x00};
/* Wire doc section 2.4: that payload as the first frame after reset. */
static const uint8_t kDocFrame[] = {0xfe, 0xff, 0xfd, 0x07, 0x00, 0x00, 0x00, 0x22, 0xff, 0xff,
                                    0x10, 0xff, 0xff, 0xff, 0xff, 0xfd, 0x00, 0x1c, 0x1a};

/* The server's CRC over a buffer, a byte at a time as the framer and unframer do. */
static uint16_t device_crc(const uint8_t* data, size_t len) {
  uint16_t crc = UTVM_CRC16_INIT;
  for (size_t i = 0; i < len; i++) crc = utvm_crc16_byte(crc, data[i]);
  return crc;
}

/* utvm_unframer_feed over (data, len); *used is how far it advanced the data pointer, and
 * an event of -1 says the pointer and the length it left disagree. */
static int unframe(utvm_unframer_t* u, const uint8_t* data, size_t len, size_t* used) {
  const uint8_t* p = data;
  size_t left = len;
  utvm_unframer_event_t ev = utvm_unframer_feed(u, &p, &left);
  *used = (size_t)(p - data);
  return *used + left == len ? (int)ev : -1;
}

UTEST(crc16_check_value) {
  CHECK_EQ_INT(device_crc((const uint8_t*)"123456789", 9), 0x29B1);
  uint8_t all[256];
  for (int i = 0; i < 256; i++) all[i] = (uint8_t)(i * 7 + 3);
  CHECK_EQ_INT(device_crc(all, sizeof(all)), host_crc(0xFFFF, all, sizeof(all)));
  static const uint8_t start[2] = {0xFF, 0xFD};
  CHECK_EQ_INT(UTVM_CRC16_AFTER_PACKET_START, host_crc(0xFFFF, start, 2));
}

UTEST(framer_writes_the_doc_example_bytes) {
  utvm_framer_t f;
  clear_wire();
  utvm_framer_init(&f, record_write, NULL);
  CHECK_OK(utvm_framer_start(&f, sizeof(kDocPayload)));
  CHECK_OK(utvm_framer_write(&f, kDocPayload, 3)); /* chunking never changes the bytes */
  CHECK_OK(utvm_framer_write(&f, kDocPayload + 3, sizeof(kDocPayload) - 3));
  CHECK_OK(utvm_framer_finish(&f));
  CHECK_EQ_INT(wire_len, sizeof(kDocFrame));
  CHECK(memcmp(wire, kDocFrame, sizeof(kDocFrame)) == 0);
  /* Only the first frame after reset carries the FE. */
  clear_wire();
  CHECK_OK(utvm_framer_start(&f, sizeof(kDocPayload)));
  CHECK_OK(utvm_framer_write(&f, kDocPayload, sizeof(kDocPayload)));
  CHECK_OK(utvm_framer_finish(&f));
  CHECK(memcmp(wire, kDocFrame + 1, sizeof(kDocFrame) - 1) == 0);
}

UTEST(framer_escapes_length_0xff) {
  uint8_t payload[255];
  memset(payload, 0xAB, sizeof(payload));
  utvm_framer_t f;
  clear_wire();
  utvm_framer_init(&f, record_write, NULL);
  f.state = UTVM_FRAMER_IDLE;
  CHECK_OK(utvm_framer_start(&f, sizeof(payload)));
  CHECK_OK(utvm_framer_write(&f, payload, sizeof(payload)));
  CHECK_OK(utvm_framer_finish(&f));
  CHECK_EQ_INT(wire_len, 264);
  static const uint8_t head[] = {0xff, 0xfd, 0xff, 0xff, 0x00, 0x00, 0x00, 0xab};
  CHECK(memcmp(wire, head, sizeof(head)) == 0);
  CHECK_EQ_INT(wire[262], 0x31);
  CHECK_EQ_INT(wire[263], 0xb9);
}

UTEST(framer_rejects_overflow_and_short_frames) {
  utvm_framer_t f;
  clear_wire();
  utvm_framer_init(&f, record_write, NULL);
  CHECK_OK(utvm_framer_start(&f, 2));
  CHECK_EQ_INT(utvm_framer_write(&f, "abc", 3), kTvmErrorFramingPayloadOverflow);
  CHECK_EQ_INT(utvm_framer_start(&f, 1), kTvmErrorFramingInvalidState);
  CHECK_EQ_INT(utvm_framer_finish(&f), kTvmErrorFramingPayloadIncomplete);
  /* The lost frame sends the next one back to the reset state: FE first. */
  clear_wire();
  CHECK_OK(utvm_framer_start(&f, 0));
  CHECK_OK(utvm_framer_finish(&f));
  CHECK_EQ_INT(wire[0], 0xFE);
}

UTEST(framer_survives_partial_and_failed_writes) {
  utvm_framer_t f;
  clear_wire();
  write_mode = WRITE_ONE_BYTE;
  utvm_framer_init(&f, record_write, NULL);
  CHECK_OK(utvm_framer_start(&f, sizeof(kDocPayload)));
  CHECK_OK(utvm_framer_write(&f, kDocPayload, sizeof(kDocPayload)));
  CHECK_OK(utvm_framer_finish(&f));
  CHECK(wire_len == sizeof(kDocFrame) && memcmp(wire, kDocFrame, sizeof(kDocFrame)) == 0);
  write_mode = WRITE_FAIL;
  CHECK_OK(utvm_framer_start(&f, 1)); /* buffered: nothing written yet */
  CHECK_OK(utvm_framer_write(&f, "x", 1));
  CHECK_EQ_INT(utvm_framer_finish(&f), -5);
  CHECK_EQ_INT(f.state, UTVM_FRAMER_RESET);
  write_mode = WRITE_ALL;
}

UTEST(unframer_reads_the_doc_example) {
  uint8_t buf[64];
  utvm_unframer_t u;
  utvm_unframer_init(&u, buf, sizeof(buf));
  size_t used = 0;
  CHECK_EQ_INT(unframe(&u, kDocFrame, sizeof(kDocFrame), &used), UTVM_UNFRAMER_FRAME);
  CHECK_EQ_INT(used, sizeof(kDocFrame));
  CHECK_EQ_INT(u.frame_len, sizeof(kDocPayload));
  CHECK(memcmp(buf, kDocPayload, sizeof(kDocPayload)) == 0);
  /* Byte by byte gives the same frame. */
  utvm_unframer_init(&u, buf, sizeof(buf));
  memset(buf, 0, sizeof(buf));
  int frames = 0;
  for (size_t i = 0; i < sizeof(kDocFrame); i++) {
    CHECK_EQ_INT(unframe(&u, kDocFrame + i, 1, &used), i + 1 == sizeof(kDocFrame) ? UTVM_UNFRAMER_FRAME : UTVM_UNFRAMER_NEED_MORE);
    frames += used == 1;
  }
  CHECK_EQ_INT(frames, sizeof(kDocFrame));
  CHECK(memcmp(buf, kDocPayload, sizeof(kDocPayload)) == 0);
}

UTEST(unframer_drops_a_bad_crc) {
  uint8_t frame[sizeof(kDocFrame)];
  memcpy(frame, kDocFrame, sizeof(frame));
  frame[10] ^= 0x01; /* a payload bit flips on the line */
  uint8_t buf[64];
  utvm_unframer_t u;
  utvm_unframer_init(&u, buf, sizeof(buf));
  size_t used;
  CHECK_EQ_INT(unframe(&u, frame, sizeof(frame), &used), UTVM_UNFRAMER_BAD_CRC);
  CHECK_EQ_INT(unframe(&u, kDocFrame, sizeof(kDocFrame), &used), UTVM_UNFRAMER_FRAME);
}

UTEST(unframer_nop_inside_a_frame_breaks_its_crc_like_tvm) {
  /* FF FE is dropped from the data but counted in the CRC, so a sender's CRC no longer
   * matches (wire doc 2.5). */
  uint8_t frame[sizeof(kDocFrame) + 2];
  memcpy(frame, kDocFrame, 8);
  frame[8] = 0xFF, frame[9] = 0xFE;
  memcpy(frame + 10, kDocFrame + 8, sizeof(kDocFrame) - 8);
  uint8_t buf[64];
  utvm_unframer_t u;
  utvm_unframer_init(&u, buf, sizeof(buf));
  size_t used;
  CHECK_EQ_INT(unframe(&u, frame, sizeof(frame), &used), UTVM_UNFRAMER_BAD_CRC);
  CHECK(memcmp(buf, kDocPayload, sizeof(kDocPayload)) == 0);
}

UTEST(unframer_resyncs_after_a_new_start_inside_a_frame) {
  /* The first frame is cut after its length; the second must arrive whole. */
  uint8_t bytes[64];
  memcpy(bytes, kDocFrame + 1, 6);
  memcpy(bytes + 6, kDocFrame + 1, sizeof(kDocFrame) - 1);
  size_t n = 6 + sizeof(kDocFrame) - 1;
  uint8_t buf[64];
  utvm_unframer_t u;
  utvm_unframer_init(&u, buf, sizeof(buf));
  size_t used;
  CHECK_EQ_INT(unframe(&u, bytes, n, &used), UTVM_UNFRAMER_SHORT_FRAME);
  CHECK_EQ_INT(unframe(&u, bytes + used, n - used, &used), UTVM_UNFRAMER_FRAME);
  CHECK(memcmp(buf, kDocPayload, sizeof(kDocPayload)) == 0);
}

UTEST(unframer_abandons_an_invalid_escape) {
  static const uint8_t bad[] = {0xff, 0xfd, 0x03, 0x00, 0x00, 0x00, 0x01, 0xff, 0x42, 0x02};
  uint8_t buf[64];
  utvm_unframer_t u;
  utvm_unframer_init(&u, buf, sizeof(buf));
  size_t used;
  CHECK_EQ_INT(unframe(&u, bad, sizeof(bad), &used), UTVM_UNFRAMER_INVALID_ESCAPE);
  CHECK_EQ_INT(used, 9);
  CHECK_EQ_INT(unframe(&u, bad + used, sizeof(bad) - used, &used), UTVM_UNFRAMER_NEED_MORE);
  CHECK_EQ_INT(unframe(&u, kDocFrame, sizeof(kDocFrame), &used), UTVM_UNFRAMER_FRAME);
}

UTEST(unframer_keeps_the_start_of_an_oversize_frame) {
  uint8_t payload[100], framed[256];
  for (int i = 0; i < 100; i++) payload[i] = (uint8_t)i;
  size_t n = host_frame(payload, sizeof(payload), framed);
  uint8_t buf[16];
  utvm_unframer_t u;
  utvm_unframer_init(&u, buf, sizeof(buf));
  size_t used;
  CHECK_EQ_INT(unframe(&u, framed, n, &used), UTVM_UNFRAMER_FRAME);
  CHECK(utvm_unframer_overflow(&u));
  CHECK_EQ_INT(u.frame_len, 100);
  CHECK(memcmp(buf, payload, sizeof(buf)) == 0);
}

UTEST(server_resyncs_through_garbage) {
  CHECK(start_session());
  /* Line noise: a lone FF, a lone FE, an FF FF FD that mimics a start and then dies on an
   * invalid escape. */
  static const uint8_t noise[] = {0x00, 0x13, 0xFF, 0x77, 0xFD, 0xFE, 0xFF, 0xFF, 0xFD, 0x02,
                                  0x00, 0x00, 0x00, 0xFF, 0xFE, 0x10, 0xFF, 0x00, 0x42};
  uint64_t before;
  CHECK_EQ_INT(feed(noise, sizeof(noise)), 0);
  before = get_global("tvm.rpc.server.GetCRTMaxPacketSize");
  CHECK(before != UINT64_MAX && before != 0);
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(srv, &stats);
  CHECK_EQ_INT(stats.framing_errors, 1);
}

UTEST(server_drops_bad_crc_then_answers_the_retry) {
  CHECK(start_session());
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "runtime.SystemLib");
  req_end(p);
  uint8_t payload[128], framed[300];
  payload[0] = (uint8_t)sid, payload[1] = (uint8_t)(sid >> 8), payload[2] = 0x10;
  memcpy(payload + 3, p->b, p->n);
  size_t n = host_frame(payload, p->n + 3, framed);
  framed[n - 1] ^= 0x40; /* corrupt the CRC itself */
  if (framed[n - 1] == 0xFF) framed[n - 1] = 0x00;
  clear_wire();
  CHECK_EQ_INT(feed(framed, n), 0);
  CHECK_EQ_INT(wire_len, 0);
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(srv, &stats);
  CHECK_EQ_INT(stats.crc_errors, 1);
  CHECK(get_global("runtime.SystemLib") != UINT64_MAX);
}

UTEST(server_answers_an_oversize_request_with_an_exception) {
  CHECK(start_session());
  pkt_t* p = req(7);
  int64_t shape = 4000;
  p_tensor(p, 0x1000, 1, &shape, 1, 8, 0);
  p_u64(p, 4000);
  memset(p->b + p->n, 0x5A, 4000);
  p->n += 4000;
  const host_msg_t* reply = call(p);
  CHECK(is_exception(reply, "> max packet"));
  CHECK(is_exception(reply, "the board receives messages of at most"));
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(srv, &stats);
  CHECK_EQ_INT(stats.oversize_frames, 1);
}

UTEST(server_survives_a_huge_length_field) {
  CHECK(start_session());
  /* A corrupt length announces 4 GiB; the next frame's start rescues the receiver. */
  static const uint8_t bogus[] = {0xff, 0xfd, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
  CHECK_EQ_INT(feed(bogus, sizeof(bogus)), 0);
  CHECK(get_global("runtime.SystemLib") != UINT64_MAX);
}

UTEST(server_handles_byte_at_a_time_input) {
  CHECK(start_session());
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "tvm.rpc.server.GetCRTMaxPacketSize");
  req_end(p);
  uint8_t payload[128], framed[300];
  payload[0] = (uint8_t)sid, payload[1] = (uint8_t)(sid >> 8), payload[2] = 0x10;
  memcpy(payload + 3, p->b, p->n);
  size_t n = host_frame(payload, p->n + 3, framed);
  clear_wire();
  for (size_t i = 0; i < n; i++) CHECK_EQ_INT(feed(framed + i, 1), 0);
  CHECK_EQ_INT(parse_wire(), 1);
  CHECK(is_return1(&msgs[0], kTVMOpaqueHandle, NULL));
}

UTEST(server_reports_write_errors_and_recovers) {
  CHECK(start_session());
  write_mode = WRITE_FAIL;
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "runtime.SystemLib");
  req_end(p);
  send_message(sid, 0x10, p->b, p->n);
  CHECK(last_feed_rc < 0);
  write_mode = WRITE_ALL;
  clear_wire();
  CHECK(get_global("runtime.SystemLib") != UINT64_MAX);
  CHECK_EQ_INT(wire[0], 0xFE); /* the frame after a failure starts with FE again */
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(srv, &stats);
  CHECK_EQ_INT(stats.write_errors, 1);
}

UTEST_MAIN()
