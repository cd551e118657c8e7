/* The utvm runtime in one include: core API, memory, NDArrays, registry. */
#ifndef UTVM_RUNTIME_H_
#define UTVM_RUNTIME_H_

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/config.h>
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sets up the global registry with the core functions ("runtime.SystemLib",
 * "tvm.rpc.server.ModuleGetFunction"). Call after utvm_heap_init(). Idempotent. */
tvm_crt_error_t TVMInitializeRuntime(void);

/* Incremented by every TVMInitializeRuntime(), so singletons (executor modules) can tell
 * that state they keep is from before a re-initialisation. */
uint32_t utvm_runtime_generation(void);

/* printf-style log line; the RPC server sends it to the host, otherwise the port prints it. */
void TVMLogf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* UTVM_RUNTIME_H_ */
