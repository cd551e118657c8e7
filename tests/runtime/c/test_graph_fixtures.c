/*
 * Real TVM 0.18 graphs and parameter blobs (../shared/fixtures/tvm-0.18/<model>/graph*):
 * each graph parses, its inputs and outputs are what the model has, every operator gets
 * tensors that lie inside storage large enough for them, and the real parameter blob
 * lands byte for byte in the right inputs. The operators are stand-ins that check their
 * arguments (running the real models is the host runner's fixture test).
 *
 * The fixtures are found through $UTVM_FIXTURES, else at ../shared/fixtures from the
 * repository root (located from this file's path). Without them each case says it skipped.
 */
#define UTEST_HEAP_BYTES (4u << 20)
#include <stdint.h>

#include "test_graph_support.h"

typedef struct {
  const char* variant;
  int num_inputs; /* arg_nodes: the model's input and, without linked params, parameters */
  const char* input;
  const char* input_dtype;
  int input_ndim;
  int64_t input_shape[4];
  int num_ops;
  const char* output_dtype;
  int64_t output_shape[2];
} fixture_t;

/* ---- files ---- */

static void fixture_path(char* out, size_t size, const char* variant, const char* file) {
  const char* root = getenv("UTVM_FIXTURES");
  if (root != NULL) {
    snprintf(out, size, "%s/tvm-0.18/%s/%s", root, variant, file);
  } else {
    /* This file is <repo>/tests/runtime/c/<name>.c; the fixtures are <repo>/../shared/fixtures. */
    const char* slash = strrchr(__FILE__, '/');
    int dir_len = slash != NULL ? (int)(slash - __FILE__) : 1;
    snprintf(out, size, "%.*s/../../../../shared/fixtures/tvm-0.18/%s/%s",
             dir_len, slash != NULL ? __FILE__ : ".", variant, file);
  }
}

/* Reads a fixture file into buf; 0 bytes when it is absent. */
static size_t read_fixture(const char* variant, const char* file, uint8_t* buf, size_t size) {
  char path[1024];
  fixture_path(path, sizeof(path), variant, file);
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, size, f);
  bool whole = feof(f) || fgetc(f) == EOF;
  fclose(f);
  if (!whole) {
    fprintf(stderr, "test bug: %s is larger than %lu bytes\n", path, (unsigned long)size);
    exit(3);
  }
  return n;
}

/* ---- a library with every function the graph names ---- */

static char lib_names[8192];
static TVMBackendPackedCFunc lib_all_funcs[256];
static TVMFuncRegistry fixture_registry = {lib_names, lib_all_funcs};
static TVMModule fixture_lib = {&fixture_registry};
static int op_problems;

/* Stands in for every operator: checks each argument, then fills the output. */
static int op_check_args(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* resource) {
  note_call(codes, num_args, resource);
  for (int i = 0; i < num_args; i++) {
    const DLTensor* t = args[i].v_handle;
    size_t n = utvm_dltensor_nbytes(t);
    if (codes[i] != kTVMNDArrayHandle || t->ndim > UTVM_MAX_NDIM || t->strides != NULL ||
        t->byte_offset != 0 || !utvm_data_range_valid(t->data, n == 0 ? 1 : n) ||
        ((uintptr_t)t->data % UTVM_DATA_ALIGNMENT) != 0) {
      op_problems++;
    }
  }
  const DLTensor* out = args[num_args - 1].v_handle; /* these graphs' ops have one output */
  memset(out->data, 0x5A, utvm_dltensor_nbytes(out));
  return 0;
}

/* Registers a library whose functions are all the func_name values in the graph text. */
static TVMModuleHandle library_for(const char* json) {
  size_t len = 2;
  uint16_t count = 0;
  for (const char* at = json; (at = strstr(at, "\"func_name\"")) != NULL;) {
    const char* start = strchr(at + 11, '"') + 1;
    const char* end = strchr(start, '"');
    at = end;
    char name[UTVM_MAX_NAME_LEN];
    snprintf(name, sizeof(name), "%.*s", (int)(end - start), start);
    tvm_function_index_t index;
    lib_names[0] = (char)(count & 0xFF);
    lib_names[1] = (char)(count >> 8);
    lib_names[len] = '\0';
    if (strncmp(name, "__", 2) == 0 || TVMFuncRegistry_Lookup(&fixture_registry, name, &index) == 0) continue;
    memcpy(lib_names + len, name, strlen(name) + 1);
    len += strlen(name) + 1;
    lib_all_funcs[count++] = op_check_args;
  }
  lib_names[0] = (char)(count & 0xFF);
  lib_names[1] = (char)(count >> 8);
  lib_names[len] = '\0';
  TVMModuleHandle mod = NULL;
  if (TVMModCreateFromCModule(&fixture_lib, &mod) != 0) {
    fprintf(stderr, "cannot register the fixture library: %s\n", TVMGetLastError());
    exit(3);
  }
  return mod;
}

/* ---- parameter blobs, read independently of the executor ---- */

/* Checks that every array of the blob is now the data of the input of that name. */
static int params_in_place(utvm_graph_executor_t* exec, const uint8_t* blob, size_t len) {
  uint64_t count;
  memcpy(&count, blob + 16, 8);
  const uint8_t* name = blob + 24;
  const uint8_t* array = name;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t n;
    memcpy(&n, array, 8);
    array += 8 + n;
  }
  array += 8; /* the array count */
  int loaded = 0;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t n, nbytes;
    int32_t ndim;
    char key[UTVM_MAX_NAME_LEN];
    memcpy(&n, name, 8);
    snprintf(key, sizeof(key), "%.*s", (int)n, (const char*)name + 8);
    name += 8 + n;
    memcpy(&ndim, array + 24, 4);
    memcpy(&nbytes, array + 32 + 8 * (size_t)ndim, 8);
    const uint8_t* data = array + 40 + 8 * (size_t)ndim;
    int index = utvm_graph_executor_input_index(exec, key);
    if (index < 0) return -1;
    const DLTensor* input = &utvm_graph_executor_input(exec, index)->dl_tensor;
    if (utvm_dltensor_nbytes(input) != nbytes || memcmp(input->data, data, nbytes) != 0) return -1;
    array = data + nbytes;
    loaded++;
  }
  return (size_t)(array - blob) == len ? loaded : -1;
}

/* ---- the check ---- */

static uint8_t graph_text[64 * 1024];
static uint8_t params_blob[256 * 1024];

static void check_fixture(const fixture_t* f) {
  size_t len = read_fixture(f->variant, "executor-config/graph/default.graph", graph_text,
                            sizeof(graph_text) - 1);
  if (len == 0) {
    printf("skipped: fixture %s not found (../shared/fixtures or $UTVM_FIXTURES)\n", f->variant);
    return;
  }
  graph_text[len] = '\0';
  size_t heap_before = utvm_heap_bytes_in_use();
  TVMModuleHandle mod = library_for((const char*)graph_text);
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(utvm_graph_executor_create((const char*)graph_text, len, mod, cpu, &exec));
  if (exec == NULL) return;

  CHECK_EQ_INT(utvm_graph_executor_num_inputs(exec), f->num_inputs);
  CHECK_EQ_INT(utvm_graph_executor_num_outputs(exec), 1);
  int input = utvm_graph_executor_input_index(exec, f->input);
  CHECK(input >= 0);
  const DLTensor* in = &utvm_graph_executor_input(exec, input < 0 ? 0 : input)->dl_tensor;
  DLDataType dtype;
  CHECK_OK(utvm_dtype_parse(f->input_dtype, &dtype));
  CHECK(utvm_dtype_equal(in->dtype, dtype));
  CHECK_EQ_INT(in->ndim, f->input_ndim);
  for (int d = 0; d < f->input_ndim && d < in->ndim; d++) CHECK_EQ_INT(in->shape[d], f->input_shape[d]);
  const DLTensor* out = &utvm_graph_executor_output(exec, 0)->dl_tensor;
  CHECK_OK(utvm_dtype_parse(f->output_dtype, &dtype));
  CHECK(utvm_dtype_equal(out->dtype, dtype));
  CHECK_EQ_INT(out->ndim, 2);
  CHECK_EQ_INT(out->shape[0], f->output_shape[0]);
  CHECK_EQ_INT(out->shape[1], f->output_shape[1]);

  size_t params_len = read_fixture(f->variant, "parameters/default.params", params_blob,
                                   sizeof(params_blob));
  CHECK(params_len >= 32);
  CHECK_OK(utvm_graph_executor_load_params(exec, params_blob, params_len));
  CHECK_EQ_INT(params_in_place(exec, params_blob, params_len), f->num_inputs - 1);

  last_call.calls = 0;
  op_problems = 0;
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_EQ_INT(last_call.calls, f->num_ops);
  CHECK_EQ_INT(op_problems, 0);
  CHECK(((const uint8_t*)out->data)[0] == 0x5A);

  CHECK_OK(utvm_graph_executor_release(exec));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(fixture_ad01_int8_graph) {
  static const fixture_t f = {"ad01_int8/graph", 1, "input_1", "int8", 2, {1, 640}, 20, "int8", {1, 640}};
  check_fixture(&f);
}

UTEST(fixture_kws_ref_model_graph) {
  static const fixture_t f = {"kws_ref_model/graph", 1, "input_1", "int8", 4, {1, 49, 10, 1}, 14, "int8", {1, 12}};
  check_fixture(&f);
}

UTEST(fixture_kws_ref_model_graph_params) {
  static const fixture_t f = {"kws_ref_model/graph_params", 51, "input_1", "int8", 4, {1, 49, 10, 1}, 14, "int8", {1, 12}};
  check_fixture(&f);
}

UTEST(fixture_pretrained_resnet_quant_graph) {
  static const fixture_t f = {"pretrainedResnet_quant/graph", 1, "input_1_int8", "int8", 4, {1, 32, 32, 3}, 15, "int8", {1, 10}};
  check_fixture(&f);
}

UTEST(fixture_tiny_conv_f32_graph) {
  static const fixture_t f = {"tiny_conv_f32/graph", 1, "input", "float32", 4, {1, 3, 16, 16}, 6, "float32", {1, 10}};
  check_fixture(&f);
}

UTEST(fixture_tiny_conv_f32_graph_params) {
  static const fixture_t f = {"tiny_conv_f32/graph_params", 4, "input", "float32", 4, {1, 3, 16, 16}, 6, "float32", {1, 10}};
  check_fixture(&f);
}

UTEST(fixture_vww_96_int8_graph) {
  static const fixture_t f = {"vww_96_int8/graph", 1, "input_1_int8", "int8", 4, {1, 96, 96, 3}, 32, "int8", {1, 2}};
  check_fixture(&f);
}

UTEST_MAIN()
