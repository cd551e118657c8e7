/* The host side of the microTVM wire protocol, for tests: building frames and reading the
 * server's replies back (written from the wire protocol's description, not from the server). */
#ifndef UTVM_TEST_WIRE_H_
#define UTVM_TEST_WIRE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  MSG_START_INIT = 0x00,
  MSG_START_REPLY = 0x01,
  MSG_TERMINATE = 0x02,
  MSG_LOG = 0x03,
  MSG_NORMAL = 0x10,
};

enum { RPC_SHUTDOWN = 1, RPC_CALL_FUNC = 3, RPC_RETURN = 4, RPC_EXCEPTION = 5, RPC_GET_GLOBAL = 9 };

/* CRC-16/CCITT-FALSE, continuing from `crc` (start with 0xFFFF). */
uint16_t wire_crc16(const uint8_t* data, size_t len, uint16_t crc);

/* Frames a session payload into out (escaping, CRC); returns the frame's length. */
size_t wire_frame(const uint8_t* payload, size_t len, uint8_t* out, size_t out_size);

/* A session payload: 3-byte header then body. Returns its length. */
size_t wire_session(uint16_t session_id, uint8_t type, const uint8_t* body, size_t body_len,
                    uint8_t* out);

/* A session payload for one RPC packet: header, u64 length, i32 code, body. */
size_t wire_rpc(uint16_t session_id, int32_t code, const uint8_t* body, size_t body_len,
                uint8_t* out);

typedef struct {
  uint16_t session_id;
  uint8_t type;
  uint8_t body[2048];
  size_t body_len;
} wire_message_t;

/* Reads the next well-formed frame of `stream` from *pos on (skipping anything else, e.g. a
 * lone 0xFE). Returns false when no complete frame with a good CRC is left. */
bool wire_next_message(const uint8_t* stream, size_t len, size_t* pos, wire_message_t* msg);

#endif /* UTVM_TEST_WIRE_H_ */
