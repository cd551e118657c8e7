/* Host side of the wire protocol for tests (wire.h). */
#include "wire.h"

#include <string.h>

uint16_t wire_crc16(const uint8_t* data, size_t len, uint16_t crc) {
  for (size_t i = 0; i < len; i++) {
    crc ^= (uint16_t)(data[i] << 8);
    for (int bit = 0; bit < 8; bit++) {
      crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
  }
  return crc;
}

static size_t put_escaped(const uint8_t* data, size_t len, uint8_t* out) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    out[n++] = data[i];
    if (data[i] == 0xFF) out[n++] = 0xFF;
  }
  return n;
}

size_t wire_frame(const uint8_t* payload, size_t len, uint8_t* out, size_t out_size) {
  if (out_size < 2 * (len + 6) + 2) return 0;
  uint8_t header[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                       (uint8_t)(len >> 24)};
  size_t n = 0;
  out[n++] = 0xFF;
  out[n++] = 0xFD;
  n += put_escaped(header, sizeof(header), out + n);
  n += put_escaped(payload, len, out + n);
  uint16_t crc = wire_crc16(out, n, 0xFFFF); /* over the bytes as sent, start sequence included */
  uint8_t crc_bytes[2] = {(uint8_t)crc, (uint8_t)(crc >> 8)};
  n += put_escaped(crc_bytes, sizeof(crc_bytes), out + n);
  return n;
}

size_t wire_session(uint16_t session_id, uint8_t type, const uint8_t* body, size_t body_len,
                    uint8_t* out) {
  out[0] = (uint8_t)session_id;
  out[1] = (uint8_t)(session_id >> 8);
  out[2] = type;
  memcpy(out + 3, body, body_len);
  return 3 + body_len;
}

size_t wire_rpc(uint16_t session_id, int32_t code, const uint8_t* body, size_t body_len,
                uint8_t* out) {
  uint64_t nbytes = 4 + body_len;
  out[0] = (uint8_t)session_id;
  out[1] = (uint8_t)(session_id >> 8);
  out[2] = MSG_NORMAL;
  memcpy(out + 3, &nbytes, 8);
  memcpy(out + 11, &code, 4);
  memcpy(out + 15, body, body_len);
  return 15 + body_len;
}

/* Un-escapes `want` bytes from stream[*pos..]; false if the stream ends or has a bad escape. */
static bool take(const uint8_t* s, size_t len, size_t* pos, uint8_t* out, size_t want) {
  for (size_t i = 0; i < want; i++) {
    if (*pos >= len) return false;
    uint8_t b = s[(*pos)++];
    if (b == 0xFF) {
      if (*pos >= len || s[*pos] != 0xFF) return false;
      (*pos)++;
    }
    if (out != NULL) out[i] = b;
  }
  return true;
}

bool wire_next_message(const uint8_t* s, size_t len, size_t* pos, wire_message_t* msg) {
  while (*pos + 1 < len) {
    if (s[*pos] != 0xFF || s[*pos + 1] != 0xFD) {
      (*pos)++;
      continue;
    }
    size_t start = *pos;
    size_t p = start + 2;
    uint8_t header[4];
    if (!take(s, len, &p, header, 4)) return false;
    uint32_t n = header[0] | header[1] << 8 | header[2] << 16 | (uint32_t)header[3] << 24;
    uint8_t payload[sizeof(msg->body) + 3];
    if (n < 3 || n > sizeof(payload) || !take(s, len, &p, payload, n)) {
      *pos = start + 2;
      continue;
    }
    uint16_t crc = wire_crc16(s + start, p - start, 0xFFFF);
    uint8_t crc_bytes[2];
    if (!take(s, len, &p, crc_bytes, 2)) return false;
    *pos = p;
    if ((uint16_t)(crc_bytes[0] | crc_bytes[1] << 8) != crc) continue;
    msg->session_id = (uint16_t)(payload[0] | payload[1] << 8);
    msg->type = payload[2];
    msg->body_len = n - 3;
    memcpy(msg->body, payload + 3, n - 3);
    return true;
  }
  return false;
}
