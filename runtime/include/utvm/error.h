/* Error reporting inside the runtime: a code to return plus a message for TVMGetLastError. */
#ifndef UTVM_ERROR_H_
#define UTVM_ERROR_H_

#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <utvm/config.h>

#if UTVM_ERROR_MESSAGES
/* Records a printf-style message as the last error and returns `code`, so call sites read
 * `return utvm_fail(kTvmErrorFunctionCallInvalidArg, "set_input: no input %d", i);`. */
int utvm_fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
#else
/* Messages compiled out (UTVM_ERROR_MESSAGES=0): every check stays, only the text goes;
 * the last error then names the code. */
#define utvm_fail(code, ...) utvm_fail_code(code)
int utvm_fail_code(int code);
#endif

#ifdef __cplusplus
}
#endif
#endif /* UTVM_ERROR_H_ */
