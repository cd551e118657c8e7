/* The last error message, as TVMGetLastError() reports it. */
#include <stdarg.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/runtime.h>

static char last_error[UTVM_ERROR_MESSAGE_SIZE];

void TVMAPISetLastError(const char* msg) {
  size_t n = strlen(msg);
  if (n >= sizeof(last_error)) n = sizeof(last_error) - 1;
  memcpy(last_error, msg, n);
  last_error[n] = '\0';
}

static void set_last_error_v(const char* fmt, va_list args) {
  /* Format aside first: callers often pass TVMGetLastError() itself as an argument. */
  char message[UTVM_ERROR_MESSAGE_SIZE];
  size_t n = TVMPlatformFormatMessage(message, sizeof(message), fmt, args);
  if (n >= sizeof(message)) n = sizeof(message) - 1;
  memcpy(last_error, message, n);
  last_error[n] = '\0';
}

int TVMAPIErrorf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_last_error_v(fmt, args);
  va_end(args);
  return -1;
}

const char* TVMGetLastError(void) { return last_error; }

#if UTVM_ERROR_MESSAGES
int utvm_fail(int code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_last_error_v(fmt, args);
  va_end(args);
  return code;
}
#else
int utvm_fail_code(int code) {
  TVMAPIErrorf("error 0x%x", (unsigned)code);
  return code;
}
#endif
