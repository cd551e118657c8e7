/* CRC-16/CCITT-FALSE, the framing layer's checksum (wire doc section 2.3).
 * Computed per byte with shifts instead of a 512-byte table: on Cortex-M the table would
 * be the largest single item of the server, and a UART is far slower than either. */
#include "crc16.h"

uint16_t utvm_crc16_byte(uint16_t crc, uint8_t b) {
  /* The eight steps of the bitwise MSB-first loop over polynomial 0x1021, folded. */
  uint16_t x = (uint16_t)((crc >> 8) ^ b);
  x ^= x >> 4;
  return (uint16_t)((crc << 8) ^ (x << 12) ^ (x << 5) ^ x);
}
