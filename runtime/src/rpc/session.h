/*
 * Session layer, device (responder) side (wire doc section 3): a 3-byte header
 * {u16 session_id, u8 type} on every frame, the StartSessionInit/Reply handshake with
 * 8-bit nonces, TerminateSession, Log messages, and Normal messages that carry RPC.
 */
#ifndef UTVM_RPC_SESSION_H_
#define UTVM_RPC_SESSION_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framer.h"

#define UTVM_SESSION_HEADER_BYTES 3
#define UTVM_SESSION_VERSION 1

typedef enum {
  UTVM_MSG_START_SESSION_INIT = 0x00,
  UTVM_MSG_START_SESSION_REPLY = 0x01,
  UTVM_MSG_TERMINATE_SESSION = 0x02,
  UTVM_MSG_LOG = 0x03,
  UTVM_MSG_NORMAL = 0x10,
} utvm_message_type_t;

typedef struct {
  utvm_framer_t* framer;
  bool established;
  uint8_t local_nonce;
  uint16_t session_id;
} utvm_session_t;

/* What a received frame meant. */
typedef enum {
  UTVM_SESSION_NOTHING,     /* handled inside the session layer (or ignored) */
  UTVM_SESSION_DROPPED,     /* not for us: runt, no session, wrong session id */
  UTVM_SESSION_STARTED,     /* a host started a new session (the old one's state is stale) */
  UTVM_SESSION_TERMINATED,  /* the host ended the session */
  UTVM_SESSION_RPC,         /* a Normal message for the live session: RPC bytes follow the header */
} utvm_session_event_t;

/* Resets to "no session" with the nonce seed and sends TerminateSession, as TVM does. */
int utvm_session_init(utvm_session_t* s, utvm_framer_t* framer, uint8_t nonce_seed);

/* Interprets one frame payload (of which `stored` bytes are in memory; stored < len when the
 * frame was longer than the receive buffer). A message's body starts after its
 * UTVM_SESSION_HEADER_BYTES header. */
utvm_session_event_t utvm_session_receive(utvm_session_t* s, const uint8_t* payload,
                                          size_t stored, size_t len);

/* Opens a frame holding a Normal message (with the session id) of body_len bytes; the body
 * follows with utvm_framer_write() and the frame ends with utvm_framer_finish(). */
int utvm_session_begin_normal(utvm_session_t* s, uint32_t body_len);

/* Sends a Log message (id 0, accepted by hosts in any state). */
int utvm_session_send_log(utvm_session_t* s, const char* text, size_t len);

/* The nonce sequence of wire doc section 3.3. */
uint8_t utvm_session_next_nonce(uint8_t nonce);

#endif /* UTVM_RPC_SESSION_H_ */
