/* The host-facing functions of executor modules (executor_module.h). */
#include "executor_module.h"

#include <string.h>
#include <utvm/error.h>
#include <utvm/registry.h>
#include <utvm/runtime.h>

const char utvm_executor_registry_names[] =
    "\013\000get_input\000get_input_index\000get_input_info\000get_num_inputs\000"
    "get_num_outputs\000get_output\000load_params\000run\000set_input\000share_params\000"
    "get_input_name\000";

void* utvm_executor_slot_current(const utvm_executor_slot_t* slot) {
  return slot->generation == utvm_runtime_generation() ? slot->exec : NULL;
}

int utvm_executor_slot_clear(utvm_executor_slot_t* slot) {
  int rc = 0;
  if (utvm_executor_slot_current(slot) != NULL) {
    rc = slot->release(slot->exec);
    /* The host may have freed our module handle already, and the slot may hold another. */
    if (utvm_module_from_handle(slot->handle) == slot->module) {
      utvm_module_slot_release(slot->handle);
    }
  }
  slot->exec = NULL;
  return rc;
}

int utvm_executor_slot_install(utvm_executor_slot_t* slot, void* exec, TVMValue* ret,
                               int* ret_code) {
  TVMModuleHandle handle;
  int rc = TVMModCreateFromCModule(slot->module, &handle);
  if (rc != 0) {
    slot->release(exec);
    return rc;
  }
  slot->exec = exec;
  slot->handle = handle;
  slot->generation = utvm_runtime_generation();
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = handle}, kTVMModuleHandle);
  return 0;
}

/* dispatch and the module functions share one section on Thumb ELF targets: a jump into
 * dispatch is then a 2-byte b.n (across sections it is 4 bytes, as the linker may place them
 * apart). The functions table refers to all of them, so the section loses nothing to GC. */
#if defined(__thumb__) && defined(__ELF__)
#define DISPATCH_SECTION __attribute__((section(".text.utvm_executor_dispatch")))
#else
#define DISPATCH_SECTION
#endif

/* Every module function: `op_arity` holds the op of the function called and its number of
 * arguments + 1 (0: not supported) (EXECUTOR_FN), the argument count given comes in the
 * return slot, on the executor of the module whose registry it was called through. */
DISPATCH_SECTION static int dispatch(TVMValue* args, int* codes, int op_arity, TVMValue* ret,
                                     int* ret_code, void* resource) {
  int op = op_arity & 0xf, arity = (op_arity >> 4) - 1;
  const utvm_executor_module_t* m = resource;
  int num_args;
  memcpy(&num_args, ret, sizeof(num_args));
  ret->v_handle = NULL; /* what TVMFuncCall gave: functions that return nothing leave it */
  const char* name = utvm_executor_registry_names + 2; /* the function's, for messages */
#if UTVM_ERROR_MESSAGES /* (GCC keeps the loop even where nothing reads it) */
  for (int i = 0; i < (int)op; i++) name += strlen(name) + 1;
#endif
  if (arity < 0 || (op == UTVM_EXEC_LOAD_PARAMS && m->load_params == NULL)) {
    return utvm_fail(kTvmErrorFunctionCallNotImplemented, "%s is not supported by the %s executor",
                     name, m->kind);
  }
  utvm_executor_io_t* io = utvm_executor_slot_current(m->slot); /* the executor's first member */
  if (io == NULL) {
    return utvm_fail(kTvmErrorExecutorModuleBadContext, "the %s executor was released", m->kind);
  }
  /* The argument types, checked as every packed function's: load_params takes bytes,
   * set_input a tensor second; the first argument of the others names an input (a string) or
   * indexes an input or output (an int, or a bool as TVM's host may send). */
  int first = kTVMArgInt;
  if (op == UTVM_EXEC_LOAD_PARAMS) {
    first = kTVMBytes;
  } else if (op != UTVM_EXEC_GET_OUTPUT && num_args > 0 && codes[0] == kTVMStr) {
    first = kTVMStr;
  }
  const uint8_t expected[3] = {(uint8_t)arity, (uint8_t)first, kTVMDLTensorHandle};
  int rc = utvm_check_args(name, codes, num_args, expected);
  if (rc != 0) return rc;
  if (op == UTVM_EXEC_LOAD_PARAMS) {
    const TVMByteArray* bytes = args[0].v_handle;
    return m->load_params(io, bytes->data, bytes->size);
  }
  if (op == UTVM_EXEC_RUN) return m->run(io);
  int index = 0; /* into io->arrays */
  if (num_args > 0) {
    bool output = op == UTVM_EXEC_GET_OUTPUT;
    if (codes[0] == kTVMStr) {
      index = utvm_executor_io_input_index(io, args[0].v_str);
      if (index < 0) return -index;
    } else if ((uint64_t)args[0].v_int64 < io->counts[output]) { /* negative ones too */
      index = (int)utvm_executor_io_place(io, output, (uint32_t)args[0].v_int64);
    } else {
      return utvm_fail(kTvmErrorExecutorModuleNoSuchInput, "%s: no %s %lld", name,
                       UTVM_EXECUTOR_IO_KIND(output), (long long)args[0].v_int64);
    }
  }
  if (op == UTVM_EXEC_SET_INPUT) return utvm_executor_io_copy(io, index, false, args[1].v_handle);
  TVMValue v = {.v_int64 = index}; /* get_input_index: the index is the answer */
  int code = kTVMArgInt;
  if (op == UTVM_EXEC_GET_INPUT || op == UTVM_EXEC_GET_OUTPUT) {
    TVMNDArray* arr = io->arrays[index];
    utvm_ndarray_retain_for_host(arr); /* the host frees it with TVMArrayFree */
    v.v_handle = &arr->dl_tensor;
    code = kTVMNDArrayHandle;
  } else if (op == UTVM_EXEC_GET_INPUT_NAME) {
    v.v_str = io->name(io, (uint32_t)index);
    code = kTVMStr;
  } else if (op != UTVM_EXEC_GET_INPUT_INDEX) { /* get_num_inputs, get_num_outputs */
    _Static_assert(UTVM_EXEC_GET_NUM_OUTPUTS == UTVM_EXEC_GET_NUM_INPUTS + 1, "io->counts order");
    v.v_int64 = io->counts[op - UTVM_EXEC_GET_NUM_INPUTS];
  }
  utvm_set_return(ret, ret_code, v, code);
  return 0;
}

/* The module functions: each passes its op and arity (-1: not supported) to the one
 * dispatch in place of the argument count, which it moves to the return slot (dispatch then
 * clears it): a store, a move and a jump, every other argument where it came, and no table
 * of arities. */
#define EXECUTOR_FN(name, op, arity)                                                       \
  DISPATCH_SECTION static int fn_##name(TVMValue* args, int* codes, int num_args,         \
                                        TVMValue* ret, int* ret_code, void* resource) {   \
    memcpy(ret, &num_args, sizeof(num_args));                                              \
    return dispatch(args, codes, (op) | ((arity) + 1) << 4, ret, ret_code, resource);      \
  }
EXECUTOR_FN(get_input, UTVM_EXEC_GET_INPUT, 1)
EXECUTOR_FN(get_input_index, UTVM_EXEC_GET_INPUT_INDEX, 1)
EXECUTOR_FN(get_input_info, UTVM_EXEC_GET_INPUT_INFO, -1)
EXECUTOR_FN(get_num_inputs, UTVM_EXEC_GET_NUM_INPUTS, 0)
EXECUTOR_FN(get_num_outputs, UTVM_EXEC_GET_NUM_OUTPUTS, 0)
EXECUTOR_FN(get_output, UTVM_EXEC_GET_OUTPUT, 1)
EXECUTOR_FN(load_params, UTVM_EXEC_LOAD_PARAMS, 1)
EXECUTOR_FN(run, UTVM_EXEC_RUN, 0)
EXECUTOR_FN(set_input, UTVM_EXEC_SET_INPUT, 2)
EXECUTOR_FN(share_params, UTVM_EXEC_SHARE_PARAMS, -1)
EXECUTOR_FN(get_input_name, UTVM_EXEC_GET_INPUT_NAME, 1)

const TVMBackendPackedCFunc utvm_executor_funcs[] = {
    fn_get_input,       fn_get_input_index, fn_get_input_info, fn_get_num_inputs,
    fn_get_num_outputs, fn_get_output,      fn_load_params,    fn_run,
    fn_set_input,       fn_share_params,    fn_get_input_name};
