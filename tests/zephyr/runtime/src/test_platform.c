/* The Zephyr port's platform layer: timer, randomness, message formatting, start-up. */
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/kernel.h>
#include <zephyr/ztest.h>

ZTEST_SUITE(utvm_platform, NULL, NULL, NULL, NULL, NULL);

/* Spins `rounds` times through a loop the compiler must keep. */
static void work(uint32_t rounds) {
  volatile uint32_t sink = 0;
  for (uint32_t i = 0; i < rounds; i++) sink = sink * 31u + i;
}

/* The shortest of a few timings of work(rounds): the least disturbed by anything else the
 * machine runs (on the POSIX architecture the host's clock also counts other processes). */
static double timed_work(uint32_t rounds) {
  double shortest = -1;
  for (int k = 0; k < 5; k++) {
    double seconds = -1;
    zassert_equal(TVMPlatformTimerStart(), kTvmErrorNoError);
    work(rounds);
    zassert_equal(TVMPlatformTimerStop(&seconds), kTvmErrorNoError);
    if (shortest < 0 || seconds < shortest) shortest = seconds;
  }
  return shortest;
}

ZTEST(utvm_platform, test_timer_grows_with_the_work_done) {
  /* The time evaluator's timer must measure code as it runs (a simulated board's kernel
   * clock may stand still meanwhile): more work, more time. Only the order is asserted. */
  double less = timed_work(20000), more = timed_work(320000);
  zassert_true(less > 0, "20000 rounds timed as %d ns", (int)(less * 1e9));
  zassert_true(more > less, "16 times the work timed as %d ns, not more than %d ns",
               (int)(more * 1e9), (int)(less * 1e9));
}

ZTEST(utvm_platform, test_timer_measures_a_busy_wait) {
  /* A busy wait advances simulated time only; the host's clock does not see it. */
  Z_TEST_SKIP_IFDEF(CONFIG_UTVM_TIMER_HOST_CLOCK);
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
