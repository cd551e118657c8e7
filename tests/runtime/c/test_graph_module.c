/*
 * The graph executor module for host-driven use: "tvm.graph_executor.create" and the
 * module's functions, called as a host would (packed calls), with every argument checked.
 */
#include "test_graph_support.h"

static TVMValue ret;
static int ret_code;

static TVMFunctionHandle global_create(void) {
  TVMFunctionHandle create = NULL;
  if (utvm_graph_executor_module_register() != 0 ||
      TVMFuncGetGlobal("tvm.graph_executor.create", &create) != 0) {
    fprintf(stderr, "tvm.graph_executor.create is not registered: %s\n", TVMGetLastError());
    exit(3);
  }
  return create;
}

static int call_create(const char* json, int64_t device_type, int64_t device_id) {
  TVMValue args[4] = {{.v_str = json}, {.v_handle = load_lib()}, {.v_int64 = device_type}, {.v_int64 = device_id}};
  int codes[4] = {kTVMStr, kTVMModuleHandle, kTVMArgInt, kTVMArgInt};
  return TVMFuncCall(global_create(), args, codes, 4, &ret, &ret_code);
}

static TVMModuleHandle create_module(const char* json) {
  if (call_create(json, kDLCPU, 0) != 0 || ret_code != kTVMModuleHandle) return NULL;
  return ret.v_handle;
}

/* Calls module function `name` with n arguments. */
static int call(TVMModuleHandle mod, const char* name, TVMValue* args, int* codes, int n) {
  TVMFunctionHandle f = NULL;
  if (TVMModGetFunction(mod, name, 0, &f) != 0) return -100;
  return TVMFuncCall(f, args, codes, n, &ret, &ret_code);
}

static int call_int(TVMModuleHandle mod, const char* name, int64_t v) {
  TVMValue arg = {.v_int64 = v};
  int code = kTVMArgInt;
  return call(mod, name, &arg, &code, 1);
}

static int call_str(TVMModuleHandle mod, const char* name, const char* s) {
  TVMValue arg = {.v_str = s};
  int code = kTVMStr;
  return call(mod, name, &arg, &code, 1);
}

UTEST(module_lists_its_eleven_functions) {
  TVMModuleHandle mod = create_module(kGraph);
  CHECK(mod != NULL);
  const TVMFuncRegistry* reg = utvm_module_from_handle(mod)->registry;
  CHECK_EQ_INT(TVMFuncRegistry_GetNumFuncs(reg), 11);
  static const char* const names[] = {"get_input", "get_input_index", "get_input_info",
                                      "get_num_inputs", "get_num_outputs", "get_output",
                                      "load_params", "run", "set_input", "share_params",
                                      "get_input_name"};
  for (int i = 0; i < 11; i++) {
    tvm_function_index_t index = 0;
    CHECK_EQ_INT(TVMFuncRegistry_Lookup(reg, names[i], &index), 0);
    CHECK_EQ_INT(index, i);
    TVMBackendPackedCFunc fn = NULL;
    CHECK_EQ_INT(TVMFuncRegistry_GetByIndex(reg, index, &fn), 0); /* TVM's CRT fails the last two */
  }
}

UTEST(module_drives_a_run_as_a_host_does) {
  TVMModuleHandle mod = create_module(kGraph);
  CHECK(mod != NULL);
  /* load_params takes the blob as bytes. */
  static blob_t b;
  blob_one(&b, "w", 1);
  TVMByteArray bytes = {(const char*)b.bytes, b.len};
  TVMValue arg = {.v_handle = &bytes};
  int code = kTVMBytes;
  CHECK_OK(call(mod, "load_params", &arg, &code, 1));
  /* set_input by name with a DLTensor, and by index with an NDArray. */
  float x[4] = {1, 1, 1, 1};
  int64_t s4[1] = {4};
  DLTensor tx = f32_tensor(x, s4);
  TVMValue set_args[2] = {{.v_str = "x"}, {.v_handle = &tx}};
  int set_codes[2] = {kTVMStr, kTVMDLTensorHandle};
  CHECK_OK(call(mod, "set_input", set_args, set_codes, 2));
  CHECK_OK(call(mod, "run", NULL, NULL, 0));
  CHECK_EQ_INT(ret_code, kTVMNullptr);
  CHECK_OK(call_int(mod, "get_output", 0));
  CHECK_EQ_INT(ret_code, kTVMNDArrayHandle);
  DLTensor* out = ret.v_handle;
  CHECK(((float*)out->data)[0] == 4 && ((float*)out->data)[3] == 10);
  CHECK_OK(TVMArrayFree(out));

  TVMNDArray* fresh = NULL;
  CHECK_OK(utvm_ndarray_empty(1, s4, f32, cpu, &fresh));
  ((float*)fresh->dl_tensor.data)[0] = 50;
  set_args[0].v_int64 = 0;
  set_codes[0] = kTVMArgInt;
  set_args[1].v_handle = &fresh->dl_tensor;
  set_codes[1] = kTVMNDArrayHandle;
  CHECK_OK(call(mod, "set_input", set_args, set_codes, 2));
  CHECK_OK(utvm_ndarray_release(fresh));
  CHECK_OK(call(mod, "run", NULL, NULL, 0));
  CHECK_OK(call_int(mod, "get_output", 0));
  CHECK(((float*)((DLTensor*)ret.v_handle)->data)[0] == 2 * (50 + 1));
  CHECK_OK(TVMArrayFree(ret.v_handle));

  CHECK_OK(call(mod, "get_num_inputs", NULL, NULL, 0));
  CHECK_EQ_INT(ret_code, kTVMArgInt);
  CHECK_EQ_INT(ret.v_int64, 2);
  CHECK_OK(call(mod, "get_num_outputs", NULL, NULL, 0));
  CHECK_EQ_INT(ret.v_int64, 1);
  CHECK_OK(call_str(mod, "get_input_index", "w"));
  CHECK_EQ_INT(ret_code, kTVMArgInt);
  CHECK_EQ_INT(ret.v_int64, 1);
  CHECK_OK(call_int(mod, "get_input_name", 1));
  CHECK_EQ_INT(ret_code, kTVMStr);
  CHECK(strcmp(ret.v_str, "w") == 0);
}

UTEST(get_input_hands_out_a_reference_the_host_frees) {
  TVMModuleHandle mod = create_module(kGraph);
  CHECK_OK(call_str(mod, "get_input", "w"));
  CHECK_EQ_INT(ret_code, kTVMNDArrayHandle);
  DLTensor* w = ret.v_handle;
  CHECK_EQ_INT(w->shape[0], 4);
  TVMNDArray* arr = utvm_ndarray_from_handle(w);
  CHECK(arr != NULL);
  CHECK_EQ_INT(arr->reference_count, 2);
  CHECK_OK(call_int(mod, "get_input", 1));
  CHECK(ret.v_handle == w);
  CHECK_EQ_INT(arr->reference_count, 3);
  CHECK_OK(TVMArrayFree(w));
  CHECK_OK(TVMArrayFree(w));
  /* The executor's own reference cannot be freed by the host. */
  CHECK_FAILS_WITH(TVMArrayFree(w), "belongs to an executor");
  CHECK_EQ_INT(arr->reference_count, 1);
}

UTEST(module_functions_check_argument_counts_and_types) {
  TVMModuleHandle mod = create_module(kGraph);
  TVMValue args[3] = {{.v_int64 = 0}, {.v_int64 = 0}, {.v_int64 = 0}};
  int ints[3] = {kTVMArgInt, kTVMArgInt, kTVMArgInt};
  int strs[1] = {kTVMStr};
  int floats[1] = {kTVMArgFloat};
  CHECK_FAILS_WITH(call(mod, "run", args, ints, 1), "run takes 0 arguments, 1 given");
  CHECK_EQ_INT(call(mod, "run", args, ints, 1), kTvmErrorFunctionCallNumArguments);
  CHECK_FAILS_WITH(call(mod, "get_output", args, ints, 0), "get_output takes 1 arguments, 0 given");
  CHECK_FAILS_WITH(call(mod, "get_input", args, ints, 2), "get_input takes 1 arguments, 2 given");
  CHECK_FAILS_WITH(call(mod, "set_input", args, ints, 3), "set_input takes 2 arguments, 3 given");
  CHECK_FAILS_WITH(call(mod, "get_num_inputs", args, ints, 1), "takes 0 arguments");
  CHECK_FAILS_WITH(call(mod, "load_params", args, ints, 2), "load_params takes 1 arguments, 2 given");

  args[0].v_str = "0";
  CHECK_FAILS_WITH(call(mod, "get_output", args, strs, 1), "get_output: argument 0 has type code 11, 0 expected");
  CHECK_EQ_INT(call(mod, "get_output", args, strs, 1), kTvmErrorFunctionCallWrongArgType);
  args[0].v_int64 = 0;
  CHECK_FAILS_WITH(call(mod, "load_params", args, ints, 1), "load_params: argument 0 has type code 0, 12 expected");
  CHECK_EQ_INT(call(mod, "load_params", args, ints, 1), kTvmErrorFunctionCallWrongArgType);
  args[0].v_float64 = 0.0;
  CHECK_FAILS_WITH(call(mod, "get_input", args, floats, 1), "get_input: argument 0 has type code 2, 0 expected");
  args[1].v_int64 = 5;
  CHECK_FAILS_WITH(call(mod, "set_input", args, ints, 2), "set_input: argument 1 has type code 0, 7 expected");
  CHECK_EQ_INT(call(mod, "set_input", args, ints, 2), kTvmErrorFunctionCallWrongArgType);
}

/* An index is an int or a bool (TVM's host sends a Python bool as kTVMArgBool) on get_input
 * and get_output alike; another type is the wrong type on both. */
UTEST(get_input_and_get_output_take_the_same_index_types) {
  TVMModuleHandle mod = create_module(kGraph);
  static const char* const fns[2] = {"get_input", "get_output"};
  for (int f = 0; f < 2; f++) {
    int num = f == 0 ? 2 : 1; /* the graph's inputs, outputs */
    static const int index_codes[2] = {kTVMArgInt, kTVMArgBool};
    for (int k = 0; k < 2; k++) {
      TVMValue arg = {.v_int64 = 0};
      int code = index_codes[k];
      CHECK_OK(call(mod, fns[f], &arg, &code, 1));
      CHECK_EQ_INT(ret_code, kTVMNDArrayHandle);
      CHECK_OK(TVMArrayFree(ret.v_handle));
      arg.v_int64 = num;
      CHECK_EQ_INT(call(mod, fns[f], &arg, &code, 1), kTvmErrorExecutorModuleNoSuchInput);
    }
    TVMValue arg = {.v_float64 = 0.0};
    int code = kTVMArgFloat;
    CHECK_EQ_INT(call(mod, fns[f], &arg, &code, 1), kTvmErrorFunctionCallWrongArgType);
    CHECK_LAST_ERROR_HAS("argument 0 has type code 2, 0 expected");
  }
}

UTEST(module_functions_refuse_unknown_inputs_and_outputs_without_aborting) {
  TVMModuleHandle mod = create_module(kGraph);
  CHECK_FAILS_WITH(call_int(mod, "get_input", 7), "no input 7");
  CHECK_EQ_INT(call_int(mod, "get_input", 7), kTvmErrorExecutorModuleNoSuchInput);
  CHECK_FAILS_WITH(call_int(mod, "get_input", -1), "no input -1");
  CHECK_FAILS_WITH(call_str(mod, "get_input", "nope"), "the graph has no input named nope");
  CHECK_EQ_INT(call_str(mod, "get_input_index", "nope"), kTvmErrorExecutorModuleNoSuchInput);
  CHECK_FAILS_WITH(call_int(mod, "get_output", 1), "get_output: no output 1");
  CHECK_FAILS_WITH(call_int(mod, "get_input_name", 2), "no input 2");
  float v[4];
  int64_t s4[1] = {4};
  DLTensor t = f32_tensor(v, s4);
  TVMValue set_args[2] = {{.v_str = "nope"}, {.v_handle = &t}};
  int set_codes[2] = {kTVMStr, kTVMDLTensorHandle};
  CHECK_FAILS_WITH(call(mod, "set_input", set_args, set_codes, 2), "no input named nope");
  int64_t s3[1] = {3};
  t = f32_tensor(v, s3);
  set_args[0].v_str = "x";
  CHECK_FAILS_WITH(call(mod, "set_input", set_args, set_codes, 2), "x: dimension 0 is 3, 4 expected");
  static blob_t b;
  blob_one(&b, "nope", 1);
  TVMByteArray bytes = {(const char*)b.bytes, b.len};
  TVMValue arg = {.v_handle = &bytes};
  int code = kTVMBytes;
  CHECK_FAILS_WITH(call(mod, "load_params", &arg, &code, 1), "the graph has no input named nope");
}

UTEST(unsupported_functions_say_so) {
  TVMModuleHandle mod = create_module(kGraph);
  CHECK_FAILS_WITH(call(mod, "share_params", NULL, NULL, 0), "share_params is not supported by the graph executor");
  CHECK_EQ_INT(call(mod, "share_params", NULL, NULL, 0), kTvmErrorFunctionCallNotImplemented);
  CHECK_FAILS_WITH(call(mod, "get_input_info", NULL, NULL, 0), "get_input_info is not supported");
}

UTEST(create_checks_its_arguments_before_dropping_the_running_executor) {
  TVMModuleHandle mod = create_module(kGraph);
  CHECK(mod != NULL);
  TVMFunctionHandle create = global_create();
  TVMValue args[4] = {{.v_str = kGraph}, {.v_handle = load_lib()}, {.v_int64 = 1}, {.v_int64 = 0}};
  int codes[4] = {kTVMStr, kTVMModuleHandle, kTVMArgInt, kTVMArgInt};
  CHECK_FAILS_WITH(TVMFuncCall(create, args, codes, 3, &ret, &ret_code),
                   "tvm.graph_executor.create takes 4 arguments, 3 given");
  CHECK_EQ_INT(TVMFuncCall(create, args, codes, 3, &ret, &ret_code), kTvmErrorFunctionCallNumArguments);
  static const int wrong[4] = {kTVMArgInt, kTVMStr, kTVMStr, kTVMStr};
  for (int i = 0; i < 4; i++) {
    int bad[4] = {kTVMStr, kTVMModuleHandle, kTVMArgInt, kTVMArgInt};
    bad[i] = wrong[i];
    CHECK_EQ_INT(TVMFuncCall(create, args, bad, 4, &ret, &ret_code), kTvmErrorFunctionCallWrongArgType);
    CHECK_LAST_ERROR_HAS("has type code");
  }
  CHECK_FAILS_WITH(call_create(kGraph, 2, 0), "device (2, 0) given; only cpu(0) is supported");
  CHECK_EQ_INT(call_create(kGraph, 2, 0), kTvmErrorExecutorModuleBadContext);
  CHECK_FAILS_WITH(call_create(kGraph, 1, 1), "only cpu(0)");
  args[1].v_handle = (void*)0x1234;
  CHECK_FAILS_WITH(TVMFuncCall(create, args, codes, 4, &ret, &ret_code), "0x1234 is not a live module");
  /* None of these dropped the executor. */
  CHECK_OK(call(mod, "run", NULL, NULL, 0));
  /* A bad graph does (the old one is released first, to leave its memory to the new). */
  CHECK_FAILS_WITH(call_create("{\"nodes\": []}", 1, 0), "the graph has no \"arg_nodes\"");
  CHECK_FAILS_WITH(call(mod, "run", NULL, NULL, 0), "unregistered module");
}

UTEST(a_new_executor_replaces_the_old_one_without_leaking) {
  CHECK(create_module(kGraph) != NULL);
  size_t heap_with_one = utvm_heap_bytes_in_use();
  for (int i = 0; i < 5; i++) {
    TVMModuleHandle mod = create_module(kGraph);
    CHECK(mod != NULL);
    CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_with_one);
    CHECK_OK(call(mod, "run", NULL, NULL, 0));
  }
  /* A host still holding an output of a replaced executor can free it. */
  TVMModuleHandle mod = create_module(kGraph);
  CHECK_OK(call_int(mod, "get_output", 0));
  DLTensor* held = ret.v_handle;
  CHECK(create_module(kGraph) != NULL);
  CHECK(held->data == NULL);
  CHECK_OK(TVMArrayFree(held));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_with_one);
}

UTEST(create_reports_a_failed_release_of_the_previous_executor) {
  TVMModuleHandle mod = create_module(kGraph);
  CHECK(mod != NULL);
  CHECK_OK(call_int(mod, "get_input", 1));
  TVMNDArray* w = utvm_ndarray_from_handle(ret.v_handle);
  w->reference_count = 0; /* as if over-released: releasing the executor fails on it */
  CHECK_EQ_INT(call_create(kGraph, kDLCPU, 0), kTvmErrorFunctionCallInvalidArg);
  CHECK_LAST_ERROR_HAS("released more often than retained");
  /* The previous executor is gone all the same: the next create makes one. */
  CHECK_FAILS_WITH(call(mod, "run", NULL, NULL, 0), "unregistered module");
  CHECK(create_module(kGraph) != NULL);
}

UTEST_MAIN()
