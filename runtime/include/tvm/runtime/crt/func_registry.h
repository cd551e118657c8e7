/*
 * Function registries as TVM v0.18 generated system-lib code lays them out.
 * names: u16 little-endian count, then NUL-terminated names in index order,
 * then one empty name. funcs[i] belongs to the i-th name.
 */
#ifndef TVM_RUNTIME_CRT_FUNC_REGISTRY_H_
#define TVM_RUNTIME_CRT_FUNC_REGISTRY_H_

#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t tvm_function_index_t;
typedef uint16_t tvm_module_index_t;

typedef struct TVMFuncRegistry {
  const char* names;
  const TVMBackendPackedCFunc* funcs;
} TVMFuncRegistry;

/* Number of functions a registry declares in its names blob. */
uint16_t TVMFuncRegistry_GetNumFuncs(const TVMFuncRegistry* reg);

/* Finds `name`; kTvmErrorFunctionNameNotFound when absent. */
tvm_crt_error_t TVMFuncRegistry_Lookup(const TVMFuncRegistry* reg, const char* name,
                                       tvm_function_index_t* function_index);

/* Looks up by index; kTvmErrorFunctionIndexInvalid when out of range. */
tvm_crt_error_t TVMFuncRegistry_GetByIndex(const TVMFuncRegistry* reg,
                                           tvm_function_index_t index,
                                           TVMBackendPackedCFunc* out_func);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_FUNC_REGISTRY_H_ */
