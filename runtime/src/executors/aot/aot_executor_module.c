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

#define REQUIRE_EXECUTOR(exec)                                                       \
  utvm_aot_executor_t* exec = current();                                             \
  (void)resource;                                                                    \
  if (exec == NULL) {                                                                \
    return utvm_fail(kTvmErrorExecutorModuleBadContext, "the AOT executor was released"); \
  }

static int return_int(TVMValue* ret, int* ret_code, int64_t v) {
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = v}, kTVMArgInt);
  return 0;
}

/* An input index from an int or a name argument. */
static int input_index_of(utvm_aot_executor_t* exec, const char* fn, TVMValue arg, int code) {
  if (code == kTVMStr) return utvm_aot_executor_input_index(exec, arg.v_str);
  if (code == kTVMArgInt) {
    if (arg.v_int64 < 0 || arg.v_int64 >= utvm_aot_executor_num_inputs(exec)) {
      return utvm_fail(-kTvmErrorExecutorModuleNoSuchInput, "%s: no input %lld", fn,
                       (long long)arg.v_int64);
    }
    return (int)arg.v_int64;
  }
  return utvm_fail(-kTvmErrorFunctionCallWrongArgType, "%s: the input is named by int or str, "
                   "type code %d given", fn, code);
}

static int return_array(TVMValue* ret, int* ret_code, TVMNDArray* arr) {
  if (arr == NULL) return kTvmErrorExecutorModuleNoSuchInput;
  utvm_ndarray_retain(arr); /* the host frees it with TVMArrayFree */
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = &arr->dl_tensor}, kTVMNDArrayHandle);
  return 0;
}

static int get_input(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  if (num_args != 1) return utvm_fail(kTvmErrorFunctionCallNumArguments, "get_input takes 1 argument");
  int index = input_index_of(exec, "get_input", args[0], codes[0]);
  if (index < 0) return -index;
  return return_array(ret, ret_code, utvm_aot_executor_input(exec, index));
}

static int get_input_index(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  static const int expected[] = {kTVMStr};
  int rc = utvm_check_args("get_input_index", codes, num_args, 1, expected);
  if (rc != 0) return rc;
  int index = utvm_aot_executor_input_index(exec, args[0].v_str);
  if (index < 0) return -index;
  return return_int(ret, ret_code, index);
}

static int get_input_name(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  static const int expected[] = {kTVMArgInt};
  int rc = utvm_check_args("get_input_name", codes, num_args, 1, expected);
  if (rc != 0) return rc;
  int index = input_index_of(exec, "get_input_name", args[0], codes[0]);
  if (index < 0) return -index;
  utvm_set_return(ret, ret_code,
                  (TVMValue){.v_str = utvm_aot_executor_metadata(exec)->inputs[index].name}, kTVMStr);
  return 0;
}

static int get_num_inputs(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  int rc = utvm_check_args("get_num_inputs", codes, num_args, 0, NULL);
  return rc != 0 ? rc : return_int(ret, ret_code, utvm_aot_executor_num_inputs(exec));
}

static int get_num_outputs(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  int rc = utvm_check_args("get_num_outputs", codes, num_args, 0, NULL);
  return rc != 0 ? rc : return_int(ret, ret_code, utvm_aot_executor_num_outputs(exec));
}

static int get_output(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  static const int expected[] = {kTVMArgInt};
  int rc = utvm_check_args("get_output", codes, num_args, 1, expected);
  if (rc != 0) return rc;
  if (args[0].v_int64 < 0 || args[0].v_int64 >= utvm_aot_executor_num_outputs(exec)) {
    return utvm_fail(kTvmErrorExecutorModuleNoSuchInput, "get_output: no output %lld",
                     (long long)args[0].v_int64);
  }
  return return_array(ret, ret_code, utvm_aot_executor_output(exec, (int)args[0].v_int64));
}

static int run(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  (void)args;
  (void)ret;
  (void)ret_code;
  int rc = utvm_check_args("run", codes, num_args, 0, NULL);
  return rc != 0 ? rc : utvm_aot_executor_run(exec);
}

static int set_input(PACKED_ARGS) {
  REQUIRE_EXECUTOR(exec);
  (void)ret;
  (void)ret_code;
  if (num_args != 2) return utvm_fail(kTvmErrorFunctionCallNumArguments, "set_input takes 2 arguments");
  if (codes[1] != kTVMDLTensorHandle && codes[1] != kTVMNDArrayHandle) {
    return utvm_fail(kTvmErrorFunctionCallWrongArgType, "set_input: argument 1 must be a tensor");
  }
  int index = input_index_of(exec, "set_input", args[0], codes[0]);
  if (index < 0) return -index;
  return utvm_aot_executor_set_input(exec, index, args[1].v_handle);
}

static int not_implemented(PACKED_ARGS) {
  (void)args;
  (void)codes;
  (void)num_args;
  (void)ret;
  (void)ret_code;
  (void)resource;
  return utvm_fail(kTvmErrorFunctionCallNotImplemented,
                   "not supported by the AOT executor (parameters are linked into the model)");
}

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
    utvm_module_slot_release(instance_module);
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
