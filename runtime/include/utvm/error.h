/* Error reporting inside the runtime: a code to return plus a message for TVMGetLastError. */
#ifndef UTVM_ERROR_H_
#define UTVM_ERROR_H_

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <utvm/config.h>

/* Call sites read `return utvm_fail(kTvmErrorFunctionCallInvalidArg, "set_input: no input
 * %d", i);` in every configuration: utvm_fail records the message as the last error and
 * returns `code`. */
#if UTVM_ERROR_MESSAGES && UTVM_ERROR_MESSAGE_TEXT
/* The message text lives on the device and is formatted there. */
int utvm_fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
#elif UTVM_ERROR_MESSAGES
/* The message text stays in the firmware's ELF (utvm/error_ref.h); the device records a
 * reference to it and its arguments, and the host expands that. */
#include <utvm/error_ref.h>
#define utvm_fail(code, ...) UTVM_FAIL_REF_((code), __VA_ARGS__)
#else
/* Messages compiled out (UTVM_ERROR_MESSAGES=0): every check stays, only the text goes;
 * the last error then names the code. */
#define utvm_fail(code, ...) ((void)sizeof(utvm_fail_unused_(__VA_ARGS__)), utvm_fail_code(code))
int utvm_fail_code(int code);
#endif

/* Never defined: it only appears in sizeof, so the message arguments still count as used
 * (no unused-variable warnings) and are still format-checked, yet nothing is emitted. */
int utvm_fail_unused_(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* UTVM_ERROR_H_ */
