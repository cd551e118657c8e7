/*
 * The AOT executor as a module of packed functions, for host-driven use: the host
 * calls the global "tvm.aot_executor.create" and then the module's functions
 * (wire-protocol doc §6). One executor exists at a time; creating another replaces it.
 */
#include <string.h>
#include <utvm/aot_executor.h>
#include <utvm/error.h>
#include <utvm/registry.h>
#include <utvm/runtime.h>

static utvm_aot_executor_t* instance;
static TVMModuleHandle instance_module;
static uint32_t instance_generation;

static utvm_aot_executor_t* current(void) {
  /* State from before a runtime re-initialisation lived in the old heap. */
  if (instance_generation != utvm_runtime_generation()) instance = NULL;
  return instance;
}

#define PACKED_ARGS                                                                  \
  TVMValue *args, int *codes, int num_args, TVMValue *ret, int *ret_code, void *resource

enum op { GET_INPUT, GET_INPUT_INDEX, GET_INPUT_NAME, GET_NUM_INPUTS, GET_NUM_OUTPUTS,
          GET_OUTPUT, RUN, SET_INPUT, NOT_IMPLEMENTED };

/* Index of the input an argument names (int or str); negative error code on failure. */
static int input_index_of(utvm_aot_executor_t* exec, TVMValue arg, int code) {
  if (code == kTVMStr) return utvm_aot_executor_input_index(exec, arg.v_str);
  if ((code == kTVMArgInt || code == kTVMArgBool) && arg.v_int64 >= 0 &&
      arg.v_int64 < utvm_aot_executor_num_inputs(exec)) {
    return (int)arg.v_int64;
  }
  return utvm_fail(-kTvmErrorExecutorModuleNoSuchInput, "no input %lld (type code %d)",
                   (long long)arg.v_int64, code);
}

/* All module functions share one body: the argument checks are the same shape. */
static int dispatch(enum op op, TVMValue* args, int* codes, int num_args, TVMValue* ret,
                    int* ret_code) {
  static const uint8_t arity[] = {1, 1, 1, 0, 0, 1, 0, 2};
  static const char* const names[] = {"get_input", "get_input_index", "get_input_name",
                                      "get_num_inputs", "get_num_outputs", "get_output", "run",
                                      "set_input"};
  utvm_aot_executor_t* exec = current();
  if (op == NOT_IMPLEMENTED) {
    return utvm_fail(kTvmErrorFunctionCallNotImplemented,
                     "not supported by the AOT executor (parameters are linked into the model)");
  }
  if (exec == NULL) {
    return utvm_fail(kTvmErrorExecutorModuleBadContext, "the AOT executor was released");
  }
  if (num_args != arity[op]) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments, "%s takes %d arguments, %d given",
                     names[op], arity[op], num_args);
  }
  int index = 0;
  if (op == GET_OUTPUT) {
    if (codes[0] != kTVMArgInt) {
      return utvm_fail(kTvmErrorFunctionCallWrongArgType, "get_output: argument 0 has type code "
                       "%d, 0 expected", codes[0]);
    }
    if (args[0].v_int64 < 0 || args[0].v_int64 >= utvm_aot_executor_num_outputs(exec)) {
      return utvm_fail(kTvmErrorExecutorModuleNoSuchInput, "get_output: no output %lld",
                       (long long)args[0].v_int64);
    }
    index = (int)args[0].v_int64;
  } else if (arity[op] > 0) {
    index = input_index_of(exec, args[0], codes[0]);
    if (index < 0) return -index;
  }
  TVMValue v = {.v_int64 = index};
  int code = kTVMArgInt;
  TVMNDArray* arr = NULL;
  switch (op) {
    case GET_INPUT:
      arr = utvm_aot_executor_input(exec, index);
      break;
    case GET_OUTPUT:
      arr = utvm_aot_executor_output(exec, index);
      break;
    case GET_INPUT_NAME:
      v.v_str = utvm_aot_executor_metadata(exec)->inputs[index].name;
      code = kTVMStr;
      break;
    case GET_NUM_INPUTS:
      v.v_int64 = utvm_aot_executor_num_inputs(exec);
      break;
    case GET_NUM_OUTPUTS:
      v.v_int64 = utvm_aot_executor_num_outputs(exec);
      break;
    case RUN:
      return utvm_aot_executor_run(exec);
    case SET_INPUT:
      if (codes[1] != kTVMDLTensorHandle && codes[1] != kTVMNDArrayHandle) {
        return utvm_fail(kTvmErrorFunctionCallWrongArgType, "set_input: argument 1 must be a tensor");
      }
      return utvm_aot_executor_set_input(exec, index, args[1].v_handle);
    default: /* GET_INPUT_INDEX: index is the answer */
      break;
  }
  if (arr != NULL) {
    utvm_ndarray_retain(arr); /* the host frees it with TVMArrayFree */
    v.v_handle = &arr->dl_tensor;
    code = kTVMNDArrayHandle;
  }
  utvm_set_return(ret, ret_code, v, code);
  return 0;
}

#define MODULE_FUNCTION(fn, op)                                                      \
  static int fn(PACKED_ARGS) {                                                       \
    (void)resource;                                                                  \
    return dispatch(op, args, codes, num_args, ret, ret_code);                       \
  }
MODULE_FUNCTION(get_input, GET_INPUT)
MODULE_FUNCTION(get_input_index, GET_INPUT_INDEX)
MODULE_FUNCTION(get_input_name, GET_INPUT_NAME)
MODULE_FUNCTION(get_num_inputs, GET_NUM_INPUTS)
MODULE_FUNCTION(get_num_outputs, GET_NUM_OUTPUTS)
MODULE_FUNCTION(get_output, GET_OUTPUT)
MODULE_FUNCTION(run, RUN)
MODULE_FUNCTION(set_input, SET_INPUT)
MODULE_FUNCTION(not_implemented, NOT_IMPLEMENTED)

/* Registry in the generated-code layout; the count in the first two bytes matches the list. */
static const TVMBackendPackedCFunc funcs[] = {
    get_input,       get_input_index, not_implemented /* get_input_info */, get_num_inputs,
    get_num_outputs, get_output,      not_implemented /* load_params */,    run,
    set_input,       not_implemented /* share_params */, get_input_name,
};
static const TVMFuncRegistry registry = {
    "\013\000get_input\000get_input_index\000get_input_info\000get_num_inputs\000"
    "get_num_outputs\000get_output\000load_params\000run\000set_input\000share_params\000"
    "get_input_name\000",
    funcs,
};
static const TVMModule module = {&registry};

/* tvm.aot_executor.create(system_lib: Module, device: Device, module_name: str) -> Module */
static int create(PACKED_ARGS) {
  (void)resource;
  static const int expected[] = {kTVMModuleHandle, kDLDevice, kTVMStr};
  int rc = utvm_check_args("tvm.aot_executor.create", codes, num_args, 3, expected);
  if (rc != 0) return rc;
  if (current() != NULL) {
    utvm_aot_executor_release(instance);
    /* The host may have freed our module handle already, and the slot may hold another. */
    if (utvm_module_from_handle(instance_module) == &module) utvm_module_slot_release(instance_module);
    instance = NULL;
  }
  utvm_aot_executor_t* exec;
  rc = utvm_aot_executor_create(args[0].v_handle, args[1].v_device, args[2].v_str, &exec);
  if (rc != 0) return rc;
  TVMModuleHandle handle;
  rc = TVMModCreateFromCModule(&module, &handle);
  if (rc != 0) {
    utvm_aot_executor_release(exec);
    return rc;
  }
  instance = exec;
  instance_module = handle;
  instance_generation = utvm_runtime_generation();
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = handle}, kTVMModuleHandle);
  return 0;
}

int utvm_aot_executor_module_register(void) {
  return TVMFuncRegisterGlobal("tvm.aot_executor.create", (TVMFunctionHandle)create, 1);
}
