/*
 * The host's monotonic clock for Zephyr's POSIX architecture (CONFIG_UTVM_TIMER_HOST_CLOCK).
 * Defined in host_clock.c, which is built in the runner context with the host's C library;
 * this header is shared by both sides, so it uses nothing but <stdint.h>.
 */
#ifndef UTVM_ZEPHYR_HOST_CLOCK_H_
#define UTVM_ZEPHYR_HOST_CLOCK_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Nanoseconds of the host's CLOCK_MONOTONIC. */
uint64_t utvm_host_clock_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_ZEPHYR_HOST_CLOCK_H_ */
