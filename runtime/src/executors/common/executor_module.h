/*
 * What the AOT and graph executor modules share: the packed functions a host calls
 * (get_input, run, ...) over a small table of executor operations, with every
 * argument's count and type checked in one place.
 */
#ifndef UTVM_EXECUTOR_MODULE_H_
#define UTVM_EXECUTOR_MODULE_H_

#include <stddef.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/module.h>
#include <utvm/ndarray.h>

typedef struct {
  const char* kind; /* for messages: "AOT", "graph" */
  int (*num_inputs)(const void* exec);
  int (*num_outputs)(const void* exec);
  int (*input_index)(const void* exec, const char* name); /* negative error when absent */
  const char* (*input_name)(const void* exec, int index);
  TVMNDArray* (*input)(void* exec, int index);
  TVMNDArray* (*output)(void* exec, int index);
  int (*set_input)(void* exec, int index, const DLTensor* src);
  int (*run)(void* exec);
  int (*load_params)(void* exec, const void* blob, size_t len); /* NULL: not supported */
} utvm_executor_ops_t;

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

/* The registry names, in utvm_executor_op_t order (the layout generated code uses). */
#define UTVM_EXECUTOR_REGISTRY_NAMES                                                      \
  "\013\000get_input\000get_input_index\000get_input_info\000get_num_inputs\000"         \
  "get_num_outputs\000get_output\000load_params\000run\000set_input\000share_params\000" \
  "get_input_name\000"

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
/* Releases the live executor and, if the host has not freed it already, its module slot. */
void utvm_executor_slot_clear(utvm_executor_slot_t* slot);
/* Makes `exec` the live executor and returns its module handle as the packed result; on
 * failure releases `exec`. */
int utvm_executor_slot_install(utvm_executor_slot_t* slot, void* exec, TVMValue* ret,
                               int* ret_code);

/* Runs one module function on `exec` (NULL when the executor is gone). */
int utvm_executor_dispatch(const utvm_executor_ops_t* ops, void* exec, utvm_executor_op_t op,
                           TVMValue* args, int* codes, int num_args, TVMValue* ret,
                           int* ret_code);

/* Defines the 11 packed functions and the TVMModule `module_var` of an executor module;
 * `current` is an expression giving the live executor (or NULL). */
#define UTVM_DEFINE_EXECUTOR_MODULE(module_var, ops, current)                             \
  UTVM_EXECUTOR_FN_(get_input, UTVM_EXEC_GET_INPUT, ops, current)                         \
  UTVM_EXECUTOR_FN_(get_input_index, UTVM_EXEC_GET_INPUT_INDEX, ops, current)             \
  UTVM_EXECUTOR_FN_(get_input_info, UTVM_EXEC_GET_INPUT_INFO, ops, current)               \
  UTVM_EXECUTOR_FN_(get_num_inputs, UTVM_EXEC_GET_NUM_INPUTS, ops, current)               \
  UTVM_EXECUTOR_FN_(get_num_outputs, UTVM_EXEC_GET_NUM_OUTPUTS, ops, current)             \
  UTVM_EXECUTOR_FN_(get_output, UTVM_EXEC_GET_OUTPUT, ops, current)                       \
  UTVM_EXECUTOR_FN_(load_params, UTVM_EXEC_LOAD_PARAMS, ops, current)                     \
  UTVM_EXECUTOR_FN_(run, UTVM_EXEC_RUN, ops, current)                                     \
  UTVM_EXECUTOR_FN_(set_input, UTVM_EXEC_SET_INPUT, ops, current)                         \
  UTVM_EXECUTOR_FN_(share_params, UTVM_EXEC_SHARE_PARAMS, ops, current)                   \
  UTVM_EXECUTOR_FN_(get_input_name, UTVM_EXEC_GET_INPUT_NAME, ops, current)               \
  static const TVMBackendPackedCFunc module_var##_funcs[] = {                             \
      fn_get_input,       fn_get_input_index, fn_get_input_info, fn_get_num_inputs,       \
      fn_get_num_outputs, fn_get_output,      fn_load_params,    fn_run,                  \
      fn_set_input,       fn_share_params,    fn_get_input_name};                         \
  static const TVMFuncRegistry module_var##_registry = {UTVM_EXECUTOR_REGISTRY_NAMES,     \
                                                        module_var##_funcs};              \
  static const TVMModule module_var = {&module_var##_registry};

#define UTVM_EXECUTOR_FN_(name, op, ops, current)                                         \
  static int fn_##name(TVMValue* args, int* codes, int num_args, TVMValue* ret,           \
                       int* ret_code, void* resource) {                                   \
    (void)resource;                                                                       \
    return utvm_executor_dispatch(&(ops), (current), (op), args, codes, num_args, ret,    \
                                  ret_code);                                              \
  }

#endif /* UTVM_EXECUTOR_MODULE_H_ */
