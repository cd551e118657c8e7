/* Runtime start-up and the core global functions every host session uses. */
#include <stddef.h>
#include <string.h>
#include <utvm/runtime.h>

#include "runtime_state.h"

uint32_t utvm_runtime_generation(void) { return utvm_core.generation; }

/* runtime.SystemLib() -> Module */
static int system_lib(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                      int* ret_tcode, void* resource) {
  (void)args;
  (void)type_codes;
  (void)num_args; /* extra arguments are ignored, as in TVM */
  (void)resource;
  TVMModuleHandle mod;
  int rc = utvm_system_lib(&mod);
  if (rc != 0) return rc;
  utvm_set_return(ret, ret_tcode, (TVMValue){.v_handle = mod}, kTVMModuleHandle);
  return 0;
}

/* The global's name; argument messages name it without its namespace (one string for both). */
static const char kModuleGetFunction[] = "tvm.rpc.server.ModuleGetFunction";

/* tvm.rpc.server.ModuleGetFunction(module, name, query_imports) -> PackedFunc or None */
static int module_get_function(TVMValue* args, int* type_codes, int num_args, TVMValue* ret,
                               int* ret_tcode, void* resource) {
  (void)resource;
  static const uint8_t expected[] = {3, kTVMModuleHandle, kTVMStr, kTVMArgInt};
  int rc = utvm_check_args(kModuleGetFunction + sizeof("tvm.rpc.server.") - 1, type_codes,
                           num_args, expected);
  if (rc != 0) return rc;
  TVMFunctionHandle fn; /* set by TVMModGetFunction, NULL when the name is not found */
  rc = TVMModGetFunction(args[0].v_handle, args[1].v_str, (int)args[2].v_int64, &fn);
  /* A missing function is None, not an error: the host turns it into AttributeError. An
   * unregistered module is an error. */
  if (rc != 0 && rc != kTvmErrorFunctionNameNotFound) return rc;
  utvm_set_return(ret, ret_tcode, (TVMValue){.v_handle = fn},
                  fn != NULL ? kTVMPackedFuncHandle : kTVMNullptr);
  return 0;
}

tvm_crt_error_t TVMInitializeRuntime(void) {
  utvm_core.generation++;
  memset(&utvm_core, 0, offsetof(struct utvm_core_state, generation));
  TVMAPISetLastError("");
  int rc = TVMFuncRegisterGlobal("runtime.SystemLib", (TVMFunctionHandle)system_lib, 0);
  if (rc == 0) {
    rc = TVMFuncRegisterGlobal(kModuleGetFunction,
                               (TVMFunctionHandle)module_get_function, 0);
  }
  return (tvm_crt_error_t)rc;
}
