/*
 * What the RPC server tests share: a host side written independently of the server (its
 * own bitwise CRC, framing and un-framing), a transport that records what the server
 * writes, request builders and reply readers.
 */
#ifndef UTVM_TESTS_RPC_SUPPORT_H_
#define UTVM_TESTS_RPC_SUPPORT_H_

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>

#include "utest.h"

/* ---- the transport: everything the server writes lands in `wire` ---- */

#define WIRE_BYTES (1u << 20)
static uint8_t wire[WIRE_BYTES];
static size_t wire_len;
typedef enum { WRITE_ALL, WRITE_ONE_BYTE, WRITE_FAIL } write_mode_t;
static write_mode_t write_mode = WRITE_ALL;

static int record_write(void* ctx, const uint8_t* data, size_t len) {
  (void)ctx;
  if (write_mode == WRITE_FAIL) return -5;
  if (write_mode == WRITE_ONE_BYTE && len > 1) len = 1;
  if (wire_len + len > WIRE_BYTES) return -1;
  memcpy(wire + wire_len, data, len);
  wire_len += len;
  return (int)len;
}

/* ---- host-side framing, written from the wire doc (not from the server's code) ---- */

static uint16_t host_crc(uint16_t crc, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    crc ^= (uint16_t)(data[i] << 8);
    for (int bit = 0; bit < 8; bit++) {
      crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
  }
  return crc;
}

static size_t host_escape(const uint8_t* in, size_t n, uint8_t* out) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    out[k++] = in[i];
    if (in[i] == 0xFF) out[k++] = 0xFF;
  }
  return k;
}

/* FF FD | esc(u32 len) | esc(payload) | esc(u16 crc over the wire bytes so far) */
static size_t host_frame(const uint8_t* payload, size_t n, uint8_t* out) {
  uint8_t len[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
  size_t k = 0;
  out[k++] = 0xFF;
  out[k++] = 0xFD;
  k += host_escape(len, 4, out + k);
  k += host_escape(payload, n, out + k);
  uint16_t crc = host_crc(0xFFFF, out, k);
  uint8_t c[2] = {(uint8_t)crc, (uint8_t)(crc >> 8)};
  k += host_escape(c, 2, out + k);
  return k;
}

typedef struct {
  uint16_t id;
  uint8_t type;
  const uint8_t* body; /* into host_decoded */
  size_t body_len;
} host_msg_t;

static uint8_t host_decoded[WIRE_BYTES];

/* Parses everything the server wrote into messages, checking every CRC and escape.
 * Returns the number of messages, or -1 when the server wrote something malformed. */
static int host_parse(const uint8_t* d, size_t n, host_msg_t* msgs, int max) {
  size_t i = 0, used = 0;
  int count = 0;
  while (i < n) {
    if (d[i] == 0xFE) { /* the lone FE before a first frame */
      i++;
      continue;
    }
    if (i + 1 >= n || d[i] != 0xFF || d[i + 1] != 0xFD) return -1;
    size_t start = i;
    i += 2;
    uint8_t field[4];
    uint8_t* payload = host_decoded + used;
    size_t want = 4, got = 0, plen = 0;
    int part = 0; /* 0 length, 1 payload, 2 crc */
    size_t crc_end = 0;
    while (part < 3) {
      if (part == 1 && got == plen) {
        part = 2, want = 2, got = 0, crc_end = i;
        continue;
      }
      if (i >= n) return -1;
      uint8_t b = d[i++];
      if (b == 0xFF) {
        if (i >= n || d[i] != 0xFF) return -1;
        i++;
      }
      if (part == 1) {
        payload[got++] = b;
        continue;
      }
      field[got++] = b;
      if (got < want) continue;
      if (part == 0) {
        plen = field[0] | (field[1] << 8) | ((size_t)field[2] << 16) | ((size_t)field[3] << 24);
        part = 1, got = 0;
      } else {
        uint16_t crc = (uint16_t)(field[0] | (field[1] << 8));
        if (crc != host_crc(0xFFFF, d + start, crc_end - start)) return -1;
        part = 3;
      }
    }
    if (plen < 3 || count == max) return -1;
    msgs[count].id = (uint16_t)(payload[0] | (payload[1] << 8));
    msgs[count].type = payload[2];
    msgs[count].body = payload + 3;
    msgs[count].body_len = plen - 3;
    count++;
    used += plen;
  }
  return count;
}

/* ---- request building ---- */

typedef struct {
  uint8_t b[1u << 17];
  size_t n;
} pkt_t;

static pkt_t pkt;

static void p_le(pkt_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p->b[p->n++] = (uint8_t)(v >> (8 * i));
}
static void p_i32(pkt_t* p, int32_t v) { p_le(p, (uint32_t)v, 4); }
static void p_u64(pkt_t* p, uint64_t v) { p_le(p, v, 8); }
static void p_raw(pkt_t* p, const void* d, size_t n) {
  memcpy(p->b + p->n, d, n);
  p->n += n;
}
static void p_str(pkt_t* p, const char* s) {
  p_u64(p, strlen(s));
  p_raw(p, s, strlen(s));
}
/* DLTensor wire record of a CPU tensor */
static void p_tensor(pkt_t* p, uint64_t data, int32_t ndim, const int64_t* shape, uint8_t code,
                     uint8_t bits, uint64_t byte_offset) {
  p_u64(p, data);
  p_i32(p, 1);
  p_i32(p, 0);
  p_i32(p, ndim);
  p_le(p, code, 1);
  p_le(p, bits, 1);
  p_le(p, 1, 2);
  for (int i = 0; i < ndim; i++) p_u64(p, (uint64_t)shape[i]);
  p_u64(p, byte_offset);
}

/* Starts an RPC packet: 8 bytes of length (filled by req_end) and the code. */
static pkt_t* req(int32_t code) {
  pkt.n = 0;
  p_u64(&pkt, 0);
  p_i32(&pkt, code);
  return &pkt;
}
static void req_end(pkt_t* p) {
  uint64_t n = p->n - 8;
  for (int i = 0; i < 8; i++) p->b[i] = (uint8_t)(n >> (8 * i));
}

/* ---- the server under test ---- */

static uint8_t rx_buf[UTVM_RPC_MAX_PACKET_SIZE];
static utvm_rpc_server_t* srv;
static uint16_t sid;
static host_msg_t msgs[4096];
static int num_msgs;
static int last_feed_rc;

/* Feeds bytes; returns how many were left unconsumed. */
static size_t feed(const uint8_t* d, size_t n) {
  last_feed_rc = utvm_rpc_server_feed(srv, &d, &n);
  return n;
}

static void send_message(uint16_t id, uint8_t type, const uint8_t* body, size_t len) {
  static uint8_t payload[1u << 17];
  static uint8_t framed[1u << 18];
  payload[0] = (uint8_t)id;
  payload[1] = (uint8_t)(id >> 8);
  payload[2] = type;
  if (len > 0) memcpy(payload + 3, body, len);
  size_t n = host_frame(payload, len + 3, framed);
  feed(framed, n);
}

/* Parses what the server wrote since the last clear; -1 when malformed. */
static int parse_wire(void) {
  num_msgs = host_parse(wire, wire_len, msgs, (int)(sizeof(msgs) / sizeof(msgs[0])));
  return num_msgs;
}
static void clear_wire(void) { wire_len = 0; }

/* Starts the server over rx_size bytes of rx_buf and a session with host nonce 0x22.
 * Returns false on any failure. */
static bool start_session_sized(size_t rx_size) {
  write_mode = WRITE_ALL;
  clear_wire();
  srv = utvm_rpc_server_init(rx_buf, rx_size, record_write, NULL);
  if (srv == NULL) return false;
  static const uint8_t version = 1;
  send_message(0, 0x02, NULL, 0);
  send_message(0x0022, 0x00, &version, 1);
  if (parse_wire() != 2 || msgs[1].type != 0x01 || (msgs[1].id & 0xFF) != 0x22) return false;
  sid = msgs[1].id;
  clear_wire();
  return utvm_rpc_server_session_established(srv);
}

static bool start_session(void) { return start_session_sized(sizeof(rx_buf)); }

/* Sends a request in the session; returns its one reply (logs skipped) or NULL. */
static const host_msg_t* call(pkt_t* p) {
  req_end(p);
  clear_wire();
  send_message(sid, 0x10, p->b, p->n);
  if (parse_wire() < 0) return NULL;
  const host_msg_t* reply = NULL;
  for (int i = 0; i < num_msgs; i++) {
    if (msgs[i].type == 0x03) continue;
    if (reply != NULL || msgs[i].type != 0x10 || msgs[i].id != sid) return NULL;
    reply = &msgs[i];
  }
  return reply;
}

/* ---- reading replies ---- */

static uint64_t rd(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static int32_t reply_code(const host_msg_t* m) { return (int32_t)rd(m->body + 8, 4); }
static bool packet_length_ok(const host_msg_t* m) { return rd(m->body, 8) == m->body_len - 8; }

/* An exception reply whose message contains `text` (by reference, the host checks the text:
 * utest.h). */
#define is_exception(m, text) is_exception_at((m), (text), __FILE__, __LINE__)
static bool is_exception_at(const host_msg_t* m, const char* text, const char* file, int line) {
  if (m == NULL || !packet_length_ok(m) || reply_code(m) != 5) return false;
  if (rd(m->body + 12, 4) != 1 || rd(m->body + 16, 4) != 11) return false;
  uint64_t len = rd(m->body + 20, 8);
  if (28 + len != m->body_len) return false;
  static char msg[2048];
  memcpy(msg, m->body + 28, (size_t)len);
  msg[len] = '\0';
  if (!utest_message_check(msg, text, 0, file, line)) {
    fprintf(stderr, "exception \"%s\" lacks \"%s\"\n", msg, text);
    return false;
  }
  return true;
}

/* A one-value kReturn (ReturnVoid / ReturnHandle); *value gets the handle. */
static bool is_return1(const host_msg_t* m, int tcode, uint64_t* value) {
  if (m == NULL || !packet_length_ok(m) || reply_code(m) != 4) return false;
  if (rd(m->body + 12, 4) != 1 || (int)rd(m->body + 16, 4) != tcode) return false;
  if (tcode == kTVMNullptr) return m->body_len == 20;
  if (m->body_len != 28) return false;
  if (value != NULL) *value = rd(m->body + 20, 8);
  return true;
}

/* A CallFunc return [0 tcode, wire_code value]; *value gets the first 8 value bytes. */
static bool is_call_return(const host_msg_t* m, int tcode, int wire_code, uint64_t* value) {
  if (m == NULL || !packet_length_ok(m) || reply_code(m) != 4) return false;
  if (rd(m->body + 12, 4) != 2 || rd(m->body + 16, 4) != 0 || (int)rd(m->body + 20, 4) != wire_code) {
    return false;
  }
  if ((int)rd(m->body + 24, 8) != tcode) return false;
  if (value != NULL && m->body_len >= 40) *value = rd(m->body + 32, 8);
  return true;
}

/* ---- common requests ---- */

static uint64_t get_global(const char* name) {
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, name);
  uint64_t h = 0;
  return is_return1(call(p), kTVMOpaqueHandle, &h) ? h : UINT64_MAX;
}

static uint64_t dev_alloc(uint64_t nbytes) {
  pkt_t* p = req(13);
  p_i32(p, 4);
  p_i32(p, kDLDevice), p_i32(p, kTVMArgInt), p_i32(p, kTVMArgInt), p_i32(p, kTVMDataType);
  p_i32(p, 1), p_i32(p, 0);
  p_u64(p, nbytes);
  p_u64(p, 64);
  p_le(p, 2, 1), p_le(p, 32, 1), p_le(p, 1, 2), p_i32(p, 0);
  uint64_t h = 0;
  return is_return1(call(p), kTVMOpaqueHandle, &h) ? h : 0;
}

/* CopyToRemote of n bytes into a 1-D uint8 tensor at data + offset. */
static const host_msg_t* copy_to(uint64_t data, uint64_t offset, const void* bytes, uint64_t n,
                                 int64_t extent) {
  pkt_t* p = req(7);
  p_tensor(p, data, 1, &extent, 1, 8, offset);
  p_u64(p, n);
  p_raw(p, bytes, (size_t)n);
  return call(p);
}

static const host_msg_t* copy_from(uint64_t data, uint64_t offset, uint64_t n, int64_t extent) {
  pkt_t* p = req(6);
  p_tensor(p, data, 1, &extent, 1, 8, offset);
  p_u64(p, n);
  return call(p);
}

#endif /* UTVM_TESTS_RPC_SUPPORT_H_ */
