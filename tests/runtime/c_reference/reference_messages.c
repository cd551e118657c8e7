/* Failures the by-reference writer (runtime/src/core/error.c, UTVM_ERROR_MESSAGE_TEXT=0)
 * records, one per line, for tests/runtime/test_error_reference.py to expand with the
 * program's own .utvm_msgs and compare with printf's text. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/runtime.h>

size_t TVMPlatformFormatMessage(char* out, size_t size, const char* fmt, va_list args) {
  int n = vsnprintf(out, size, fmt, args);
  if (n < 0) return 0;
  return (size_t)n < size ? (size_t)n : size - 1;
}

static void said(int rc) { printf("%d %s\n", rc, TVMGetLastError()); }

int main(void) {
  int variable = kTvmErrorPlatformNoMemory;
  const char* none = NULL;
  char long_name[UTVM_ERROR_MESSAGE_SIZE * 2];
  memset(long_name, 'n', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "no arguments"));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "int %d, unsigned %u, hex %x, char %c", -5, 7u,
                 0xbeefu, 'q'));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "64-bit %lld, %llu, %llx, %llx", -3ll,
                 0x123456789abcull, 0xffffffffffffffffull, 0x100000001ull));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "small 64-bit %llu", 42ull));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "strings '%s' and '%s'", "abc", ""));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "null string %s", none));
  said(utvm_fail(variable, "a code that is not a constant, then %d", 9));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "six: %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "wrapped: %s", TVMGetLastError()));
  said(utvm_fail(kTvmErrorFunctionCallInvalidArg, "too long: %s", long_name));
  return 0;
}
