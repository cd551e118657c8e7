/* Core runtime API: errors, registry and handles, packed calls, dtypes, NDArrays, copies. */
#include <utvm/aot_executor.h>

#include "utest.h"

static int add_one(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  static const uint8_t expected[] = {1, kTVMArgInt};
  int rc = utvm_check_args("add_one", codes, n, expected);
  if (rc != 0) return rc;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = args[0].v_int64 + 1}, kTVMArgInt);
  return 0;
}

static int echo_resource(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = res}, kTVMOpaqueHandle);
  return 0;
}

static const TVMBackendPackedCFunc lib_funcs[] = {add_one, echo_resource};
static const TVMFuncRegistry lib_registry = {"\002\000add_one\000echo_resource\000", lib_funcs};
static const TVMModule lib = {&lib_registry};

UTEST(last_error_is_formatted_and_truncated) {
  CHECK_EQ_INT(TVMAPIErrorf("value %d", 42), -1);
  CHECK_LAST_ERROR_IS("value 42");
  char big[UTVM_ERROR_MESSAGE_SIZE * 2];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  TVMAPISetLastError(big);
  CHECK_EQ_INT(strlen(TVMGetLastError()), UTVM_ERROR_MESSAGE_SIZE - 1);
}

UTEST(global_functions_register_and_call) {
  TVMFunctionHandle f;
  CHECK_OK(TVMFuncRegisterGlobal("test.add_one", (TVMFunctionHandle)add_one, 0));
  CHECK_FAILS_WITH(TVMFuncRegisterGlobal("test.add_one", (TVMFunctionHandle)add_one, 0), "already exists");
  CHECK_OK(TVMFuncRegisterGlobal("test.add_one", (TVMFunctionHandle)add_one, 1));
  CHECK_OK(TVMFuncGetGlobal("test.add_one", &f));
  CHECK(f != NULL);
  TVMValue arg = {.v_int64 = 41}, ret;
  int code = kTVMArgInt, ret_code;
  CHECK_OK(TVMFuncCall(f, &arg, &code, 1, &ret, &ret_code));
  CHECK_EQ_INT(ret_code, kTVMArgInt);
  CHECK_EQ_INT(ret.v_int64, 42);
  code = kTVMStr;
  CHECK_FAILS_WITH(TVMFuncCall(f, &arg, &code, 1, &ret, &ret_code), "type code 11");
  CHECK_FAILS_WITH(TVMFuncCall(f, &arg, &code, 0, &ret, &ret_code), "takes 1 arguments");
}

UTEST(unknown_global_is_null_not_error) {
  TVMFunctionHandle f = (TVMFunctionHandle)1;
  CHECK_OK(TVMFuncGetGlobal("no.such.function", &f));
  CHECK(f == NULL);
}

UTEST(global_registry_full_is_reported) {
  static char names[UTVM_MAX_GLOBAL_FUNCS + 1][16]; /* registered names must outlive it */
  int rc = 0;
  for (int i = 0; i < UTVM_MAX_GLOBAL_FUNCS + 1 && rc == 0; i++) {
    snprintf(names[i], sizeof(names[i]), "test.f%d", i);
    rc = TVMFuncRegisterGlobal(names[i], (TVMFunctionHandle)add_one, 0);
  }
  CHECK_EQ_INT(rc, kTvmErrorFunctionRegistryFull);
  CHECK_LAST_ERROR_HAS("registry full");
}

UTEST(bogus_function_handles_are_rejected) {
  TVMValue ret;
  int ret_code;
  void* bogus[] = {NULL, (void*)1, (void*)0x80008000u, (void*)0x7fff8000u, (void*)0xFFFF8003u,
                   (void*)(uintptr_t)0x1234567880008000ull, &ret};
  for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
    CHECK_FAILS_WITH(TVMFuncCall(bogus[i], NULL, NULL, 0, &ret, &ret_code), "not a registered function");
  }
}

UTEST(modules_and_their_functions) {
  TVMModuleHandle mod;
  TVMFunctionHandle f;
  CHECK_OK(TVMModCreateFromCModule(&lib, &mod));
  CHECK(utvm_module_from_handle(mod) == &lib);
  CHECK_OK(TVMModGetFunction(mod, "echo_resource", 0, &f));
  /* utvm/registry.h's layout: the module handle above the tagged index (1). */
  CHECK((uintptr_t)f == (((uintptr_t)mod << 16) | 0x8001u));
  TVMValue ret;
  int ret_code;
  CHECK_OK(TVMFuncCall(f, NULL, NULL, 0, &ret, &ret_code));
  CHECK(ret.v_handle == (void*)&lib_registry); /* module functions get their registry */
  CHECK_FAILS_WITH(TVMModGetFunction(mod, "nope", 0, &f), "module has no function nope");
  CHECK_FAILS_WITH(TVMModGetFunction((TVMModuleHandle)0x8003, "add_one", 0, &f), "unregistered module");
  CHECK_FAILS_WITH(TVMModGetFunction((TVMModuleHandle)&lib, "add_one", 0, &f), "unregistered module");
  CHECK_OK(TVMModFree(mod));
  CHECK(utvm_module_from_handle(mod) == NULL);
  CHECK_FAILS_WITH(TVMModFree(mod), "not a live module");
}

static int add_two(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = args[0].v_int64 + 2}, kTVMArgInt);
  return 0;
}

static const TVMBackendPackedCFunc other_funcs[] = {add_two};
static const TVMFuncRegistry other_registry = {"\001\000add_one\000", other_funcs};
static const TVMModule other_lib = {&other_registry};

/* A model unloaded, another loaded into the same module slot: the handles the host kept of
 * the first must not reach the second's code (nor its module). */
UTEST(stale_handles_of_a_freed_module_do_not_reach_the_next_in_its_slot) {
  TVMModuleHandle first, second;
  TVMFunctionHandle stale, fresh;
  CHECK_OK(TVMModCreateFromCModule(&lib, &first));
  CHECK_OK(TVMModGetFunction(first, "add_one", 0, &stale));
  CHECK_OK(TVMModFree(first));
  CHECK_OK(TVMModCreateFromCModule(&other_lib, &second));
  CHECK(utvm_module_from_handle(second) == &other_lib);
  CHECK(utvm_module_from_handle(first) == NULL);
  TVMFunctionHandle f;
  CHECK_FAILS_WITH(TVMModGetFunction(first, "add_one", 0, &f), "unregistered module");
  TVMValue arg = {.v_int64 = 40}, ret;
  int code = kTVMArgInt, ret_code;
  CHECK_FAILS_WITH(TVMFuncCall(stale, &arg, &code, 1, &ret, &ret_code),
                   "not a registered function");
  CHECK_OK(TVMModGetFunction(second, "add_one", 0, &fresh));
  CHECK_OK(TVMFuncCall(fresh, &arg, &code, 1, &ret, &ret_code));
  CHECK_EQ_INT((int)ret.v_int64, 42);
  /* Released the way executors and unloads release slots: the same. */
  utvm_module_slot_release(second);
  CHECK_OK(TVMModCreateFromCModule(&lib, &first));
  CHECK_FAILS_WITH(TVMFuncCall(fresh, &arg, &code, 1, &ret, &ret_code),
                   "not a registered function");
  CHECK(utvm_module_from_handle(second) == NULL);
  CHECK_OK(TVMModFree(first));
}

UTEST(module_get_function_global_returns_none_for_missing) {
  TVMModuleHandle mod;
  TVMFunctionHandle mgf;
  CHECK_OK(TVMModCreateFromCModule(&lib, &mod));
  CHECK_OK(TVMFuncGetGlobal("tvm.rpc.server.ModuleGetFunction", &mgf));
  TVMValue args[3] = {{.v_handle = mod}, {.v_str = "add_one"}, {.v_int64 = 1}};
  int codes[3] = {kTVMModuleHandle, kTVMStr, kTVMArgBool};
  TVMValue ret;
  int ret_code;
  CHECK_OK(TVMFuncCall(mgf, args, codes, 3, &ret, &ret_code));
  CHECK_EQ_INT(ret_code, kTVMPackedFuncHandle);
  args[1].v_str = "missing";
  CHECK_OK(TVMFuncCall(mgf, args, codes, 3, &ret, &ret_code));
  CHECK_EQ_INT(ret_code, kTVMNullptr);
  args[0].v_handle = (void*)0x8002;
  CHECK_FAILS_WITH(TVMFuncCall(mgf, args, codes, 3, &ret, &ret_code), "unregistered module");
  codes[1] = kTVMArgInt;
  CHECK_FAILS_WITH(TVMFuncCall(mgf, args, codes, 3, &ret, &ret_code), "argument 1 has type code 0");
}

UTEST(system_lib_missing_is_explained) {
  /* This test program links no generated code, so there is no system library. */
  TVMFunctionHandle f;
  CHECK_OK(TVMFuncGetGlobal("runtime.SystemLib", &f));
  TVMValue ret;
  int ret_code;
  CHECK_FAILS_WITH(TVMFuncCall(f, NULL, NULL, 0, &ret, &ret_code), "no system library");
}

UTEST(closures_bind_resources_and_run_out) {
  TVMFunctionHandle h[UTVM_MAX_CLOSURES];
  for (int i = 0; i < UTVM_MAX_CLOSURES; i++) {
    CHECK_OK(utvm_closure_create(echo_resource, (void*)(uintptr_t)(i + 1), &h[i]));
  }
  TVMFunctionHandle extra;
  CHECK_FAILS_WITH(utvm_closure_create(echo_resource, NULL, &extra), "no free closure slot");
  TVMValue ret;
  int ret_code;
  CHECK_OK(TVMFuncCall(h[1], NULL, NULL, 0, &ret, &ret_code));
  CHECK(ret.v_handle == (void*)2);
  CHECK_OK(TVMFuncFree((TVMFunctionHandle)0x7FFF0000u)); /* untagged: names no closure */
  CHECK_OK(TVMFuncCall(h[0], NULL, NULL, 0, &ret, &ret_code));
  CHECK_OK(TVMFuncFree(h[1]));
  CHECK_FAILS_WITH(TVMFuncCall(h[1], NULL, NULL, 0, &ret, &ret_code), "not a registered function");
  CHECK_OK(utvm_closure_create(echo_resource, NULL, &extra));
}

UTEST(dtype_strings) {
  DLDataType t;
  char buf[UTVM_DTYPE_STR_SIZE];
  CHECK_OK(utvm_dtype_parse("float32", &t));
  CHECK(t.code == kDLFloat && t.bits == 32 && t.lanes == 1);
  CHECK_OK(utvm_dtype_parse("int8", &t));
  CHECK(strcmp(utvm_dtype_str(t, buf), "int8") == 0);
  CHECK_OK(utvm_dtype_parse("uint16x4", &t));
  CHECK(strcmp(utvm_dtype_str(t, buf), "uint16x4") == 0);
  CHECK_OK(utvm_dtype_parse("bool", &t));
  CHECK(strcmp(utvm_dtype_str(t, buf), "bool") == 0);
  CHECK_OK(utvm_dtype_parse("handle", &t));
  CHECK(t.code == kDLOpaqueHandle && t.bits == 64);
  CHECK_FAILS_WITH(utvm_dtype_parse("float", &t) || utvm_dtype_parse("complex64", &t), "unknown dtype");
  CHECK_FAILS_WITH(utvm_dtype_parse("int999", &t), "bad bit width");
  CHECK_FAILS_WITH(utvm_dtype_parse("int8x0", &t), "bad lanes");
  /* The bounds: 255 bits, 65535 lanes, digits after the x. */
  CHECK_FAILS_WITH(utvm_dtype_parse("int256", &t), "bad bit width in dtype \"int256\"");
  CHECK_FAILS_WITH(utvm_dtype_parse("int99999999999999999999", &t), "bad bit width");
  CHECK_FAILS_WITH(utvm_dtype_parse("int8x", &t), "bad lanes");
  CHECK_FAILS_WITH(utvm_dtype_parse("int8x65536", &t), "bad lanes in dtype \"int8x65536\"");
  CHECK_FAILS_WITH(utvm_dtype_parse("int8x99999999999999999999", &t), "bad lanes");
  CHECK_OK(utvm_dtype_parse("uint255x65535", &t));
  CHECK(t.code == kDLUInt && t.bits == 255 && t.lanes == 65535);
  CHECK_FAILS_WITH(utvm_dtype_parse("int8y", &t), "unknown dtype");
  /* Every name, its default width, and "handle" only as itself. */
  CHECK_OK(utvm_dtype_parse("bfloat16", &t));
  CHECK(t.code == kDLBfloat && t.bits == 16 && t.lanes == 1);
  CHECK(strcmp(utvm_dtype_str(t, buf), "bfloat16") == 0);
  /* Codes without a name, and the last named one. */
  CHECK(strcmp(utvm_dtype_str((DLDataType){6, 8, 1}, buf), "unknown8") == 0);
  CHECK(strcmp(utvm_dtype_str((DLDataType){255, 8, 2}, buf), "unknown8x2") == 0);
  CHECK(strcmp(utvm_dtype_str((DLDataType){kDLComplex, 64, 1}, buf), "complex64") == 0);
  CHECK_OK(utvm_dtype_parse("uint", &t));
  CHECK(t.code == kDLUInt && t.bits == 32 && t.lanes == 1);
  CHECK_OK(utvm_dtype_parse("", &t));
  CHECK(t.code == kDLOpaqueHandle && t.bits == 0 && t.lanes == 0);
  CHECK_FAILS_WITH(utvm_dtype_parse("handle32", &t), "unknown dtype");
  CHECK_FAILS_WITH(utvm_dtype_parse("in", &t), "unknown dtype");
  DLDataType a = {kDLInt, 8, 1}, b = {kDLInt, 8, 2};
  CHECK(utvm_dtype_equal(a, a) && !utvm_dtype_equal(a, b));
}

UTEST(ndarrays_live_until_released) {
  int64_t shape[2] = {2, 3};
  DLTensor* t;
  CHECK_OK(TVMArrayAlloc(shape, 2, kDLFloat, 32, 1, kDLCPU, 0, &t));
  CHECK_EQ_INT(utvm_dltensor_nbytes(t), 24);
  CHECK(utvm_data_range_valid(t->data, 24));
  for (int i = 0; i < 6; i++) CHECK(((float*)t->data)[i] == 0.0f);
  TVMNDArray* arr = utvm_ndarray_from_handle(t);
  CHECK(arr != NULL);
  utvm_ndarray_retain(arr);
  CHECK_OK(TVMArrayFree(t));
  CHECK(utvm_ndarray_from_handle(t) != NULL);
  CHECK_OK(TVMArrayFree(t));
  CHECK(utvm_ndarray_from_handle(t) == NULL);
  CHECK_FAILS_WITH(TVMArrayFree(t), "not a live NDArray");
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(ndarray_rejects_bad_shapes_and_devices) {
  int64_t shape[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  DLTensor* t;
  CHECK_FAILS_WITH(TVMArrayAlloc(shape, 8, kDLFloat, 32, 1, kDLCPU, 0, &t), "ndim 8");
  int64_t negative[1] = {-1};
  CHECK_FAILS_WITH(TVMArrayAlloc(negative, 1, kDLFloat, 32, 1, kDLCPU, 0, &t), "negative");
  int64_t huge[2] = {INT64_MAX, INT64_MAX};
  CHECK_FAILS_WITH(TVMArrayAlloc(huge, 2, kDLFloat, 32, 1, kDLCPU, 0, &t), "overflows");
  CHECK_FAILS_WITH(TVMArrayAlloc(shape, 1, kDLFloat, 32, 1, kDLCUDA, 0, &t), "only device cpu");
  /* Not cut to cpu (1) where DLDeviceType is one byte (ARM EABI, -fshort-enums). */
  CHECK_FAILS_WITH(TVMArrayAlloc(shape, 1, kDLFloat, 32, 1, kDLCPU + 256, 0, &t),
                   "only device cpu(0) is supported, got (257, 0)");
  CHECK_FAILS_WITH(TVMArrayAlloc(shape, 1, kDLFloat, 32, 1, kDLCPU, 1, &t),
                   "only device cpu(0) is supported, got (1, 1)");
  TVMNDArray* arr;
  CHECK_FAILS_WITH(utvm_ndarray_empty(1, shape, (DLDataType){kDLFloat, 32, 1},
                                      (DLDevice){kDLCUDA, 0}, &arr),
                   "only device cpu(0) is supported, got (2, 0)");
  int64_t big[1] = {(int64_t)UTEST_HEAP_BYTES};
  CHECK_FAILS_WITH(TVMArrayAlloc(big, 1, kDLFloat, 32, 1, kDLCPU, 0, &t), "out of memory");
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(ndarray_checks_each_part_of_the_dtype) {
  int64_t empty[1] = {0}; /* no bytes, so the largest dtype fits */
  DLTensor* t;
  /* Each part one past its range either way, and bits or lanes 0. */
  static const int bad[][3] = {{256, 8, 1},    {-1, 8, 1},      {kDLInt, 256, 1},
                               {kDLInt, 0, 1}, {kDLInt, -8, 1}, {kDLInt, 8, 65536},
                               {kDLInt, 8, 0}, {kDLInt, 8, -1}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_FAILS_WITH(TVMArrayAlloc(empty, 1, bad[i][0], bad[i][1], bad[i][2], kDLCPU, 0, &t),
                     "TVMArrayAlloc: invalid dtype");
  }
  CHECK_OK(TVMArrayAlloc(empty, 1, 255, 255, 65535, kDLCPU, 0, &t));
  CHECK(t->dtype.code == 255 && t->dtype.bits == 255 && t->dtype.lanes == 65535);
  CHECK_OK(TVMArrayFree(t));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(pinned_arrays_survive_over_freeing) {
  int64_t shape[1] = {4};
  TVMNDArray* arr;
  DLDevice cpu = {kDLCPU, 0};
  DLDataType f32 = {kDLFloat, 32, 1};
  CHECK_OK(utvm_ndarray_empty(1, shape, f32, cpu, &arr));
  arr->pinned = true;
  CHECK_FAILS_WITH(TVMArrayFree(&arr->dl_tensor), "freed more often");
  CHECK(utvm_ndarray_from_handle(arr) != NULL);
  CHECK_OK(utvm_ndarray_release(arr));
}

UTEST(copies_check_sizes) {
  int64_t s4[1] = {4}, s5[1] = {5};
  DLTensor *a, *b, *c;
  CHECK_OK(TVMArrayAlloc(s4, 1, kDLFloat, 32, 1, kDLCPU, 0, &a));
  CHECK_OK(TVMArrayAlloc(s4, 1, kDLInt, 32, 1, kDLCPU, 0, &b));
  CHECK_OK(TVMArrayAlloc(s5, 1, kDLFloat, 32, 1, kDLCPU, 0, &c));
  ((float*)a->data)[3] = 1.5f;
  CHECK_OK(TVMDeviceCopyDataFromTo(a, b, NULL));
  CHECK(((float*)b->data)[3] == 1.5f);
  CHECK_FAILS_WITH(TVMDeviceCopyDataFromTo(a, c, NULL), "copy of 16 bytes into 20 bytes");
  CHECK_FAILS_WITH(utvm_dltensor_check_same_layout(b, a, "x"), "dtype float32 given, int32 expected");
  CHECK_FAILS_WITH(utvm_dltensor_check_same_layout(c, a, "x"), "dimension 0 is 4, 5 expected");
  /* Strides: those of the shape are compact, others refused on either side. */
  int64_t unit[1] = {1}, two[1] = {2};
  DLTensor strided = *a;
  strided.strides = unit;
  CHECK_OK(TVMDeviceCopyDataFromTo(&strided, b, NULL));
  CHECK_OK(utvm_dltensor_check_same_layout(a, &strided, "x"));
  strided.strides = two;
  CHECK_FAILS_WITH(TVMDeviceCopyDataFromTo(&strided, b, NULL),
                   "copy: only compact tensors are supported");
  CHECK_FAILS_WITH(TVMDeviceCopyDataFromTo(b, &strided, NULL), "copy: only compact");
  CHECK_FAILS_WITH(utvm_dltensor_check_same_layout(a, &strided, "x"),
                   "x: only compact tensors are supported");
  CHECK_FAILS_WITH(utvm_dltensor_check_same_layout(&strided, a, "x"), "x: only compact");
}

UTEST(device_data_space) {
  DLDevice cpu = {kDLCPU, 0};
  DLDataType f32 = {kDLFloat, 32, 1};
  void* p;
  CHECK_OK(TVMDeviceAllocDataSpace(cpu, 100, 64, f32, &p));
  CHECK_EQ_INT(((uintptr_t)p) % 64, 0);
  CHECK(utvm_data_range_valid(p, 100));
  CHECK_FAILS_WITH(TVMDeviceAllocDataSpace(cpu, 100, 3, f32, &p), "power of two");
  CHECK_FAILS_WITH(TVMDeviceAllocDataSpace(cpu, 100, 0, f32, &p), "alignment 0 is not a power");
  CHECK_FAILS_WITH(TVMDeviceAllocDataSpace(cpu, 100, 8192, f32, &p), "power of two <= 4096");
  int64_t shape[2] = {3, 5};
  void* q;
  CHECK_OK(TVMDeviceAllocDataSpaceWithScope(cpu, 2, shape, f32, NULL, &q));
  CHECK(utvm_data_range_valid(q, 60));
  CHECK_OK(TVMDeviceFreeDataSpace(cpu, q));
  CHECK_OK(TVMDeviceFreeDataSpace(cpu, p));
  CHECK_FAILS_WITH(TVMDeviceFreeDataSpace(cpu, p), "not allocated");
}

/* 0 bytes of device memory is what an empty array's data is: a block of its own that holds
 * nothing (a copy of one byte into it is refused) and frees like any other. */
UTEST(device_data_space_of_zero_bytes_is_an_empty_block) {
  DLDevice cpu = {kDLCPU, 0};
  DLDataType u8 = {kDLUInt, 8, 1};
  void *p, *q;
  CHECK_OK(TVMDeviceAllocDataSpace(cpu, 0, 16, u8, &p));
  CHECK_OK(TVMDeviceAllocDataSpace(cpu, 0, 16, u8, &q));
  CHECK(p != NULL && q != NULL && p != q);
  CHECK(utvm_data_range_valid(p, 0));
  CHECK(!utvm_data_range_valid(p, 1));
  CHECK_EQ_INT(utvm_data_bytes_from(p), 0);
  int64_t none[1] = {0};
  TVMArrayHandle empty;
  CHECK_OK(TVMArrayAlloc(none, 1, kDLUInt, 8, 1, kDLCPU, 0, &empty));
  CHECK(utvm_data_range_valid(empty->data, 0) && !utvm_data_range_valid(empty->data, 1));
  CHECK_OK(TVMArrayFree(empty));
  CHECK_OK(TVMDeviceFreeDataSpace(cpu, q));
  CHECK_OK(TVMDeviceFreeDataSpace(cpu, p));
  CHECK_FAILS_WITH(TVMDeviceFreeDataSpace(cpu, p), "not allocated");
}

static int count_tasks(int task_id, TVMParallelGroupEnv* env, void* cdata) {
  *(int*)cdata += 1 + task_id * 100 + (env->num_task - 1) * 1000;
  return 0;
}

UTEST(backend_parallel_launch_runs_one_task) {
  int calls = 0;
  CHECK_OK(TVMBackendParallelLaunch(count_tasks, &calls, 4));
  CHECK_EQ_INT(calls, 1);
}

UTEST(backend_get_func_from_env_finds_globals) {
  TVMFunctionHandle f;
  CHECK_OK(TVMFuncRegisterGlobal("test.add_one", (TVMFunctionHandle)add_one, 0));
  CHECK_OK(TVMBackendGetFuncFromEnv(NULL, "test.add_one", &f));
  CHECK_FAILS_WITH(TVMBackendGetFuncFromEnv(NULL, "test.none", &f), "not linked");
}

UTEST_MAIN()
