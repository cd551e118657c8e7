/* Receive side of the framing layer: a byte-driven state machine with a fast path for runs
 * of payload bytes that need no un-escaping. */
#include "unframer.h"

#include <string.h>

#include "crc16.h"

#define ESCAPE 0xFFu
#define PACKET_START 0xFDu
#define NOP 0xFEu

void utvm_unframer_init(utvm_unframer_t* u, uint8_t* buf, size_t capacity) {
  memset(u, 0, sizeof(*u));
  u->buf = buf;
  u->capacity = capacity;
  u->state = UTVM_UNFRAMER_HUNT;
}

static void begin_frame(utvm_unframer_t* u) {
  static const uint8_t start[2] = {ESCAPE, PACKET_START};
  u->crc = utvm_crc16_update(UTVM_CRC16_INIT, start, sizeof(start));
  u->state = UTVM_UNFRAMER_LENGTH;
  u->escape = false;
  u->field_len = 0;
  u->frame_len = 0;
  u->received = 0;
}

static void store_payload(utvm_unframer_t* u, const uint8_t* p, size_t n) {
  if (u->received < u->capacity) {
    size_t room = u->capacity - u->received;
    memcpy(u->buf + u->received, p, n < room ? n : room);
  }
  u->received += (uint32_t)n;
}

/* One un-escaped data byte. Returns an event when it completes a frame. */
static utvm_unframer_event_t data_byte(utvm_unframer_t* u, uint8_t b) {
  switch (u->state) {
    case UTVM_UNFRAMER_LENGTH:
      u->field[u->field_len++] = b;
      if (u->field_len == 4) {
        u->frame_len = (uint32_t)u->field[0] | ((uint32_t)u->field[1] << 8) |
                       ((uint32_t)u->field[2] << 16) | ((uint32_t)u->field[3] << 24);
        u->field_len = 0;
        u->state = u->frame_len == 0 ? UTVM_UNFRAMER_CRC : UTVM_UNFRAMER_PAYLOAD;
      }
      return UTVM_UNFRAMER_NEED_MORE;
    case UTVM_UNFRAMER_PAYLOAD:
      store_payload(u, &b, 1);
      if (u->received == u->frame_len) u->state = UTVM_UNFRAMER_CRC;
      return UTVM_UNFRAMER_NEED_MORE;
    case UTVM_UNFRAMER_CRC: {
      u->field[u->field_len++] = b;
      if (u->field_len < 2) return UTVM_UNFRAMER_NEED_MORE;
      uint16_t sent = (uint16_t)(u->field[0] | (u->field[1] << 8));
      u->state = UTVM_UNFRAMER_HUNT;
      return sent == u->crc ? UTVM_UNFRAMER_FRAME : UTVM_UNFRAMER_BAD_CRC;
    }
    default:
      return UTVM_UNFRAMER_NEED_MORE;
  }
}

/* Payload bytes up to the next FF or the end of the payload: copied and CRC'd in bulk. */
static size_t payload_run(utvm_unframer_t* u, const uint8_t* p, size_t len) {
  size_t want = u->frame_len - u->received;
  if (len > want) len = want;
  const uint8_t* ff = memchr(p, ESCAPE, len);
  size_t n = ff == NULL ? len : (size_t)(ff - p);
  if (n == 0) return 0;
  u->crc = utvm_crc16_update(u->crc, p, n);
  store_payload(u, p, n);
  if (u->received == u->frame_len) u->state = UTVM_UNFRAMER_CRC;
  return n;
}

utvm_unframer_event_t utvm_unframer_feed(utvm_unframer_t* u, const uint8_t* data, size_t len,
                                         size_t* consumed) {
  size_t i = 0;
  utvm_unframer_event_t ev = UTVM_UNFRAMER_NEED_MORE;
  while (i < len && ev == UTVM_UNFRAMER_NEED_MORE) {
    if (u->state == UTVM_UNFRAMER_HUNT) {
      /* Nothing here is an error: anything but FF FD is garbage between frames. */
      uint8_t b = data[i++];
      if (u->escape && b == PACKET_START) {
        begin_frame(u);
      } else {
        u->escape = b == ESCAPE;
      }
      continue;
    }
    if (u->state == UTVM_UNFRAMER_PAYLOAD && !u->escape) {
      size_t n = payload_run(u, data + i, len - i);
      i += n;
      if (n > 0) continue;
    }
    uint8_t b = data[i++];
    bool in_crc_field = u->state == UTVM_UNFRAMER_CRC;
    /* The CRC covers the raw wire bytes of length and payload, escapes (and no-ops) included. */
    if (!in_crc_field) u->crc = utvm_crc16_byte(u->crc, b);
    if (!u->escape) {
      if (b == ESCAPE) {
        u->escape = true;
      } else {
        ev = data_byte(u, b);
      }
      continue;
    }
    u->escape = false;
    if (b == ESCAPE) {
      ev = data_byte(u, ESCAPE);
    } else if (b == PACKET_START) {
      begin_frame(u); /* the new frame is kept: nothing of it is lost */
      ev = UTVM_UNFRAMER_SHORT_FRAME;
    } else if (b == NOP) {
      /* A no-op: dropped from the data, but (above) still counted in the CRC, as TVM does. */
    } else {
      u->state = UTVM_UNFRAMER_HUNT;
      ev = UTVM_UNFRAMER_INVALID_ESCAPE;
    }
  }
  *consumed = i;
  return ev;
}
