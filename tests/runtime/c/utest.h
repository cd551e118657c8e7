/*
 * A tiny unit-test harness for the C runtime. Each test file defines cases with
 * UTEST(name) and ends with UTEST_MAIN(). The program runs all cases, or only the
 * one named on the command line (pytest runs each case in its own process);
 * `--list` prints the case names. Every case starts with a fresh runtime heap.
 *
 * Built with messages by reference (UTVM_ERROR_MESSAGE_TEXT=0, the devices' default) the
 * program holds no message text, so a check of a message's text is not done here: it is
 * printed, one line per check,
 *   utest-expect <case> <file>:<line> <has|is> <length>:<expected> <length>:<message>
 * (lengths in bytes, decimal), and tests/runtime/test_c_units.py expands the message from
 * the program's ELF (section .utvm_msgs) and checks it.
 */
#ifndef UTVM_TESTS_UTEST_H_
#define UTVM_TESTS_UTEST_H_

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utvm/runtime.h>

#ifndef UTEST_HEAP_BYTES
#define UTEST_HEAP_BYTES (1u << 20)
#endif
#define UTEST_MAX_CASES 256

typedef void (*utest_fn)(void);
struct utest_case {
  const char* name;
  utest_fn fn;
};
static struct utest_case utest_cases[UTEST_MAX_CASES];
static int utest_num_cases;
static const char* utest_current_case = "";
static int utest_failures;
static _Alignas(64) unsigned char utest_heap[UTEST_HEAP_BYTES];

#define UTEST(case_name)                                                          \
  static void utest_##case_name(void);                                            \
  __attribute__((constructor)) static void utest_register_##case_name(void) {     \
    if (utest_num_cases < UTEST_MAX_CASES) {                                 \
      utest_cases[utest_num_cases].name = #case_name;                             \
      utest_cases[utest_num_cases].fn = utest_##case_name;                        \
      utest_num_cases++;                                                     \
    }                                                                        \
  }                                                                          \
  static void utest_##case_name(void)

#define UTEST_FAIL_(...)                                                     \
  do {                                                                       \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
    fprintf(stderr, __VA_ARGS__);                                            \
    fprintf(stderr, "\n");                                                   \
    utest_failures++;                                                        \
    return;                                                                  \
  } while (0)

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) UTEST_FAIL_("CHECK failed: %s", #cond);                     \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                   \
  do {                                                                       \
    long long utest_a_ = (long long)(a), utest_b_ = (long long)(b);          \
    if (utest_a_ != utest_b_)                                                \
      UTEST_FAIL_("CHECK_EQ_INT failed: %s == %lld, %s == %lld", #a, utest_a_, #b, utest_b_); \
  } while (0)

#define CHECK_OK(expr)                                                       \
  do {                                                                       \
    int utest_rc_ = (int)(expr);                                             \
    if (utest_rc_ != 0)                                                      \
      UTEST_FAIL_("%s returned 0x%x: %s", #expr, (unsigned)utest_rc_, TVMGetLastError()); \
  } while (0)

/* Whether `message` (the last error, or an RPC exception's text) contains `expected`, or with
 * `exact` is it. By reference the check is printed for the host instead (see the top) and
 * holds here: pick the one message expected rather than combining checks with ||. */
static int utest_message_check(const char* message, const char* expected, int exact,
                               const char* file, int line) {
#if UTVM_ERROR_MESSAGE_TEXT
  (void)file, (void)line;
  return exact ? strcmp(message, expected) == 0 : strstr(message, expected) != NULL;
#else
  printf("utest-expect %s %s:%d %s %zu:%s %zu:%s\n", utest_current_case, file, line,
         exact ? "is" : "has", strlen(expected), expected, strlen(message), message);
  return 1;
#endif
}

/* expr must fail (non-zero) and leave a last-error message containing `substring`. */
#define CHECK_FAILS_WITH(expr, substring)                                    \
  do {                                                                       \
    TVMAPISetLastError("");                                                  \
    int utest_rc_ = (int)(expr);                                             \
    if (utest_rc_ == 0) UTEST_FAIL_("%s succeeded but should fail", #expr);  \
    if (!utest_message_check(TVMGetLastError(), (substring), 0, __FILE__, __LINE__)) \
      UTEST_FAIL_("%s failed with message \"%s\", expected it to contain \"%s\"", #expr, \
                  TVMGetLastError(), (substring));                           \
  } while (0)

/* The last error message contains `substring` / is `text`. */
#define CHECK_LAST_ERROR_HAS(substring)                                      \
  do {                                                                       \
    if (!utest_message_check(TVMGetLastError(), (substring), 0, __FILE__, __LINE__)) \
      UTEST_FAIL_("last error \"%s\" lacks \"%s\"", TVMGetLastError(), (substring)); \
  } while (0)
#define CHECK_LAST_ERROR_IS(text)                                            \
  do {                                                                       \
    if (!utest_message_check(TVMGetLastError(), (text), 1, __FILE__, __LINE__)) \
      UTEST_FAIL_("last error \"%s\" is not \"%s\"", TVMGetLastError(), (text)); \
  } while (0)

static int utest_run_case(const struct utest_case* c) {
  int before = utest_failures;
  if (utvm_heap_init(utest_heap, sizeof(utest_heap)) != 0 || TVMInitializeRuntime() != 0) {
    fprintf(stderr, "runtime init failed: %s\n", TVMGetLastError());
    return 1;
  }
  utest_current_case = c->name;
  c->fn();
  printf("%s %s\n", utest_failures == before ? "PASS" : "FAIL", c->name);
  return utest_failures != before;
}

#define UTEST_MAIN()                                                         \
  int main(int argc, char** argv) {                                          \
    int failed = 0, ran = 0;                                                 \
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {                        \
      for (int i = 0; i < utest_num_cases; i++) puts(utest_cases[i].name);   \
      return 0;                                                              \
    }                                                                        \
    for (int i = 0; i < utest_num_cases; i++) {                              \
      if (argc > 1 && strcmp(argv[1], utest_cases[i].name) != 0) continue;   \
      failed += utest_run_case(&utest_cases[i]);                             \
      ran++;                                                                 \
    }                                                                        \
    if (ran == 0) {                                                          \
      fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "");   \
      return 2;                                                              \
    }                                                                        \
    return failed ? 1 : 0;                                                   \
  }

#endif /* UTVM_TESTS_UTEST_H_ */
