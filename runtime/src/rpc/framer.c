/* Transmit side of the framing layer: escaping, CRC, and batching bytes for the transport. */
#include "framer.h"

#include <string.h>
#include <tvm/runtime/crt/error_codes.h>

#include "crc16.h"

#define ESCAPE 0xFFu
#define PACKET_START 0xFDu
#define NOP 0xFEu

_Static_assert(UTVM_RPC_TX_CHUNK >= 4, "the framer buffers at least a frame's start (as a word)");

static void flush(utvm_framer_t* f) {
  size_t done = 0;
  while (f->error == 0 && done < f->out_len) {
    int n = f->write(f->ctx, f->out + done, f->out_len - done);
    if (n < 0) {
      f->error = n;
    } else if (n == 0) {
      /* A transport that accepts nothing would make us spin: treat it as failed. */
      f->error = kTvmErrorWriteStreamShortWrite;
    } else {
      done += (size_t)n;
    }
  }
  f->out_len = 0;
}

/* Length, payload or CRC bytes: each FF goes out twice. The CRC covers the bytes as sent
 * (the CRC field itself then ignores it). Multi-byte fields are sent from memory: the wire
 * and the device are little-endian (rpc_reader.h). */
static void put_escaped(utvm_framer_t* f, const uint8_t* p, size_t len) {
  /* One pass of the loop per byte sent: an FF stays the current byte for a second pass.
   * Indexed, not a pointer to the end: an empty write may come with a NULL pointer. */
  bool again = false; /* the current byte is an FF sent once so far */
  for (size_t i = 0; i < len;) {
    uint8_t b = p[i];
    if (f->out_len == sizeof(f->out)) flush(f);
    f->out[f->out_len++] = b;
    f->crc = utvm_crc16_byte(f->crc, b);
    again = b == ESCAPE && !again;
    if (!again) i++;
  }
}

int utvm_framer_start(utvm_framer_t* f, uint32_t payload_len) {
  if (f->state == UTVM_FRAMER_IN_FRAME) return kTvmErrorFramingInvalidState;
  /* A new frame starts with an empty buffer (whatever a lost frame left is dropped), so the
   * start bytes go straight in. */
  uint32_t start = ESCAPE | PACKET_START << 8; /* little-endian, as the device */
  f->out_len = 2;
  if (f->state == UTVM_FRAMER_RESET) {
    start = NOP | start << 8;
    f->out_len = 3;
  }
  memcpy(f->out, &start, sizeof(start));
  f->error = 0;
  f->crc = UTVM_CRC16_AFTER_PACKET_START;
  put_escaped(f, (const uint8_t*)&payload_len, sizeof(payload_len));
  f->remaining = payload_len;
  f->state = UTVM_FRAMER_IN_FRAME;
  return f->error;
}

int utvm_framer_write(utvm_framer_t* f, const void* data, size_t len) {
  if (f->state != UTVM_FRAMER_IN_FRAME) return kTvmErrorFramingInvalidState;
  if (len > f->remaining) return kTvmErrorFramingPayloadOverflow;
  f->remaining -= (uint32_t)len;
  put_escaped(f, data, len);
  return f->error;
}

int utvm_framer_finish(utvm_framer_t* f) {
  if (f->state != UTVM_FRAMER_IN_FRAME) return kTvmErrorFramingInvalidState;
  if (f->remaining != 0) {
    /* A frame we cannot complete is lost; the next one starts with FE to resynchronise. */
    f->state = UTVM_FRAMER_RESET;
    return kTvmErrorFramingPayloadIncomplete;
  }
  uint16_t crc = f->crc;
  put_escaped(f, (const uint8_t*)&crc, sizeof(crc));
  flush(f);
  f->state = f->error == 0 ? UTVM_FRAMER_IDLE : UTVM_FRAMER_RESET;
  return f->error;
}
