/*
 * A bounded little-endian cursor over a received RPC packet. A read past the end marks the
 * reader failed and yields zeros, so decoders check `ok` once after a group of reads
 * instead of after every field; nothing is ever read out of bounds.
 */
#ifndef UTVM_RPC_READER_H_
#define UTVM_RPC_READER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t* p;
  size_t left;
  bool ok;
} utvm_rpc_reader_t;

static inline void utvm_rpc_reader_init(utvm_rpc_reader_t* r, uint8_t* p, size_t len) {
  r->p = p;
  r->left = len;
  r->ok = true;
}

/* The next n bytes (skipped over), or NULL when fewer remain. */
static inline uint8_t* utvm_rpc_read_bytes(utvm_rpc_reader_t* r, uint64_t n) {
  if (!r->ok || n > r->left) {
    r->ok = false;
    return NULL;
  }
  uint8_t* p = r->p;
  r->p += n;
  r->left -= (size_t)n;
  return p;
}

static inline uint64_t utvm_rpc_read_le(utvm_rpc_reader_t* r, int nbytes) {
  const uint8_t* p = utvm_rpc_read_bytes(r, (uint64_t)nbytes);
  uint64_t v = 0;
  if (p == NULL) return 0;
  for (int i = nbytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static inline uint64_t utvm_rpc_read_u64(utvm_rpc_reader_t* r) { return utvm_rpc_read_le(r, 8); }
static inline int64_t utvm_rpc_read_i64(utvm_rpc_reader_t* r) {
  return (int64_t)utvm_rpc_read_le(r, 8);
}
static inline int32_t utvm_rpc_read_i32(utvm_rpc_reader_t* r) {
  return (int32_t)(uint32_t)utvm_rpc_read_le(r, 4);
}
static inline uint16_t utvm_rpc_read_u16(utvm_rpc_reader_t* r) {
  return (uint16_t)utvm_rpc_read_le(r, 2);
}
static inline uint8_t utvm_rpc_read_u8(utvm_rpc_reader_t* r) { return (uint8_t)utvm_rpc_read_le(r, 1); }

#endif /* UTVM_RPC_READER_H_ */
