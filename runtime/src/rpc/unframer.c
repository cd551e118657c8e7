/* Receive side of the framing layer: a byte-driven state machine (unframer.h). */
#include "unframer.h"

#include <string.h>

#include "crc16.h"

#define ESCAPE 0xFFu
#define PACKET_START 0xFDu
#define NOP 0xFEu

/* After FF FD (the escape flag is already clear). */
static void begin_frame(utvm_unframer_t* u) {
  u->crc = UTVM_CRC16_AFTER_PACKET_START;
  u->state = UTVM_UNFRAMER_LENGTH;
  u->field_len = 0;
  u->received = 0;
}

/* One un-escaped data byte. Returns an event when it completes a frame. Out of line: the
 * byte loop stays small. */
__attribute__((noinline)) static utvm_unframer_event_t data_byte(utvm_unframer_t* u, uint8_t b) {
  if (u->state == UTVM_UNFRAMER_PAYLOAD) {
    /* Bytes past the buffer are counted (and CRC'd) but not kept. The count in a local:
     * the byte's store may alias it (uint8_t). */
    uint32_t received = u->received;
    if (received < u->capacity) u->buf[received] = b;
    u->received = ++received;
    if (received == u->frame_len) u->state = UTVM_UNFRAMER_CRC;
    return UTVM_UNFRAMER_NEED_MORE;
  }
  u->field[u->field_len++] = b;
  if (u->state == UTVM_UNFRAMER_LENGTH) {
    if (u->field_len == 4) {
      memcpy(&u->frame_len, u->field, 4); /* little-endian, as the device */
      u->field_len = 0;
      u->state = u->frame_len == 0 ? UTVM_UNFRAMER_CRC : UTVM_UNFRAMER_PAYLOAD;
    }
    return UTVM_UNFRAMER_NEED_MORE;
  }
  if (u->field_len < 2) return UTVM_UNFRAMER_NEED_MORE;
  u->state = UTVM_UNFRAMER_HUNT;
  return (u->field[0] | (u->field[1] << 8)) == u->crc ? UTVM_UNFRAMER_FRAME
                                                      : UTVM_UNFRAMER_BAD_CRC;
}

utvm_unframer_event_t utvm_unframer_feed(utvm_unframer_t* u, const uint8_t** data,
                                         size_t* len) {
  const uint8_t* p = *data;
  size_t n = *len; /* read once: a payload byte's store (uint8_t) may alias *len */
  size_t i = 0;
  utvm_unframer_event_t ev = UTVM_UNFRAMER_NEED_MORE;
  while (i < n && ev == UTVM_UNFRAMER_NEED_MORE) {
    uint8_t b = p[i++];
    /* The CRC covers the raw wire bytes of length and payload, escapes (and no-ops)
     * included. Updated first, whatever the byte turns out to be: while hunting it is
     * unused, and a frame's start resets it. */
    if (u->state != UTVM_UNFRAMER_CRC) u->crc = utvm_crc16_byte(u->crc, b);
    bool escaped = u->escape;
    u->escape = false;
    if (escaped && b == PACKET_START) {
      /* FF FD starts a frame anywhere; inside one it abandons that one (the new frame is
       * kept: nothing of it is lost). */
      if (u->state != UTVM_UNFRAMER_HUNT) ev = UTVM_UNFRAMER_SHORT_FRAME;
      begin_frame(u);
      continue;
    }
    if (u->state == UTVM_UNFRAMER_HUNT) {
      /* Nothing here is an error: anything but FF FD is garbage between frames. */
      u->escape = b == ESCAPE;
      continue;
    }
    if (!escaped) {
      if (b == ESCAPE) {
        u->escape = true;
        continue;
      }
    } else if (b == NOP) {
      continue; /* dropped from the data, still counted in the CRC */
    } else if (b != ESCAPE) {
      u->state = UTVM_UNFRAMER_HUNT;
      ev = UTVM_UNFRAMER_INVALID_ESCAPE;
      continue;
    }
    ev = data_byte(u, b);
  }
  *len = n - i;
  *data = p + i;
  return ev;
}
