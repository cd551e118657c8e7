/*
 * The graph executor as a module of packed functions, for host-driven use: the global
 * "tvm.graph_executor.create" (wire-protocol doc §6, crt-abi.md §8.2) returns a module
 * with get_input, get_input_index, get_input_info, get_num_inputs, get_num_outputs,
 * get_output, load_params, run, set_input, share_params and get_input_name (the shared
 * executor-module functions check every argument). One executor at a time: creating
 * another releases the previous one first.
 */
#include <stdint.h>
#include <utvm/error.h>
#include <utvm/graph_executor.h>
#include <utvm/registry.h>
#include <utvm/runtime.h>

#include "../common/executor_module.h"

static int release(void* e) { return utvm_graph_executor_release(e); }

static const TVMModule graph_module;
static utvm_executor_slot_t slot = {&graph_module, release, NULL, NULL, 0};

/* Adapters from the executor's typed API to the shared module's opaque one. */
static int run(void* e) { return utvm_graph_executor_run(e); }
static int load_params(void* e, const void* b, size_t n) {
  return utvm_graph_executor_load_params(e, b, n);
}

UTVM_DEFINE_EXECUTOR_MODULE(graph_module, "graph", run, load_params, slot)

/* The global's expected type codes, then its name (graph_executor.h). */
const struct utvm_graph_executor_global utvm_graph_executor_global = {
    {4, kTVMStr, kTVMModuleHandle, kTVMArgInt, kTVMArgInt}, "tvm.graph_executor.create"};

/* tvm.graph_executor.create(graph_json: str, module: Module, device_type: int, device_id: int) */
int utvm_graph_executor_module_create(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                      int* ret_code, void* resource) {
  (void)resource;
  const struct utvm_graph_executor_global* g = &utvm_graph_executor_global;
  int rc = utvm_check_args(g->name, codes, num_args, g->expected);
  if (rc != 0) return rc;
  /* Refuse a bad call before the running executor is dropped. */
  if (args[2].v_int64 != kDLCPU || args[3].v_int64 != 0) {
    return utvm_fail(kTvmErrorExecutorModuleBadContext,
                     "tvm.graph_executor.create: device (%lld, %lld) given; only cpu(0) is "
                     "supported", (long long)args[2].v_int64, (long long)args[3].v_int64);
  }
  if (args[0].v_str == NULL || utvm_module_from_handle(args[1].v_handle) == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "tvm.graph_executor.create: no graph JSON, or 0x%lx is not a live module",
                     (unsigned long)(uintptr_t)args[1].v_handle);
  }
  if ((rc = utvm_executor_slot_clear(&slot)) != 0) return rc; /* the previous executor's */
  utvm_graph_executor_t* exec; /* the JSON up to its NUL (no length of ours to count) */
  rc = utvm_graph_executor_create(args[0].v_str, SIZE_MAX, args[1].v_handle, utvm_cpu_device,
                                  &exec);
  if (rc != 0) return rc;
  return utvm_executor_slot_install(&slot, exec, ret, ret_code);
}

void utvm_graph_executor_module_release(void) { (void)utvm_executor_slot_clear(&slot); }
