/*
 * A bounded cursor over a received RPC packet. A read past the end marks the reader failed
 * and yields zeros, so decoders check `ok` once after a group of reads instead of after
 * every field; nothing is ever read out of bounds.
 *
 * The wire is little-endian and so are the devices this server supports (TVM assumes the
 * same), so fields are copied as they are rather than assembled byte by byte.
 */
#ifndef UTVM_RPC_READER_H_
#define UTVM_RPC_READER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian");

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

/* The next n bytes (skipped over), or NULL (and the reader failed) when fewer remain. */
uint8_t* utvm_rpc_read_bytes(utvm_rpc_reader_t* r, uint64_t n);

/* Copies the next n bytes to out, or zero-fills out (and fails the reader). */
void utvm_rpc_read_into(utvm_rpc_reader_t* r, void* out, size_t n);

/* A little-endian u64 / i32 (0 when the packet ends early). */
uint64_t utvm_rpc_read_u64(utvm_rpc_reader_t* r);
int32_t utvm_rpc_read_i32(utvm_rpc_reader_t* r);

#endif /* UTVM_RPC_READER_H_ */
