/* CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, MSB first, no final XOR. */
#ifndef UTVM_RPC_CRC16_H_
#define UTVM_RPC_CRC16_H_

#include <stdint.h>

#define UTVM_CRC16_INIT 0xFFFFu
/* The CRC over a frame's FF FD start, where every frame's CRC continues from (the unit
 * tests check it). */
#define UTVM_CRC16_AFTER_PACKET_START 0x2042u

/* Continues `crc` (UTVM_CRC16_INIT at first) over one byte. The framer and unframer take
 * frames a byte at a time, so nothing here works on buffers. */
uint16_t utvm_crc16_byte(uint16_t crc, uint8_t b);

#endif /* UTVM_RPC_CRC16_H_ */
