/*
 * What the graph executor tests share: a hand-written operator library (a C module with
 * its own function registry), a small valid graph, and helpers to derive broken graphs
 * from it and to build parameter blobs.
 */
#ifndef UTVM_TESTS_GRAPH_SUPPORT_H_
#define UTVM_TESTS_GRAPH_SUPPORT_H_

#include <utvm/graph_executor.h>

#include "utest.h"

static const DLDevice cpu = {kDLCPU, 0};
static const DLDataType f32 = {kDLFloat, 32, 1};

/* ---- the operator library ---- */

/* What the last operator call looked like (calling-convention checks). */
static struct {
  int calls;
  int num_args;
  int codes[UTVM_MAX_ARGS];
  void* resource;
} last_call;

static void note_call(int* codes, int num_args, void* resource) {
  last_call.calls++;
  last_call.num_args = num_args;
  for (int i = 0; i < num_args && i < UTVM_MAX_ARGS; i++) last_call.codes[i] = codes[i];
  last_call.resource = resource;
}

static size_t floats_of(const DLTensor* t) { return utvm_dltensor_nbytes(t) / sizeof(float); }

/* out = a + b, element-wise over all of out (float32). */
static int op_add(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                  void* resource) {
  note_call(codes, num_args, resource);
  if (num_args != 3) return TVMAPIErrorf("add: 3 arguments expected, %d given", num_args);
  const DLTensor *a = args[0].v_handle, *b = args[1].v_handle, *out = args[2].v_handle;
  for (size_t i = 0; i < floats_of(out); i++) {
    ((float*)out->data)[i] = ((const float*)a->data)[i] + ((const float*)b->data)[i];
  }
  return 0;
}

/* out = 2 * a (float32). */
static int op_twice(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                    void* resource) {
  note_call(codes, num_args, resource);
  if (num_args != 2) return TVMAPIErrorf("twice: 2 arguments expected, %d given", num_args);
  const DLTensor *a = args[0].v_handle, *out = args[1].v_handle;
  for (size_t i = 0; i < floats_of(out); i++) ((float*)out->data)[i] = 2 * ((const float*)a->data)[i];
  return 0;
}

/* out = a, byte for byte (every byte of out is written: ASan checks the storage size). */
static int op_copy(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                   void* resource) {
  note_call(codes, num_args, resource);
  if (num_args != 2) return TVMAPIErrorf("copy: 2 arguments expected, %d given", num_args);
  const DLTensor *a = args[0].v_handle, *out = args[1].v_handle;
  memcpy(out->data, a->data, utvm_dltensor_nbytes(out));
  return 0;
}

/* Fails as generated code does: a message, then -1. */
static int op_fail(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                   void* resource) {
  note_call(codes, num_args, resource);
  TVMAPISetLastError("fail: broken on purpose");
  return -1;
}

/* Accepts any arguments and only records the call. */
static int op_record(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                     void* resource) {
  note_call(codes, num_args, resource);
  return 0;
}

static const TVMBackendPackedCFunc lib_funcs[] = {op_add, op_twice, op_copy, op_fail, op_record};
static const TVMFuncRegistry lib_registry = {
    "\005\000add\000twice\000copy\000fail\000record\000", lib_funcs};
static const TVMModule lib = {&lib_registry};

/* The library's module handle (registered again after each runtime initialisation). */
static TVMModuleHandle load_lib(void) {
  static TVMModuleHandle mod;
  static uint32_t generation;
  if (generation != utvm_runtime_generation()) {
    if (TVMModCreateFromCModule(&lib, &mod) != 0) {
      fprintf(stderr, "cannot register the test library: %s\n", TVMGetLastError());
      exit(3);
    }
    generation = utvm_runtime_generation();
  }
  return mod;
}

/* ---- graphs ---- */

/* x, w -> add -> twice -> output (all float32[4]); w plays the parameter. */
static const char* const kGraph =
    "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
    " {\"op\": \"null\", \"name\": \"w\", \"inputs\": []},"
    " {\"op\": \"tvm_op\", \"name\": \"n_add\", \"inputs\": [[0, 0, 0], [1, 0, 0]],"
    "  \"attrs\": {\"func_name\": \"add\", \"num_inputs\": \"2\", \"num_outputs\": \"1\","
    "             \"flatten_data\": \"0\", \"hash\": \"abc\", \"out_layout\": \"\"}},"
    " {\"op\": \"tvm_op\", \"name\": \"n_twice\", \"inputs\": [[2, 0, 0]],"
    "  \"attrs\": {\"func_name\": \"twice\", \"num_inputs\": \"1\", \"num_outputs\": \"1\"}}],"
    " \"arg_nodes\": [0, 1], \"heads\": [[3, 0, 0]],"
    " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\", \"float32\", \"float32\", \"float32\"]],"
    "  \"storage_id\": [\"list_int\", [0, 1, 2, 3]], \"device_index\": [\"list_int\", [1, 1, 1, 1]],"
    "  \"shape\": [\"list_shape\", [[4], [4], [4], [4]]]},"
    " \"node_row_ptr\": [0, 1, 2, 3, 4]}";

/* kGraph with the first occurrence of `from` replaced by `to` (a test bug if absent). */
static const char* graph_with(const char* from, const char* to) {
  static char buf[8192];
  const char* at = strstr(kGraph, from);
  if (at == NULL) {
    fprintf(stderr, "test bug: \"%s\" is not in kGraph\n", from);
    exit(3);
  }
  snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - kGraph), kGraph, to, at + strlen(from));
  return buf;
}

static int create_from(const char* json, utvm_graph_executor_t** exec) {
  return utvm_graph_executor_create(json, strlen(json), load_lib(), cpu, exec);
}

/* A float32 tensor of shape {n} over data. */
static DLTensor f32_tensor(float* data, int64_t* shape_1d) {
  DLTensor t = {data, cpu, 1, f32, shape_1d, NULL, 0};
  return t;
}

/* ---- parameter blobs ---- */

typedef struct {
  uint8_t bytes[1024];
  size_t len;
} blob_t;

static void blob_put(blob_t* b, const void* v, size_t n) {
  if (b->len + n > sizeof(b->bytes)) {
    fprintf(stderr, "test bug: blob too small\n");
    exit(3);
  }
  memcpy(b->bytes + b->len, v, n);
  b->len += n;
}

static void blob_u64(blob_t* b, uint64_t v) { blob_put(b, &v, 8); }

static void blob_header(blob_t* b, int num, const char* const* names) {
  b->len = 0;
  blob_u64(b, 0xF7E58D4F05049CB7ull);
  blob_u64(b, 0);
  blob_u64(b, (uint64_t)num);
  for (int i = 0; i < num; i++) {
    blob_u64(b, strlen(names[i]));
    blob_put(b, names[i], strlen(names[i]));
  }
  blob_u64(b, (uint64_t)num);
}

/* One array record: float32, shape {dim}, data values `first`, first + 1, ... */
static void blob_array(blob_t* b, int64_t dim, uint64_t data_bytes, float first) {
  DLDevice dev = {kDLCPU, 0};
  int32_t ndim = 1;
  blob_u64(b, 0xDD5E40F096B4A13Full);
  blob_u64(b, 0);
  blob_put(b, &dev, sizeof(dev));
  blob_put(b, &ndim, 4);
  blob_put(b, &f32, sizeof(f32));
  blob_put(b, &dim, 8);
  blob_u64(b, data_bytes);
  for (uint64_t i = 0; i < data_bytes / 4; i++) {
    float v = first + (float)i;
    blob_put(b, &v, 4);
  }
}

/* A blob with one float32[4] parameter `name` = {first, ..., first + 3}. */
static void blob_one(blob_t* b, const char* name, float first) {
  blob_header(b, 1, &name);
  blob_array(b, 4, 16, first);
}

#endif /* UTVM_TESTS_GRAPH_SUPPORT_H_ */
