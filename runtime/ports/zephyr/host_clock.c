/*
 * Runner-context side of CONFIG_UTVM_TIMER_HOST_CLOCK: on Zephyr's POSIX architecture the
 * embedded image cannot include host headers, so it reaches the host's clock through this
 * function, built with the host's C library (zephyr/CMakeLists.txt) and linked to the image
 * in the simulator's final link.
 */
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L

#include "host_clock.h"

#include <time.h>

uint64_t utvm_host_clock_ns(void) {
  struct timespec now;
  if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) return 0; /* cannot fail for this clock */
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
