/* POSIX port of the platform layer: host tests, the host runner and the host "board". */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <utvm/runtime.h>

void TVMPlatformAbort(tvm_crt_error_t code) {
  fprintf(stderr, "utvm: abort, error 0x%x: %s\n", (unsigned)code, TVMGetLastError());
  abort();
}

size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes, const char* fmt,
                                va_list args) {
  int n = vsnprintf(out_buf, out_buf_size_bytes, fmt, args);
  if (n < 0) return 0;
  return (size_t)n < out_buf_size_bytes ? (size_t)n : out_buf_size_bytes - 1;
}

static struct timespec timer_start;
static int timer_running;

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (timer_running) return kTvmErrorPlatformTimerBadState;
  clock_gettime(CLOCK_MONOTONIC, &timer_start);
  timer_running = 1;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  if (!timer_running) return kTvmErrorPlatformTimerBadState;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  *elapsed_time_seconds =
      (double)(now.tv_sec - timer_start.tv_sec) + (double)(now.tv_nsec - timer_start.tv_nsec) * 1e-9;
  timer_running = 0;
  return kTvmErrorNoError;
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }
__attribute__((weak)) tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t num_bytes) {
  int fd = open("/dev/urandom", O_RDONLY);
  size_t got = 0;
  if (fd >= 0) {
    while (got < num_bytes) {
      ssize_t n = read(fd, buffer + got, num_bytes - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
    close(fd);
  }
  if (got < num_bytes) {
    /* No urandom (a sandbox): the clock still differs from one start to the next. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned seed = (unsigned)(now.tv_nsec ^ now.tv_sec ^ getpid());
    for (; got < num_bytes; got++) buffer[got] = (uint8_t)rand_r(&seed);
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformInitialize(void) { return kTvmErrorNoError; }

/* Without the RPC server, log lines go to stderr; the server defines its own TVMLogf. */
__attribute__((weak)) void TVMLogf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
}
