/* Session layer, responder side: the device never starts a session, it answers the host's. */
#include "session.h"

#include <tvm/runtime/crt/error_codes.h>

uint8_t utvm_session_next_nonce(uint8_t nonce) {
  uint8_t next = (uint8_t)((uint8_t)((nonce << 5) | (nonce >> 5)) + 1);
  return next == 0 ? 1 : next;
}

/* The header {u16 id, u8 type} as the first 3 bytes of a word (the device is little-endian,
 * as the wire): one argument instead of two, and no byte array to fill. */
#define HEADER(id, type) ((uint32_t)(id) | (uint32_t)(type) << 16)

/* Opens the frame and writes the header, unless another frame is open (that one is not
 * ours to write into). Transport errors stay with the framer, which keeps a frame's first
 * and reports it when the frame is finished. Out of line: inlined into send_message it
 * costs more than the call. */
__attribute__((noinline)) static int begin(utvm_session_t* s, uint32_t header,
                                           uint32_t body_len) {
  int rc = utvm_framer_start(s->framer, UTVM_SESSION_HEADER_BYTES + body_len);
  return rc == kTvmErrorFramingInvalidState
             ? rc
             : utvm_framer_write(s->framer, &header, UTVM_SESSION_HEADER_BYTES);
}

/* A whole message with a small body, sent at once. */
static int send_message(utvm_session_t* s, uint32_t header, const void* body,
                        uint32_t body_len) {
  if (begin(s, header, body_len) == kTvmErrorFramingInvalidState) {
    return kTvmErrorFramingInvalidState;
  }
  utvm_framer_write(s->framer, body, body_len);
  return utvm_framer_finish(s->framer);
}

int utvm_session_init(utvm_session_t* s, utvm_framer_t* framer, uint8_t nonce_seed) {
  s->framer = framer;
  s->established = false;
  s->local_nonce = nonce_seed;
  s->session_id = 0;
  return send_message(s, HEADER(0, UTVM_MSG_TERMINATE_SESSION), NULL, 0);
}

utvm_session_event_t utvm_session_receive(utvm_session_t* s, const uint8_t* payload,
                                          size_t stored, size_t len) {
  if (stored < UTVM_SESSION_HEADER_BYTES) return UTVM_SESSION_DROPPED; /* len >= stored */
  uint16_t id = (uint16_t)(payload[0] | (payload[1] << 8));
  uint8_t type = payload[2];
  switch (type) {
    case UTVM_MSG_START_SESSION_INIT: {
      uint8_t initiator_nonce = (uint8_t)id;
      if (initiator_nonce == 0 || len == UTVM_SESSION_HEADER_BYTES) return UTVM_SESSION_DROPPED;
      s->local_nonce = utvm_session_next_nonce(s->local_nonce);
      s->session_id = (uint16_t)(initiator_nonce | (s->local_nonce << 8));
      s->established = true;
      /* Answered whatever version the host asked for, as TVM's device does. */
      static const uint8_t version = UTVM_SESSION_VERSION;
      send_message(s, HEADER(s->session_id, UTVM_MSG_START_SESSION_REPLY), &version, 1);
      return UTVM_SESSION_STARTED;
    }
    case UTVM_MSG_TERMINATE_SESSION:
      if (!s->established) return UTVM_SESSION_NOTHING;
      s->established = false;
      return UTVM_SESSION_TERMINATED;
    case UTVM_MSG_LOG:
      return UTVM_SESSION_NOTHING; /* a host's log lines have no use on the device */
    case UTVM_MSG_NORMAL:
      if (!s->established || id != s->session_id) return UTVM_SESSION_DROPPED;
      return UTVM_SESSION_RPC;
    default:
      /* StartSessionReply (the device never initiates) and unknown types, as in TVM. */
      return UTVM_SESSION_DROPPED;
  }
}

int utvm_session_begin_normal(utvm_session_t* s, uint32_t body_len) {
  return begin(s, HEADER(s->session_id, UTVM_MSG_NORMAL), body_len);
}

int utvm_session_send_log(utvm_session_t* s, const char* text, size_t len) {
  return send_message(s, HEADER(0, UTVM_MSG_LOG), text, (uint32_t)len);
}
