/* CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, MSB first, no final XOR. */
#ifndef UTVM_RPC_CRC16_H_
#define UTVM_RPC_CRC16_H_

#include <stddef.h>
#include <stdint.h>

#define UTVM_CRC16_INIT 0xFFFFu
/* The CRC over a frame's FF FD start, where every frame's CRC continues from (the unit
 * tests check it against utvm_crc16_update). */
#define UTVM_CRC16_AFTER_PACKET_START 0x2042u

/* Continues `crc` over one byte. */
uint16_t utvm_crc16_byte(uint16_t crc, uint8_t b);

/* Continues `crc` over `len` bytes; start from UTVM_CRC16_INIT. */
uint16_t utvm_crc16_update(uint16_t crc, const uint8_t* data, size_t len);

#endif /* UTVM_RPC_CRC16_H_ */
