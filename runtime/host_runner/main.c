/*
 * utvm_host_runner: runs one model, compiled in, on raw input files.
 *
 *   utvm_host_runner [--graph FILE] [--params FILE] [--repeat N]
 *                    --input [NAME=]FILE ... --output FILE ...
 *
 * Inputs are raw little-endian tensors, positional or by name; one --output per model
 * output receives its raw bytes. On success one JSON line goes to stdout:
 *   {"executor": ..., "outputs": [{"dtype": ..., "shape": [...]}], "seconds_per_inference": ...,
 *    "repeat": N}
 * On failure, "error: ..." on stderr and exit status 1 (2 for bad usage).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utvm/rpc_server.h> /* UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER: a board's bound on --repeat */
#include <utvm/runtime.h>

#if defined(UTVM_RUNNER_AOT_C)
#include <utvm/model.h>
UTVM_MODEL_DECLARE(model);
#define EXECUTOR_NAME "aot_c"
#elif defined(UTVM_RUNNER_AOT_PACKED)
#include <utvm/aot_executor.h>
#define EXECUTOR_NAME "aot_packed"
#else
#include <utvm/graph_executor.h>
#define EXECUTOR_NAME "graph"
#endif

#define MAX_FILES 64
#define HEAP_BYTES (256u << 20) /* untouched pages of .bss cost nothing on a host */

static _Alignas(64) unsigned char heap[HEAP_BYTES];

typedef struct {
  const char* name; /* NULL when positional */
  const char* path;
} input_arg_t;

typedef struct {
  const char* graph;
  const char* params;
  long repeat;
  input_arg_t inputs[MAX_FILES];
  int num_inputs;
  const char* outputs[MAX_FILES];
  int num_outputs;
} options_t;

static int fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, args);
  fputc('\n', stderr);
  va_end(args);
  return 1;
}

/* Reads a whole file into the runtime heap. */
static int read_file(const char* path, void** data, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return fail("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  DLDevice cpu = {kDLCPU, 0};
  if (n < 0 || TVMPlatformMemoryAllocate((size_t)n + 1, cpu, data) != 0) {
    fclose(f);
    return fail("cannot read %s: %s", path, TVMGetLastError());
  }
  size_t got = fread(*data, 1, (size_t)n, f);
  fclose(f);
  if (got != (size_t)n) return fail("short read of %s", path);
  ((char*)*data)[n] = '\0';
  *size = (size_t)n;
  return 0;
}

static int write_file(const char* path, const void* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return fail("cannot create %s", path);
  size_t put = fwrite(data, 1, size, f);
  int closed = fclose(f);
  if (put != size || closed != 0) return fail("cannot write %s", path);
  return 0;
}

/* Copies an input file into `dst`, which must be exactly as large as the file. */
static int load_input(const input_arg_t* in, const char* model_name, void* dst, size_t nbytes) {
  void* data;
  size_t size = 0;
  if (read_file(in->path, &data, &size) != 0) return 1;
  DLDevice cpu = {kDLCPU, 0};
  if (size != nbytes) {
    TVMPlatformMemoryFree(data, cpu);
    return fail("input %s from %s has %zu bytes; the model expects %zu", model_name, in->path,
                size, nbytes);
  }
  memcpy(dst, data, nbytes);
  TVMPlatformMemoryFree(data, cpu);
  return 0;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void print_output_json(int first, const char* dtype, const DLTensor* t) {
  printf("%s{\"dtype\": \"%s\", \"shape\": ", first ? "" : ", ", dtype);
  if (t == NULL) {
    printf("null}");
    return;
  }
  printf("[");
  for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
  printf("]}");
}

static int parse_args(int argc, char** argv, options_t* o) {
  memset(o, 0, sizeof(*o));
  o->repeat = 1;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      puts("usage: utvm_host_runner [--graph FILE] [--params FILE] [--repeat N]\n"
           "                        --input [NAME=]FILE ... --output FILE ...");
      exit(0);
    }
    if (v == NULL) return fail("%s needs a value (see --help)", a);
    if (strcmp(a, "--graph") == 0) {
      o->graph = v;
    } else if (strcmp(a, "--params") == 0) {
      o->params = v;
    } else if (strcmp(a, "--repeat") == 0) {
      char* end = NULL;
      errno = 0;
      o->repeat = strtol(v, &end, 10);
      /* The same bound as a board's time evaluator, so every board takes the same --repeat. */
      if (errno != 0 || end == v || *end != '\0' || o->repeat < 1 ||
          o->repeat > UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER) {
        return fail("--repeat must be a whole number from 1 to %d, got '%s'",
                    UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER, v);
      }
    } else if (strcmp(a, "--input") == 0 && o->num_inputs < MAX_FILES) {
      char* eq = strchr(argv[i + 1], '=');
      input_arg_t* in = &o->inputs[o->num_inputs++];
      in->path = v;
      if (eq != NULL) { /* NAME=FILE: split the argument in place */
        *eq = '\0';
        in->name = v;
        in->path = eq + 1;
      }
    } else if (strcmp(a, "--output") == 0 && o->num_outputs < MAX_FILES) {
      o->outputs[o->num_outputs++] = v;
    } else {
      return fail("unknown or repeated-too-often argument %s (see --help)", a);
    }
    i++;
  }
  return 0;
}

static int check_counts(const options_t* o, int num_inputs, int num_outputs) {
  if (o->num_inputs > num_inputs) {
    return fail("%d inputs given, the model has %d", o->num_inputs, num_inputs);
  }
  if (o->num_outputs != num_outputs) {
    return fail("%d --output files given, the model has %d outputs", o->num_outputs, num_outputs);
  }
  return 0;
}

#if defined(UTVM_RUNNER_AOT_C)
static int run_model(const options_t* o) {
  int ni = utvm_model_model_num_inputs, no = utvm_model_model_num_outputs;
  if (check_counts(o, ni, no) != 0) return 1;
  if (o->num_inputs != ni) return fail("%d inputs given, the model has %d", o->num_inputs, ni);
  void* in[MAX_FILES];
  void* out[MAX_FILES];
  int rc = 0;
  for (int i = 0; i < ni && rc == 0; i++) {
    const utvm_model_tensor_t* t = &utvm_model_model_inputs[i];
    int index = i;
    for (int k = 0; k < o->num_inputs; k++) {
      if (o->inputs[k].name != NULL && strcmp(o->inputs[k].name, t->name) == 0) index = k;
    }
    rc = utvm_data_alloc(t->nbytes, 64, &in[i]);
    if (rc == 0) rc = load_input(&o->inputs[index], t->name, in[i], t->nbytes);
  }
  for (int i = 0; i < no && rc == 0; i++) rc = utvm_data_alloc(utvm_model_model_outputs[i].nbytes, 64, &out[i]);
  if (rc != 0) return fail("%s", TVMGetLastError());
  double start = now_seconds();
  for (long r = 0; r < o->repeat; r++) {
    int32_t status = utvm_model_model_run(in, out);
    if (status != 0) return fail("tvmgen run returned %d: %s", (int)status, TVMGetLastError());
  }
  double per = (now_seconds() - start) / (double)o->repeat;
  printf("{\"executor\": \"" EXECUTOR_NAME "\", \"outputs\": [");
  for (int i = 0; i < no; i++) {
    if (write_file(o->outputs[i], out[i], utvm_model_model_outputs[i].nbytes) != 0) return 1;
    print_output_json(i == 0, utvm_model_model_outputs[i].dtype, NULL);
  }
  printf("], \"seconds_per_inference\": %.9g, \"repeat\": %ld}\n", per, o->repeat);
  return 0;
}
#else

#if defined(UTVM_RUNNER_AOT_PACKED)
typedef utvm_aot_executor_t executor_t;
#define EXEC(fn) utvm_aot_executor_##fn
static const char* input_name(executor_t* e, int i) {
  return utvm_aot_executor_metadata(e)->inputs[i].name;
}
static int create(const options_t* o, TVMModuleHandle lib, executor_t** e) {
  if (o->graph) return fail("--graph is for graph executor models; this one is AOT");
  DLDevice cpu = {kDLCPU, 0};
  return utvm_aot_executor_create(lib, cpu, UTVM_RUNNER_MODULE, e) == 0 ? 0 : fail("%s", TVMGetLastError());
}
#else
typedef utvm_graph_executor_t executor_t;
#define EXEC(fn) utvm_graph_executor_##fn
static const char* input_name(executor_t* e, int i) { return utvm_graph_executor_input_name(e, i); }
static int create(const options_t* o, TVMModuleHandle lib, executor_t** e) {
  if (o->graph == NULL) return fail("a graph executor model needs --graph <MLF>/executor-config/graph/<module>.graph");
  void* json;
  size_t size;
  if (read_file(o->graph, &json, &size) != 0) return 1;
  DLDevice cpu = {kDLCPU, 0};
  if (utvm_graph_executor_create(json, size, lib, cpu, e) != 0) {
    return fail("graph %s: %s", o->graph, TVMGetLastError());
  }
  TVMPlatformMemoryFree(json, cpu);
  if (o->params != NULL) {
    void* blob;
    if (read_file(o->params, &blob, &size) != 0) return 1;
    if (utvm_graph_executor_load_params(*e, blob, size) != 0) {
      return fail("params %s: %s", o->params, TVMGetLastError());
    }
    TVMPlatformMemoryFree(blob, cpu);
  }
  return 0;
}
#endif

static int run_model(const options_t* o) {
  TVMModuleHandle lib;
  if (utvm_system_lib(&lib) != 0) return fail("%s", TVMGetLastError());
  executor_t* exec;
  if (create(o, lib, &exec) != 0) return 1;
  int ni = EXEC(num_inputs)(exec), no = EXEC(num_outputs)(exec);
  if (check_counts(o, ni, no) != 0) return 1;
  for (int k = 0; k < o->num_inputs; k++) {
    int index = k;
    if (o->inputs[k].name != NULL) {
      index = EXEC(input_index)(exec, o->inputs[k].name);
      if (index < 0) return fail("%s", TVMGetLastError());
    }
    TVMNDArray* input = EXEC(input)(exec, index);
    if (input == NULL) return fail("%s", TVMGetLastError());
    if (load_input(&o->inputs[k], input_name(exec, index), input->dl_tensor.data,
                   utvm_dltensor_nbytes(&input->dl_tensor)) != 0) {
      return 1;
    }
  }
  double start = now_seconds();
  for (long r = 0; r < o->repeat; r++) {
    if (EXEC(run)(exec) != 0) return fail("run: %s", TVMGetLastError());
  }
  double per = (now_seconds() - start) / (double)o->repeat;
  printf("{\"executor\": \"" EXECUTOR_NAME "\", \"outputs\": [");
  for (int i = 0; i < no; i++) {
    TVMNDArray* out = EXEC(output)(exec, i);
    if (out == NULL) return fail("%s", TVMGetLastError());
    char dtype[UTVM_DTYPE_STR_SIZE];
    if (write_file(o->outputs[i], out->dl_tensor.data, utvm_dltensor_nbytes(&out->dl_tensor)) != 0) {
      return 1;
    }
    print_output_json(i == 0, utvm_dtype_str(out->dl_tensor.dtype, dtype), &out->dl_tensor);
  }
  printf("], \"seconds_per_inference\": %.9g, \"repeat\": %ld}\n", per, o->repeat);
  return EXEC(release)(exec) == 0 ? 0 : fail("release: %s", TVMGetLastError());
}
#endif

int main(int argc, char** argv) {
  options_t o;
  if (parse_args(argc, argv, &o) != 0) return 2;
  if (utvm_heap_init(heap, sizeof(heap)) != 0 || TVMInitializeRuntime() != 0) {
    return fail("runtime initialisation: %s", TVMGetLastError());
  }
  return run_model(&o);
}
