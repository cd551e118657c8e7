/* Lookup in the function registries generated code lays out (names blob + funcs array). */
#include <string.h>
#include <tvm/runtime/crt/func_registry.h>

uint16_t TVMFuncRegistry_GetNumFuncs(const TVMFuncRegistry* reg) {
  /* The count is stored little-endian in the first two bytes, unaligned. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint16_t n; /* one load where the core allows unaligned ones */
  memcpy(&n, reg->names, sizeof(n));
  return n;
#else
  const uint8_t* p = (const uint8_t*)reg->names;
  return (uint16_t)(p[0] | (p[1] << 8));
#endif
}

tvm_crt_error_t TVMFuncRegistry_Lookup(const TVMFuncRegistry* reg, const char* name,
                                       tvm_function_index_t* function_index) {
  uint16_t n = TVMFuncRegistry_GetNumFuncs(reg);
  const char* entry = reg->names + 2;
  /* Bounded by the declared count as well as the terminating empty name. */
  for (uint32_t i = 0; i < n && *entry != '\0'; i++) {
    if (strcmp(entry, name) == 0) {
      *function_index = (tvm_function_index_t)i;
      return kTvmErrorNoError;
    }
    entry += strlen(entry) + 1;
  }
  return kTvmErrorFunctionNameNotFound;
}

tvm_crt_error_t TVMFuncRegistry_GetByIndex(const TVMFuncRegistry* reg,
                                           tvm_function_index_t index,
                                           TVMBackendPackedCFunc* out_func) {
  if (index >= TVMFuncRegistry_GetNumFuncs(reg)) return kTvmErrorFunctionIndexInvalid;
  *out_func = reg->funcs[index];
  return kTvmErrorNoError;
}
