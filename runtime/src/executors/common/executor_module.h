/*
 * What the AOT and graph executor modules share: the packed functions a host calls
 * (get_input, run, ...) over the executors' inputs and outputs (executor_io.h) and their
 * run and load_params, with every argument's count and type checked in one place.
 */
#ifndef UTVM_EXECUTOR_MODULE_H_
#define UTVM_EXECUTOR_MODULE_H_

#include <stddef.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/module.h>
#include <utvm/ndarray.h>

#include "executor_io.h"

typedef enum {
  UTVM_EXEC_GET_INPUT,
  UTVM_EXEC_GET_INPUT_INDEX,
  UTVM_EXEC_GET_INPUT_INFO,
  UTVM_EXEC_GET_NUM_INPUTS,
  UTVM_EXEC_GET_NUM_OUTPUTS,
  UTVM_EXEC_GET_OUTPUT,
  UTVM_EXEC_LOAD_PARAMS,
  UTVM_EXEC_RUN,
  UTVM_EXEC_SET_INPUT,
  UTVM_EXEC_SHARE_PARAMS,
  UTVM_EXEC_GET_INPUT_NAME,
} utvm_executor_op_t;

/* The registry names, in utvm_executor_op_t order (the layout generated code uses: a
 * little-endian count, then NUL-terminated names). One copy serves every executor module
 * and the messages that name a function. */
extern const char utvm_executor_registry_names[];

/* The one live executor of a module kind and the module handle a host holds for it.
 * Creating a new executor replaces the old one; state from before a runtime
 * re-initialisation (another heap) counts as gone. */
typedef struct {
  const TVMModule* module;   /* the executor module's registry */
  int (*release)(void* exec);
  void* exec;
  TVMModuleHandle handle;
  uint32_t generation;
} utvm_executor_slot_t;

/* The live executor, or NULL. */
void* utvm_executor_slot_current(const utvm_executor_slot_t* slot);
/* Releases the live executor and, if the host has not freed it already, its module slot;
 * the release's error code (the executor is gone all the same). */
int utvm_executor_slot_clear(utvm_executor_slot_t* slot);
/* Makes `exec` the live executor and returns its module handle as the packed result; on
 * failure releases `exec`. */
int utvm_executor_slot_install(utvm_executor_slot_t* slot, void* exec, TVMValue* ret,
                               int* ret_code);

/* An executor module: what differs between executors (their inputs and outputs are a
 * utvm_executor_io_t, each executor's first member). The registry comes first: module
 * functions get their registry as resource handle, so the 11 functions every executor
 * module shares find the rest. */
typedef struct {
  TVMFuncRegistry registry;
  const char* kind; /* for messages: "AOT", "graph" (UTVM_EXECUTOR_WORD) */
  int (*run)(void* exec);
  int (*load_params)(void* exec, const void* blob, size_t len); /* NULL: not supported */
  utvm_executor_slot_t* slot; /* its live executor */
} utvm_executor_module_t;

/* The shared packed functions, in utvm_executor_op_t order. */
extern const TVMBackendPackedCFunc utvm_executor_funcs[];

/* Defines the TVMModule `module_var` of an executor module. */
#define UTVM_DEFINE_EXECUTOR_MODULE(module_var, kind, run, load_params, slot)               \
  static const utvm_executor_module_t module_var##_executor = {                            \
      {utvm_executor_registry_names, utvm_executor_funcs}, UTVM_EXECUTOR_WORD(kind), run,  \
      load_params, &(slot)};                                                               \
  static const TVMModule module_var = {&module_var##_executor.registry};

#endif /* UTVM_EXECUTOR_MODULE_H_ */
