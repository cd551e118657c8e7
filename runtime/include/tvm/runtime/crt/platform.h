/*
 * The platform layer a port provides (runtime/ports/<port>/). Names and
 * signatures follow TVM v0.18's CRT so existing applications keep working.
 */
#ifndef TVM_RUNTIME_CRT_PLATFORM_H_
#define TVM_RUNTIME_CRT_PLATFORM_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Never returns: reset or halt the device. */
void __attribute__((noreturn)) TVMPlatformAbort(tvm_crt_error_t code);

/* vsnprintf semantics; returns the number of bytes written (without NUL). */
size_t TVMPlatformFormatMessage(char* out_buf, size_t out_buf_size_bytes, const char* fmt,
                                va_list args);

/* Memory for runtime objects and tensors. On failure returns an error and leaves *out_ptr. */
tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev, void** out_ptr);
tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev);

/* One timer; Stop reports elapsed time in seconds. */
tvm_crt_error_t TVMPlatformTimerStart(void);
tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds);

/* Hooks around each timed batch of the time evaluator (default: nothing). */
tvm_crt_error_t TVMPlatformBeforeMeasurement(void);
tvm_crt_error_t TVMPlatformAfterMeasurement(void);

/* Not cryptographic, but must differ across resets (session nonces). */
tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buffer, size_t num_bytes);

/* Called by the application's main before anything else. */
tvm_crt_error_t TVMPlatformInitialize(void);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_PLATFORM_H_ */
