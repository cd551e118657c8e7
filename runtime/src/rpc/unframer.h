/*
 * Receive side of the framing layer (wire doc section 2.7): finds FF FD, un-escapes the
 * length, payload and CRC, checks the CRC over the bytes as they were on the wire, and
 * stores the payload in a caller's buffer. Garbage, bad escapes, new starts inside a frame
 * and frames longer than the buffer are all survived: the receiver resynchronises on the
 * next FF FD. Nothing is allocated.
 */
#ifndef UTVM_RPC_UNFRAMER_H_
#define UTVM_RPC_UNFRAMER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  UTVM_UNFRAMER_HUNT,     /* looking for FF FD */
  UTVM_UNFRAMER_LENGTH,   /* 4 length bytes */
  UTVM_UNFRAMER_PAYLOAD,
  UTVM_UNFRAMER_CRC,      /* 2 CRC bytes */
} utvm_unframer_state_t;

/* What one call to utvm_unframer_feed() stopped for. */
typedef enum {
  UTVM_UNFRAMER_NEED_MORE,       /* every byte consumed, no frame finished */
  UTVM_UNFRAMER_FRAME,           /* a frame with a good CRC: see frame_len / overflow */
  UTVM_UNFRAMER_BAD_CRC,         /* a frame finished with a CRC mismatch: drop it */
  UTVM_UNFRAMER_SHORT_FRAME,     /* FF FD inside a frame: it was abandoned, the new one began */
  UTVM_UNFRAMER_INVALID_ESCAPE,  /* FF xx (xx not FF/FD/FE) inside a frame: abandoned */
} utvm_unframer_event_t;

typedef struct {
  uint8_t* buf;
  size_t capacity;
  utvm_unframer_state_t state;
  bool escape;           /* the previous byte was an unpaired FF */
  uint16_t crc;
  uint8_t field[4];      /* length or CRC bytes gathered so far */
  uint32_t field_len;    /* a word: no narrowing after each increment */
  uint32_t frame_len;    /* payload length the frame announced */
  uint32_t received;     /* payload bytes un-escaped so far */
} utvm_unframer_t;

/* An unframer hunting for its first frame, storing payloads in buf. */
static inline void utvm_unframer_init(utvm_unframer_t* u, uint8_t* buf, size_t capacity) {
  u->buf = buf;
  u->capacity = capacity;
  u->state = UTVM_UNFRAMER_HUNT;
  u->escape = false;
  u->frame_len = 0; /* the rest is set when a frame starts */
}

/* Consumes bytes until an event: *data and *len advance past what was consumed. After
 * UTVM_UNFRAMER_FRAME, the payload is buf[0 .. min(frame_len, capacity)) until the next call. */
utvm_unframer_event_t utvm_unframer_feed(utvm_unframer_t* u, const uint8_t** data,
                                         size_t* len);

/* True when the finished frame was longer than the buffer (only its start was kept). */
static inline bool utvm_unframer_overflow(const utvm_unframer_t* u) {
  return u->frame_len > u->capacity;
}

#endif /* UTVM_RPC_UNFRAMER_H_ */
