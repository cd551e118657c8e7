/* AOT executor (packed interface) over a hand-written model: use and misuse. */
#include <utvm/aot_executor.h>

#include "utest.h"

/* A model "test": output = input + 1 on int8[1,4]; fails when input[0] == 99. */
static const int64_t io_shape[2] = {1, 4};
static const struct TVMTensorInfo inputs[1] = {{"data", io_shape, 2, {kDLInt, 8, 1}}};
static const struct TVMTensorInfo outputs[1] = {{"output0", io_shape, 2, {kDLInt, 8, 1}}};
static const int64_t pool_shape[1] = {64};
static const struct TVMTensorInfo pools[1] = {{"global_workspace", pool_shape, 1, {kDLUInt, 8, 1}}};
static const struct TVMMetadata metadata = {1, inputs, 1, outputs, 1, pools, 1, NULL, 0, "tvmgen_test"};

static int get_c_metadata(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  ret[0].v_handle = (void*)&metadata;
  ret_code[0] = kTVMOpaqueHandle;
  return 0;
}

static int run(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  /* Like generated code: inputs, outputs, then pools; it reads one type code past n. */
  if (n != 3 || codes[3] != kTVMDLTensorHandle) return -1;
  int8_t* in = ((DLTensor*)args[0].v_handle)->data;
  int8_t* out = ((DLTensor*)args[1].v_handle)->data;
  if (in[0] == 99) {
    TVMAPISetLastError("model refused input");
    return -1;
  }
  for (int i = 0; i < 4; i++) out[i] = (int8_t)(in[i] + 1);
  return 0;
}

static const TVMBackendPackedCFunc funcs[] = {run, get_c_metadata};
static const TVMFuncRegistry registry = {"\002\000tvmgen_test_run\000tvmgen_test_get_c_metadata\000", funcs};
static const TVMModule model = {&registry};
static const DLDevice cpu = {kDLCPU, 0};

/* The model's module handle, registered once per test case (module slots are few). */
static TVMModuleHandle load_model(void) {
  static TVMModuleHandle mod;
  static uint32_t generation;
  if (generation != utvm_runtime_generation()) {
    TVMModCreateFromCModule(&model, &mod);
    generation = utvm_runtime_generation();
  }
  return mod;
}

static DLTensor tensor(int8_t* data, int64_t* shape, int ndim, DLDataType dtype) {
  DLTensor t = {data, cpu, ndim, dtype, shape, NULL, 0};
  return t;
}

UTEST(aot_runs_a_model) {
  utvm_aot_executor_t* exec;
  CHECK_OK(utvm_aot_executor_create(load_model(), cpu, "test", &exec));
  CHECK_EQ_INT(utvm_aot_executor_num_inputs(exec), 1);
  CHECK_EQ_INT(utvm_aot_executor_num_outputs(exec), 1);
  CHECK_EQ_INT(utvm_aot_executor_input_index(exec, "data"), 0);
  int8_t in[4] = {1, 2, 3, 4}, out[4] = {0};
  int64_t shape[2] = {1, 4};
  DLTensor tin = tensor(in, shape, 2, (DLDataType){kDLInt, 8, 1});
  DLTensor tout = tensor(out, shape, 2, (DLDataType){kDLInt, 8, 1});
  CHECK_OK(utvm_aot_executor_set_input(exec, 0, &tin));
  CHECK_OK(utvm_aot_executor_run(exec));
  CHECK_OK(utvm_aot_executor_get_output(exec, 0, &tout));
  CHECK(out[0] == 2 && out[3] == 5);
  CHECK_OK(utvm_aot_executor_release(exec));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(aot_create_names_what_is_missing) {
  utvm_aot_executor_t* exec;
  CHECK_FAILS_WITH(utvm_aot_executor_create(load_model(), cpu, "other", &exec),
                   "tvmgen_other_get_c_metadata is not in the module");
  DLDevice gpu = {kDLCUDA, 0};
  CHECK_FAILS_WITH(utvm_aot_executor_create(load_model(), gpu, "test", &exec), "only cpu(0)");
  CHECK_FAILS_WITH(utvm_aot_executor_create((TVMModuleHandle)0x8009, cpu, "test", &exec),
                   "is not in the module");
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

/* A model whose metadata each case sets: it has no run function, so metadata that passes
 * the checks fails at the run lookup. */
static struct TVMMetadata odd_metadata;
static int get_odd_metadata(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code,
                            void* res) {
  ret[0].v_handle = &odd_metadata;
  ret_code[0] = kTVMOpaqueHandle;
  return 0;
}
static const TVMBackendPackedCFunc odd_funcs[] = {get_odd_metadata};
static const TVMFuncRegistry odd_registry = {"\001\000tvmgen_odd_get_c_metadata\000", odd_funcs};
static const TVMModule odd_model = {&odd_registry};

static int create_odd(int64_t version, int64_t num_inputs, int64_t num_outputs, int64_t num_pools) {
  odd_metadata = (struct TVMMetadata){version, inputs, num_inputs, outputs, num_outputs, pools,
                                      num_pools, NULL, 0, "tvmgen_odd"};
  TVMModuleHandle mod;
  utvm_aot_executor_t* exec;
  if (TVMModCreateFromCModule(&odd_model, &mod) != 0) return -1;
  int rc = utvm_aot_executor_create(mod, cpu, "odd", &exec);
  TVMModFree(mod);
  return rc;
}

/* Each count in 0..0x7fff and at most 0x7fff tensors, whatever the high words hold. */
UTEST(aot_create_refuses_metadata_it_cannot_size) {
  const char* refused = "tvmgen_odd_get_c_metadata: unsupported metadata (version";
  CHECK_FAILS_WITH(create_odd(2, 1, 1, 1), "unsupported metadata (version 2)");
  CHECK_FAILS_WITH(create_odd(1, -1, 1, 1), refused);
  CHECK_FAILS_WITH(create_odd(1, 1, 1, -1), refused);
  CHECK_FAILS_WITH(create_odd(1, 0x8000, 0, 0), refused);
  CHECK_FAILS_WITH(create_odd(1, 0, 0, 0x8000), refused);
  CHECK_FAILS_WITH(create_odd(1, 0x7fff, 1, 0), refused);     /* 0x8000 tensors */
  CHECK_FAILS_WITH(create_odd(1, 0xFFFFFFFF, 1, 0), refused); /* low words sum to 0 */
  CHECK_FAILS_WITH(create_odd(1, 0x100000001, 1, 0), refused);
  CHECK_FAILS_WITH(create_odd(1, 1, 0x100000000, 0), refused);
  /* At the bounds the metadata passes, and the missing run function is what fails. */
  CHECK_FAILS_WITH(create_odd(1, 0x7ffe, 1, 0x7fff), "tvmgen_odd_run is not in the module");
  CHECK_FAILS_WITH(create_odd(1, 0, 0, 0), "tvmgen_odd_run is not in the module");
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(aot_set_input_checks_dtype_shape_index) {
  utvm_aot_executor_t* exec;
  CHECK_OK(utvm_aot_executor_create(load_model(), cpu, "test", &exec));
  int8_t buf[8] = {0};
  int64_t shape[2] = {1, 4}, wrong[2] = {2, 4};
  DLTensor f32 = tensor(buf, shape, 2, (DLDataType){kDLFloat, 32, 1});
  DLTensor bad_shape = tensor(buf, wrong, 2, (DLDataType){kDLInt, 8, 1});
  DLTensor bad_ndim = tensor(buf, shape, 1, (DLDataType){kDLInt, 8, 1});
  DLTensor ok = tensor(buf, shape, 2, (DLDataType){kDLInt, 8, 1});
  CHECK_FAILS_WITH(utvm_aot_executor_set_input(exec, 0, &f32), "data: dtype float32 given, int8 expected");
  CHECK_FAILS_WITH(utvm_aot_executor_set_input(exec, 0, &bad_shape), "dimension 0 is 2, 1 expected");
  CHECK_FAILS_WITH(utvm_aot_executor_set_input(exec, 0, &bad_ndim), "1 dimensions given, 2 expected");
  CHECK_FAILS_WITH(utvm_aot_executor_set_input(exec, 1, &ok), "input index 1 outside 0..0");
  CHECK_FAILS_WITH(utvm_aot_executor_set_input(exec, -1, &ok), "input index -1");
  CHECK_FAILS_WITH(utvm_aot_executor_get_output(exec, 2, &ok), "output index 2");
  /* The tensor-level checks are the graph executor's (executors/common/executor_io.c). */
  DLTensor no_data = tensor(NULL, shape, 2, (DLDataType){kDLInt, 8, 1});
  CHECK_FAILS_WITH(utvm_aot_executor_set_input(exec, 0, &no_data), "data: the tensor has no data");
  CHECK_FAILS_WITH(utvm_aot_executor_get_output(exec, 0, &no_data), "output0: the tensor has no data");
  CHECK_FAILS_WITH(utvm_aot_executor_get_output(exec, 0, &f32), "output0: dtype float32 given, int8 expected");
  CHECK(utvm_aot_executor_input_index(exec, "nope") < 0);
  CHECK_LAST_ERROR_HAS("no input named nope");
  CHECK_OK(utvm_aot_executor_release(exec));
}

UTEST(aot_model_failure_is_an_error_not_an_abort) {
  utvm_aot_executor_t* exec;
  CHECK_OK(utvm_aot_executor_create(load_model(), cpu, "test", &exec));
  ((int8_t*)utvm_aot_executor_input(exec, 0)->dl_tensor.data)[0] = 99;
  CHECK_FAILS_WITH(utvm_aot_executor_run(exec), "tvmgen_test_run failed with -1: model refused input");
  CHECK_OK(utvm_aot_executor_release(exec));
}

/* ---- The packed module, as a host drives it. ---- */

static int call(TVMFunctionHandle f, TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code) {
  return TVMFuncCall(f, args, codes, n, ret, ret_code);
}

static TVMModuleHandle create_module(void) {
  TVMFunctionHandle create;
  TVMFuncGetGlobal("tvm.aot_executor.create", &create);
  TVMValue args[3] = {{.v_handle = load_model()}, {.v_device = cpu}, {.v_str = "test"}};
  int codes[3] = {kTVMModuleHandle, kDLDevice, kTVMStr};
  TVMValue ret = {.v_handle = NULL};
  int ret_code;
  if (call(create, args, codes, 3, &ret, &ret_code) != 0) return NULL;
  return ret.v_handle;
}

static TVMFunctionHandle fn(TVMModuleHandle mod, const char* name) {
  TVMFunctionHandle f = NULL;
  TVMModGetFunction(mod, name, 0, &f);
  return f;
}

UTEST(aot_module_drives_a_run) {
  CHECK_OK(utvm_aot_executor_module_register());
  TVMModuleHandle mod = create_module();
  CHECK(mod != NULL);
  TVMValue arg, ret;
  int code, ret_code;
  CHECK_OK(call(fn(mod, "get_num_inputs"), NULL, NULL, 0, &ret, &ret_code));
  CHECK_EQ_INT(ret.v_int64, 1);
  arg.v_str = "data";
  code = kTVMStr;
  CHECK_OK(call(fn(mod, "get_input"), &arg, &code, 1, &ret, &ret_code));
  CHECK_EQ_INT(ret_code, kTVMNDArrayHandle);
  DLTensor* in = ret.v_handle;
  ((int8_t*)in->data)[2] = 10;
  CHECK_OK(TVMArrayFree(in)); /* the host's FreeHandle */
  CHECK_OK(call(fn(mod, "run"), NULL, NULL, 0, &ret, &ret_code));
  CHECK_EQ_INT(ret_code, kTVMNullptr);
  arg.v_int64 = 0;
  code = kTVMArgInt;
  CHECK_OK(call(fn(mod, "get_output"), &arg, &code, 1, &ret, &ret_code));
  CHECK_EQ_INT(((int8_t*)((DLTensor*)ret.v_handle)->data)[2], 11);
  CHECK_OK(TVMArrayFree(ret.v_handle));
  CHECK_OK(call(fn(mod, "get_input_name"), &arg, &code, 1, &ret, &ret_code));
  CHECK(ret_code == kTVMStr && strcmp(ret.v_str, "data") == 0);
}

UTEST(aot_module_rejects_bad_calls) {
  CHECK_OK(utvm_aot_executor_module_register());
  TVMModuleHandle mod = create_module();
  TVMValue arg, ret;
  int code, ret_code;
  arg.v_str = "nope";
  code = kTVMStr;
  CHECK_FAILS_WITH(call(fn(mod, "get_input"), &arg, &code, 1, &ret, &ret_code), "no input named nope");
  CHECK_FAILS_WITH(call(fn(mod, "get_input_index"), &arg, &code, 1, &ret, &ret_code), "no input named nope");
  arg.v_int64 = 1;
  code = kTVMArgInt;
  CHECK_FAILS_WITH(call(fn(mod, "get_output"), &arg, &code, 1, &ret, &ret_code), "no output 1");
  CHECK_FAILS_WITH(call(fn(mod, "get_input"), &arg, &code, 1, &ret, &ret_code), "no input 1");
  CHECK_FAILS_WITH(call(fn(mod, "get_input_name"), &arg, &code, 1, &ret, &ret_code), "no input 1");
  code = kTVMOpaqueHandle;
  CHECK_FAILS_WITH(call(fn(mod, "get_output"), &arg, &code, 1, &ret, &ret_code), "type code 3");
  CHECK_FAILS_WITH(call(fn(mod, "run"), &arg, &code, 1, &ret, &ret_code), "takes 0 arguments");
  CHECK_FAILS_WITH(call(fn(mod, "load_params"), NULL, NULL, 0, &ret, &ret_code), "not supported");
  /* Over-freeing an executor's tensor is refused instead of freeing it under the executor. */
  arg.v_int64 = 0;
  code = kTVMArgInt;
  CHECK_OK(call(fn(mod, "get_output"), &arg, &code, 1, &ret, &ret_code));
  CHECK_OK(TVMArrayFree(ret.v_handle));
  CHECK_FAILS_WITH(TVMArrayFree(ret.v_handle), "freed more often");
}

UTEST(aot_module_create_replaces_the_previous_executor) {
  CHECK_OK(utvm_aot_executor_module_register());
  TVMModuleHandle first = create_module();
  CHECK(first != NULL);
  size_t in_use = utvm_heap_bytes_in_use();
  for (int i = 0; i < 5; i++) CHECK(create_module() != NULL);
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), in_use); /* no leak per re-creation */
  TVMFunctionHandle create;
  TVMFuncGetGlobal("tvm.aot_executor.create", &create);
  TVMValue args[2] = {{.v_handle = load_model()}, {.v_str = "test"}};
  int codes[2] = {kTVMModuleHandle, kTVMStr};
  TVMValue ret;
  int ret_code;
  CHECK_FAILS_WITH(call(create, args, codes, 2, &ret, &ret_code), "takes 3 arguments");
}

UTEST_MAIN()
