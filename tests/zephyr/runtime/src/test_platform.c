/* The Zephyr port's platform layer: timer, randomness, message formatting, start-up. */
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/kernel.h>
#include <zephyr/ztest.h>

ZTEST_SUITE(utvm_platform, NULL, NULL, NULL, NULL, NULL);

ZTEST(utvm_platform, test_timer_measures_a_busy_wait) {
  double seconds = -1;
  zassert_equal(TVMPlatformTimerStart(), kTvmErrorNoError);
  k_busy_wait(2000);
  zassert_equal(TVMPlatformTimerStop(&seconds), kTvmErrorNoError);
  /* A busy wait lasts at least what it was asked for; only that bound is asserted. */
  zassert_true(seconds >= 0.0019, "2 ms busy wait measured as %f s", seconds);
}

ZTEST(utvm_platform, test_timer_rejects_bad_state) {
  double seconds;
  zassert_equal(TVMPlatformTimerStop(&seconds), kTvmErrorPlatformTimerBadState,
                "stop without start");
  zassert_equal(TVMPlatformTimerStart(), kTvmErrorNoError);
  zassert_equal(TVMPlatformTimerStart(), kTvmErrorPlatformTimerBadState, "second start");
  zassert_equal(TVMPlatformTimerStop(&seconds), kTvmErrorNoError);
}

ZTEST(utvm_platform, test_random_bytes_differ_between_draws) {
  uint8_t a[32] = {0}, b[32] = {0};
  zassert_equal(TVMPlatformGenerateRandom(a, sizeof(a)), kTvmErrorNoError);
  zassert_equal(TVMPlatformGenerateRandom(b, sizeof(b)), kTvmErrorNoError);
  zassert_true(memcmp(a, b, sizeof(a)) != 0, "two 32-byte draws were equal");
}

static size_t format(char* buf, size_t size, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  size_t n = TVMPlatformFormatMessage(buf, size, fmt, args);
  va_end(args);
  return n;
}

ZTEST(utvm_platform, test_format_message_formats_and_truncates) {
  char buf[16];
  zassert_equal(format(buf, sizeof(buf), "op %s #%d", "conv", 7), 10);
  zassert_str_equal(buf, "op conv #7");
  memset(buf, 'x', sizeof(buf));
  zassert_equal(format(buf, 8, "%s", "0123456789"), 7, "returns what was written");
  zassert_str_equal(buf, "0123456");
}

ZTEST(utvm_platform, test_init_registers_the_runtime_globals) {
  zassert_equal(utvm_zephyr_init(), 0, "%s", TVMGetLastError());
  TVMFunctionHandle f = NULL;
  zassert_equal(TVMFuncGetGlobal("runtime.SystemLib", &f), 0, "%s", TVMGetLastError());
  zassert_not_null(f);
  /* As in TVM's C runtime: an unknown name is not an error, the handle is NULL. */
  zassert_equal(TVMFuncGetGlobal("no.such.function", &f), 0);
  zassert_is_null(f);
}
