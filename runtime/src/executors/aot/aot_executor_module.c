/*
 * The AOT executor as a module of packed functions ("tvm.aot_executor.create"), for
 * host-driven use (wire-protocol doc §6). One executor at a time; creating another
 * replaces it.
 */
#include <utvm/aot_executor.h>
#include <utvm/error.h>
#include <utvm/registry.h>
#include <utvm/runtime.h>

#include "../common/executor_module.h"

static int release(void* e) { return utvm_aot_executor_release(e); }

static const TVMModule aot_module;
static utvm_executor_slot_t slot = {&aot_module, release, NULL, NULL, 0};

/* Adapter from the executor's typed API to the shared module's opaque one. */
static int run(void* e) { return utvm_aot_executor_run(e); }

/* No load_params: AOT models have their parameters linked in. */
UTVM_DEFINE_EXECUTOR_MODULE(aot_module, "AOT", run, NULL, slot)

/* The global's expected type codes, then its name (aot_executor.h). */
const struct utvm_aot_executor_global utvm_aot_executor_global = {
    {3, kTVMModuleHandle, kDLDevice, kTVMStr}, "tvm.aot_executor.create"};

/* tvm.aot_executor.create(system_lib: Module, device: Device, module_name: str) -> Module */
int utvm_aot_executor_module_create(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                    int* ret_code, void* resource) {
  (void)resource;
  const struct utvm_aot_executor_global* g = &utvm_aot_executor_global;
  int rc = utvm_check_args(g->name, codes, num_args, g->expected);
  if (rc != 0) return rc;
  if ((rc = utvm_executor_slot_clear(&slot)) != 0) return rc; /* the previous executor's */
  utvm_aot_executor_t* exec;
  rc = utvm_aot_executor_create(args[0].v_handle, args[1].v_device, args[2].v_str, &exec);
  if (rc != 0) return rc;
  return utvm_executor_slot_install(&slot, exec, ret, ret_code);
}

void utvm_aot_executor_module_release(void) { (void)utvm_executor_slot_clear(&slot); }
