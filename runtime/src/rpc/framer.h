/*
 * Transmit side of the framing layer (wire doc section 2): [FE] FF FD, u32 payload length,
 * payload, u16 CRC, with every 0xFF of length, payload and CRC sent as FF FF.
 */
#ifndef UTVM_RPC_FRAMER_H_
#define UTVM_RPC_FRAMER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <utvm/rpc_server.h>

typedef enum {
  UTVM_FRAMER_RESET,   /* next frame starts with the lone FE that cancels a dangling FF */
  UTVM_FRAMER_IDLE,
  UTVM_FRAMER_IN_FRAME,
} utvm_framer_state_t;

typedef struct {
  utvm_rpc_write_fn write;
  void* ctx;
  utvm_framer_state_t state;
  uint16_t crc;
  uint32_t remaining;  /* payload bytes still to come in the open frame */
  int error;           /* first transport error of the open frame (0: none) */
  size_t out_len;
  uint8_t out[UTVM_RPC_TX_CHUNK];
} utvm_framer_t;

/* A framer at reset: its first frame starts with the FE that cancels a dangling FF. */
static inline void utvm_framer_init(utvm_framer_t* f, utvm_rpc_write_fn write, void* ctx) {
  f->write = write;
  f->ctx = ctx;
  f->state = UTVM_FRAMER_RESET;
  f->remaining = 0;
  f->error = 0;
  f->out_len = 0;
}

/* Opens a frame of `payload_len` payload bytes. */
int utvm_framer_start(utvm_framer_t* f, uint32_t payload_len);
/* Adds payload; the total must not exceed what utvm_framer_start announced. */
int utvm_framer_write(utvm_framer_t* f, const void* data, size_t len);
/* Sends the CRC and flushes. Returns 0 or the transport's error (the frame is then lost and
 * the framer goes back to its reset state, as TVM's does). */
int utvm_framer_finish(utvm_framer_t* f);

static inline bool utvm_framer_busy(const utvm_framer_t* f) { return f->state == UTVM_FRAMER_IN_FRAME; }

#endif /* UTVM_RPC_FRAMER_H_ */
