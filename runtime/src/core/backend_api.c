/* Backend API entry points of generated code, apart from workspaces (memory/workspace.c). */
#include <tvm/runtime/c_backend_api.h>
#include <utvm/error.h>
#include <utvm/registry.h>

int TVMBackendGetFuncFromEnv(void* mod_node, const char* func_name, TVMFunctionHandle* out) {
  (void)mod_node;
  /* Named external packed functions: the system library first, then the global registry. */
  TVMModuleHandle lib;
  if (utvm_system_lib(&lib) == 0 && TVMModGetFunction(lib, func_name, 0, out) == 0) return 0;
  (void)TVMFuncGetGlobal(func_name, out); /* never fails: NULL for an unknown name */
  if (*out != NULL) return 0;
  return utvm_fail(kTvmErrorFunctionNameNotFound, "generated code calls %s, which is not linked",
                   func_name);
}

int TVMBackendRegisterSystemLibSymbol(const char* name, void* ptr) {
  return TVMFuncRegisterGlobal(name, ptr, 0);
}

int TVMBackendParallelLaunch(FTVMParallelLambda flambda, void* cdata, int num_task) {
  (void)num_task;
  /* One core: run the whole range as task 0 of 1. */
  TVMParallelGroupEnv env = {NULL, 1};
  return flambda(0, &env, cdata);
}

int TVMBackendParallelBarrier(int task_id, TVMParallelGroupEnv* penv) {
  (void)task_id;
  (void)penv;
  return 0;
}
