/* Graph executor over a hand-written library: graphs, params, and every malformed case. */
#include <utvm/graph_executor.h>

#include "utest.h"

/* Operators: out = a + b (float32), out = a * 2. */
static int add(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  const DLTensor *a = args[0].v_handle, *b = args[1].v_handle, *out = args[2].v_handle;
  for (int64_t i = 0; i < a->shape[0]; i++) ((float*)out->data)[i] = ((float*)a->data)[i] + ((float*)b->data)[i];
  return 0;
}

static int twice(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  const DLTensor *a = args[0].v_handle, *out = args[1].v_handle;
  for (int64_t i = 0; i < a->shape[0]; i++) ((float*)out->data)[i] = 2 * ((float*)a->data)[i];
  return 0;
}

static const TVMBackendPackedCFunc funcs[] = {add, twice};
static const TVMFuncRegistry registry = {"\002\000add\000twice\000", funcs};
static const TVMModule lib = {&registry};
static const DLDevice cpu = {kDLCPU, 0};

/* x, w -> add -> twice -> output; w is a parameter. */
static const char* kGraph =
    "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
    " {\"op\": \"null\", \"name\": \"w\", \"inputs\": []},"
    " {\"op\": \"tvm_op\", \"name\": \"n_add\", \"inputs\": [[0, 0, 0], [1, 0, 0]],"
    "  \"attrs\": {\"func_name\": \"add\", \"num_inputs\": \"2\", \"num_outputs\": \"1\","
    "             \"flatten_data\": \"0\", \"hash\": \"abc\"}},"
    " {\"op\": \"tvm_op\", \"name\": \"n_twice\", \"inputs\": [[2, 0, 0]],"
    "  \"attrs\": {\"func_name\": \"twice\", \"num_inputs\": \"1\", \"num_outputs\": \"1\"}}],"
    " \"arg_nodes\": [0, 1], \"heads\": [[3, 0, 0]],"
    " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\", \"float32\", \"float32\", \"float32\"]],"
    "  \"storage_id\": [\"list_int\", [0, 1, 2, 3]], \"device_index\": [\"list_int\", [1, 1, 1, 1]],"
    "  \"shape\": [\"list_shape\", [[4], [4], [4], [4]]]},"
    " \"node_row_ptr\": [0, 1, 2, 3, 4]}";

static TVMModuleHandle load_lib(void) {
  static TVMModuleHandle mod;
  static uint32_t generation;
  if (generation != utvm_runtime_generation()) {
    TVMModCreateFromCModule(&lib, &mod);
    generation = utvm_runtime_generation();
  }
  return mod;
}

static int create_from(const char* json, utvm_graph_executor_t** exec) {
  return utvm_graph_executor_create(json, strlen(json), load_lib(), cpu, exec);
}

/* Replaces the first occurrence of `from` in kGraph by `to`. */
static const char* graph_with(const char* from, const char* to) {
  static char buf[4096];
  const char* at = strstr(kGraph, from);
  if (at == NULL) return "pattern not found";
  size_t head = (size_t)(at - kGraph);
  snprintf(buf, sizeof(buf), "%.*s%s%s", (int)head, kGraph, to, at + strlen(from));
  return buf;
}

static void set_float_input(utvm_graph_executor_t* exec, int index, const float* v) {
  int64_t shape[1] = {4};
  DLTensor t = {(void*)v, cpu, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  utvm_graph_executor_set_input(exec, index, &t);
}

UTEST(graph_runs_end_to_end) {
  utvm_graph_executor_t* exec;
  CHECK_OK(create_from(kGraph, &exec));
  CHECK_EQ_INT(utvm_graph_executor_num_inputs(exec), 2);
  CHECK_EQ_INT(utvm_graph_executor_num_outputs(exec), 1);
  CHECK_EQ_INT(utvm_graph_executor_input_index(exec, "w"), 1);
  CHECK(strcmp(utvm_graph_executor_input_name(exec, 0), "x") == 0);
  float x[4] = {1, 2, 3, 4}, w[4] = {10, 20, 30, 40}, out[4];
  set_float_input(exec, 0, x);
  set_float_input(exec, 1, w);
  CHECK_OK(utvm_graph_executor_run(exec));
  int64_t shape[1] = {4};
  DLTensor t = {out, cpu, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  CHECK_OK(utvm_graph_executor_get_output(exec, 0, &t));
  CHECK(out[0] == 22 && out[3] == 88);
  CHECK_OK(utvm_graph_executor_release(exec));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(graph_set_input_checks_dtype_shape_index) {
  utvm_graph_executor_t* exec;
  CHECK_OK(create_from(kGraph, &exec));
  float v[8] = {0};
  int64_t s4[1] = {4}, s8[1] = {8}, s22[2] = {2, 2};
  DLTensor i32 = {v, cpu, 1, {kDLInt, 32, 1}, s4, NULL, 0};
  DLTensor longer = {v, cpu, 1, {kDLFloat, 32, 1}, s8, NULL, 0};
  DLTensor two_d = {v, cpu, 2, {kDLFloat, 32, 1}, s22, NULL, 0};
  DLTensor ok = {v, cpu, 1, {kDLFloat, 32, 1}, s4, NULL, 0};
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 0, &i32), "x: dtype int32 given, float32 expected");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 1, &longer), "w: dimension 0 is 8, 4 expected");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 0, &two_d), "2 dimensions given, 1 expected");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 2, &ok), "input index 2 outside 0..1");
  CHECK_FAILS_WITH(utvm_graph_executor_get_output(exec, 1, &ok), "output index 1");
  CHECK(utvm_graph_executor_input_index(exec, "y") < 0);
  CHECK(strstr(TVMGetLastError(), "no input named y") != NULL);
  CHECK(utvm_graph_executor_input_name(exec, 5) == NULL);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(graph_naming_a_missing_function_fails_at_create) {
  utvm_graph_executor_t* exec;
  CHECK_FAILS_WITH(create_from(graph_with("\"func_name\": \"twice\"", "\"func_name\": \"thrice\""), &exec),
                   "graph node n_twice calls thrice, which the model library does not have");
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0); /* nothing left behind */
}

UTEST(malformed_graph_json_is_reported_with_position) {
  utvm_graph_executor_t* exec;
  static const struct {
    const char* json;
    const char* message;
  } cases[] = {
      {"", "'{' expected at byte 0"},
      {"{\"nodes\": [", "a value expected"},
      {"{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []}]", "',' or '}' expected"},
      {"{\"nodes\" [] }", "':' expected"},
      {"{\"nodes\": [{\"op\": \"nul", "closing '\"'"},
      {"{\"nodes\": [{\"op\": \"null\\q\"}]}", "a valid escape"},
      {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "'{' expected"},
      {"{\"x\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", "nesting deeper than 32"},
      {"{\"node_row_ptr\": [0, 99999999999999999999]}", "an integer that fits in 64 bits"},
      {"{\"node_row_ptr\": [0, 1.5]}", "an integer (not a fraction)"},
      {"{}", "0 nodes need a node_row_ptr of 1 items"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_FAILS_WITH(create_from(cases[i].json, &exec), cases[i].message);
  }
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(inconsistent_graphs_are_refused) {
  utvm_graph_executor_t* exec;
  static const struct {
    const char* from;
    const char* to;
    const char* message;
  } cases[] = {
      {"\"op\": \"tvm_op\", \"name\": \"n_add\"", "\"op\": \"conv\", \"name\": \"n_add\"", "op \"conv\" is neither"},
      {"[0, 1, 2, 3]]", "[0, 1, 2]]", "4 dltype, 3 storage_id"},
      {"[0, 1, 2, 3]]", "[0, 1, 2, 99]]", "storage_id of entry 3 is 99"},
      {"[[4], [4], [4], [4]]", "[[4], [4], [4], [1, 1, 1, 1, 1, 1, 4]]", "more than 6 dimensions"},
      {"[[4], [4], [4], [4]]", "[[4], [4], [4], [-4]]", "negative"},
      {"[[2, 0, 0]]", "[[7, 0, 0]]", "node 3 reads node 7"},
      {"[[2, 0, 0]]", "[[3, 0, 0]]", "node 3 reads node 3"},
      {"[[2, 0, 0]]", "[[2, 5, 0]]", "node 3 reads node 2"},
      {"\"arg_nodes\": [0, 1]", "\"arg_nodes\": [0, 2]", "arg_nodes[1] = 2 is not an input node"},
      {"\"heads\": [[3, 0, 0]]", "\"heads\": [[3, 1, 0]]", "heads[0] names node 3"},
      {"[0, 1, 2, 3, 4]", "[0, 1, 2, 3, 4, 5]", "4 nodes need a node_row_ptr of 5 items"},
      {"[0, 1, 2, 3, 4]", "[0, 1, 3, 3, 4]", "node_row_ptr disagrees"},
      {"\"float32\", \"float32\", \"float32\", \"float32\"", "\"float32\", \"float32\", \"float32\", \"cfloat\"", "unknown dtype \"cfloat\""},
      {"\"num_outputs\": \"1\",", "\"num_outputs\": \"x\",", "bad num_outputs"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_FAILS_WITH(create_from(graph_with(cases[i].from, cases[i].to), &exec), cases[i].message);
  }
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
}

UTEST(too_many_operator_arguments_are_refused) {
  char json[8192];
  char inputs[4096] = "";
  for (int i = 0; i < UTVM_MAX_ARGS; i++) strcat(inputs, i ? ", [0, 0, 0]" : "[0, 0, 0]");
  snprintf(json, sizeof(json),
           "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
           " {\"op\": \"tvm_op\", \"name\": \"wide\", \"inputs\": [%s],"
           "  \"attrs\": {\"func_name\": \"add\", \"num_outputs\": \"1\"}}],"
           " \"arg_nodes\": [0], \"heads\": [[1, 0, 0]],"
           " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\", \"float32\"]],"
           "  \"storage_id\": [\"list_int\", [0, 1]], \"shape\": [\"list_shape\", [[4], [4]]]},"
           " \"node_row_ptr\": [0, 1, 2]}", inputs);
  utvm_graph_executor_t* exec;
  CHECK_FAILS_WITH(create_from(json, &exec), "more arguments than UTVM_MAX_ARGS");
}

/* ---- parameter blobs ---- */

static size_t put(uint8_t* buf, size_t at, const void* v, size_t n) {
  memcpy(buf + at, v, n);
  return at + n;
}

/* A blob with one float32[4] array named `name`, data 1..4. */
static size_t make_params(uint8_t* buf, const char* name, int64_t dim, uint64_t data_bytes) {
  uint64_t list_magic = 0xF7E58D4F05049CB7ull, array_magic = 0xDD5E40F096B4A13Full, zero = 0, one = 1;
  uint64_t name_len = strlen(name);
  DLDevice dev = {kDLCPU, 0};
  int32_t ndim = 1;
  DLDataType f32 = {kDLFloat, 32, 1};
  float data[4] = {1, 2, 3, 4};
  size_t at = 0;
  at = put(buf, at, &list_magic, 8);
  at = put(buf, at, &zero, 8);
  at = put(buf, at, &one, 8);
  at = put(buf, at, &name_len, 8);
  at = put(buf, at, name, name_len);
  at = put(buf, at, &one, 8);
  at = put(buf, at, &array_magic, 8);
  at = put(buf, at, &zero, 8);
  at = put(buf, at, &dev, 8);
  at = put(buf, at, &ndim, 4);
  at = put(buf, at, &f32, 4);
  at = put(buf, at, &dim, 8);
  at = put(buf, at, &data_bytes, 8);
  return put(buf, at, data, sizeof(data));
}

UTEST(params_load_into_inputs) {
  utvm_graph_executor_t* exec;
  CHECK_OK(create_from(kGraph, &exec));
  uint8_t blob[256];
  size_t n = make_params(blob, "w", 4, 16);
  CHECK_OK(utvm_graph_executor_load_params(exec, blob, n));
  float* w = utvm_graph_executor_input(exec, 1)->dl_tensor.data;
  CHECK(w[0] == 1 && w[3] == 4);
  /* Index 0 is allowed too (TVM aborts there). */
  n = make_params(blob, "x", 4, 16);
  CHECK_OK(utvm_graph_executor_load_params(exec, blob, n));
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(corrupt_params_are_refused) {
  utvm_graph_executor_t* exec;
  CHECK_OK(create_from(kGraph, &exec));
  uint8_t blob[512];
  size_t n = make_params(blob, "w", 4, 16);
  for (size_t cut = 0; cut < n; cut += 7) {
    CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, blob, cut), "params:");
  }
  n = make_params(blob, "nope", 4, 16);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, blob, n), "no input named nope");
  n = make_params(blob, "w", 4, 20);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, blob, n), "declares 20 data bytes");
  n = make_params(blob, "w", 3, 12);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, blob, n), "dimension 0 is 3, 4 expected");
  n = make_params(blob, "w", 4, 16);
  blob[0] ^= 1;
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, blob, n), "bad magic");
  char long_name[200];
  memset(long_name, 'a', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  n = make_params(blob, long_name, 4, 16);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, blob, n), "bytes long");
  CHECK_OK(utvm_graph_executor_release(exec));
}

/* ---- the packed module ---- */

static TVMModuleHandle create_module(const char* json) {
  TVMFunctionHandle create;
  TVMFuncGetGlobal("tvm.graph_executor.create", &create);
  TVMValue args[4] = {{.v_str = json}, {.v_handle = load_lib()}, {.v_int64 = 1}, {.v_int64 = 0}};
  int codes[4] = {kTVMStr, kTVMModuleHandle, kTVMArgInt, kTVMArgInt};
  TVMValue ret = {.v_handle = NULL};
  int ret_code;
  if (TVMFuncCall(create, args, codes, 4, &ret, &ret_code) != 0) return NULL;
  return ret.v_handle;
}

static TVMFunctionHandle fn(TVMModuleHandle mod, const char* name) {
  TVMFunctionHandle f = NULL;
  TVMModGetFunction(mod, name, 0, &f);
  return f;
}

UTEST(graph_module_drives_a_run_with_params) {
  CHECK_OK(utvm_graph_executor_module_register());
  TVMModuleHandle mod = create_module(kGraph);
  CHECK(mod != NULL);
  uint8_t blob[256];
  TVMByteArray bytes = {(const char*)blob, make_params(blob, "w", 4, 16)};
  TVMValue arg = {.v_handle = &bytes}, ret;
  int code = kTVMBytes, ret_code;
  CHECK_OK(TVMFuncCall(fn(mod, "load_params"), &arg, &code, 1, &ret, &ret_code));
  float x[4] = {1, 1, 1, 1};
  int64_t shape[1] = {4};
  DLTensor tx = {x, cpu, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  TVMValue set_args[2] = {{.v_str = "x"}, {.v_handle = &tx}};
  int set_codes[2] = {kTVMStr, kTVMDLTensorHandle};
  CHECK_OK(TVMFuncCall(fn(mod, "set_input"), set_args, set_codes, 2, &ret, &ret_code));
  CHECK_OK(TVMFuncCall(fn(mod, "run"), NULL, NULL, 0, &ret, &ret_code));
  arg.v_int64 = 0;
  code = kTVMArgInt;
  CHECK_OK(TVMFuncCall(fn(mod, "get_output"), &arg, &code, 1, &ret, &ret_code));
  CHECK_EQ_INT(ret_code, kTVMNDArrayHandle);
  float* out = ((DLTensor*)ret.v_handle)->data;
  CHECK(out[0] == 4 && out[3] == 10);
  CHECK_OK(TVMArrayFree(ret.v_handle));
  CHECK_OK(TVMFuncCall(fn(mod, "get_input_name"), &arg, &code, 1, &ret, &ret_code));
  CHECK(strcmp(ret.v_str, "x") == 0);
  CHECK_OK(TVMFuncCall(fn(mod, "get_num_inputs"), NULL, NULL, 0, &ret, &ret_code));
  CHECK_EQ_INT(ret.v_int64, 2);
}

UTEST(graph_module_checks_arguments) {
  CHECK_OK(utvm_graph_executor_module_register());
  TVMModuleHandle mod = create_module(kGraph);
  TVMValue arg = {.v_int64 = 0}, ret;
  int code = kTVMArgInt, ret_code;
  CHECK_FAILS_WITH(TVMFuncCall(fn(mod, "load_params"), &arg, &code, 1, &ret, &ret_code), "12 (bytes) expected");
  CHECK_FAILS_WITH(TVMFuncCall(fn(mod, "share_params"), &arg, &code, 1, &ret, &ret_code), "not supported");
  CHECK_FAILS_WITH(TVMFuncCall(fn(mod, "get_input_info"), NULL, NULL, 0, &ret, &ret_code), "not supported");
  TVMValue set_args[2] = {{.v_int64 = 0}, {.v_int64 = 5}};
  int set_codes[2] = {kTVMArgInt, kTVMArgInt};
  CHECK_FAILS_WITH(TVMFuncCall(fn(mod, "set_input"), set_args, set_codes, 2, &ret, &ret_code), "must be a tensor");
  arg.v_int64 = 7;
  CHECK_FAILS_WITH(TVMFuncCall(fn(mod, "get_input"), &arg, &code, 1, &ret, &ret_code), "no input 7");
  TVMFunctionHandle create;
  TVMFuncGetGlobal("tvm.graph_executor.create", &create);
  TVMValue args[4] = {{.v_str = "{}"}, {.v_handle = load_lib()}, {.v_int64 = 1}, {.v_int64 = 0}};
  int codes[4] = {kTVMStr, kTVMModuleHandle, kTVMArgInt, kTVMArgInt};
  CHECK_FAILS_WITH(TVMFuncCall(create, args, codes, 4, &ret, &ret_code), "0 nodes");
  codes[1] = kTVMArgInt;
  CHECK_FAILS_WITH(TVMFuncCall(create, args, codes, 4, &ret, &ret_code), "argument 1 has type code 0");
  codes[1] = kTVMModuleHandle;
  args[2].v_int64 = 2;
  args[0].v_str = kGraph;
  CHECK_FAILS_WITH(TVMFuncCall(create, args, codes, 4, &ret, &ret_code), "only cpu(0)");
}

UTEST_MAIN()
