/*
 * Zephyr port of the platform layer (TVMPlatform*): abort through k_panic or sys_reboot,
 * messages with vsnprintk, a timer on the kernel's cycle counter (or the host's clock, see
 * CONFIG_UTVM_TIMER_HOST_CLOCK), randomness from sys_rand_get, log lines through Zephyr's
 * LOG. Memory lives in memory.c.
 */
#include <stdarg.h>
#include <stdint.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/logging/log_ctrl.h>
#include <zephyr/sys/printk.h>
#if defined(CONFIG_ENTROPY_DEVICE_RANDOM_GENERATOR) || defined(CONFIG_TIMER_RANDOM_GENERATOR) || \
    defined(CONFIG_XOSHIRO_RANDOM_GENERATOR)
#define UTVM_HAVE_SYS_RAND 1
#include <zephyr/random/random.h>
#endif
#if defined(CONFIG_UTVM_ABORT_REBOOT)
#include <zephyr/sys/reboot.h>
#endif
#if defined(CONFIG_UTVM_TIMER_HOST_CLOCK)
#include "host_clock.h"
#endif

LOG_MODULE_REGISTER(utvm, CONFIG_UTVM_LOG_LEVEL);

/* Set up by memory.c. */
int utvm_zephyr_memory_init(void);

void TVMPlatformAbort(tvm_crt_error_t code) {
  LOG_ERR("abort, error 0x%x: %s", (unsigned)code, TVMGetLastError());
  LOG_PANIC(); /* flush: nothing runs after this */
#if defined(CONFIG_UTVM_ABORT_REBOOT)
  sys_reboot(SYS_REBOOT_COLD);
#else
  k_panic();
#endif
  CODE_UNREACHABLE;
}

size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes, const char* fmt,
                                va_list args) {
  if (out_buf_size_bytes == 0) return 0;
  int n = vsnprintk(out_buf, out_buf_size_bytes, fmt, args);
  if (n < 0) {
    out_buf[0] = '\0';
    return 0;
  }
  return (size_t)n < out_buf_size_bytes ? (size_t)n : out_buf_size_bytes - 1;
}

/* ---- Timer: the kernel cycle counter (64-bit where the timer driver has one), or the
 * host's monotonic clock where simulated time stands still while code runs. ---- */

static uint64_t timer_start_ticks;
static bool timer_running;

static uint64_t cycles_now(void) {
#if defined(CONFIG_TIMER_HAS_64BIT_CYCLE_COUNTER)
  return k_cycle_get_64();
#else
  return k_cycle_get_32();
#endif
}

#if defined(CONFIG_UTVM_TIMER_HOST_CLOCK)
/* On the POSIX architecture the kernel's clock only moves while the CPU idles, so it would
 * time any code as 0: the host's clock measures what the code took on this host. */
static uint64_t timer_ticks(void) { return utvm_host_clock_ns(); }
static double timer_seconds(uint64_t ticks) { return (double)ticks * 1e-9; }
#else
static uint64_t timer_ticks(void) { return cycles_now(); }
static double timer_seconds(uint64_t cycles) {
#if !defined(CONFIG_TIMER_HAS_64BIT_CYCLE_COUNTER)
  cycles &= UINT32_MAX; /* a 32-bit counter wraps; intervals shorter than one wrap are exact */
#endif
  return (double)cycles / (double)sys_clock_hw_cycles_per_sec();
}
#endif

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (timer_running) return kTvmErrorPlatformTimerBadState;
  timer_running = true;
  timer_start_ticks = timer_ticks();
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  uint64_t end = timer_ticks();
  if (!timer_running) return kTvmErrorPlatformTimerBadState;
  timer_running = false;
  *elapsed_time_seconds = timer_seconds(end - timer_start_ticks);
  return kTvmErrorNoError;
}

__weak tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }
__weak tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }

/* ---- Randomness: only session nonces and random_fill need it; not cryptographic. ---- */

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t num_bytes) {
#if defined(UTVM_HAVE_SYS_RAND)
  sys_rand_get(buffer, num_bytes);
#else
  /* No random generator configured (CONFIG_TEST_RANDOM_GENERATOR or an entropy driver gives
   * one): a xorshift seeded from the cycle counter still differs from one boot to the next on
   * real hardware, which is all the session nonce needs. */
  static uint32_t state;
  state ^= (uint32_t)cycles_now() ^ k_uptime_get_32() ^ 0x9e3779b9u;
  for (size_t i = 0; i < num_bytes; i++) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    buffer[i] = (uint8_t)(state >> 24);
  }
#endif
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformInitialize(void) {
  int rc = utvm_zephyr_memory_init();
  return rc == 0 ? kTvmErrorNoError : (tvm_crt_error_t)rc;
}

int utvm_zephyr_init(void) {
  int rc = TVMPlatformInitialize();
  if (rc == 0) rc = TVMInitializeRuntime();
  if (rc != 0) LOG_ERR("runtime start-up failed (0x%x): %s", (unsigned)rc, TVMGetLastError());
  return rc;
}

/* Without the RPC server (which sends log lines to the host), TVMLogf goes to Zephyr's LOG. */
__weak void TVMLogf(const char* fmt, ...) {
#if CONFIG_UTVM_LOG_LEVEL >= LOG_LEVEL_INF
  char line[128];
  va_list args;
  va_start(args, fmt);
  TVMPlatformFormatMessage(line, sizeof(line), fmt, args);
  va_end(args);
  LOG_INF("%s", line);
#else
  ARG_UNUSED(fmt);
#endif
}
