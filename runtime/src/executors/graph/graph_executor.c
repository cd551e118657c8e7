/*
 * Graph executor: one tracked data allocation per storage id (as large as the largest
 * entry sharing it), a DLTensor per entry (kept in the parsed graph's entry) viewing its
 * storage, and a packed call per operator node, resolved when the executor is created.
 */
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/graph_executor.h>
#include <utvm/memory.h>
#include <utvm/registry.h>
#include <utvm/signatures.h>

#include "../common/executor_io.h"
#include "graph_model.h"

struct utvm_graph_executor {
  utvm_executor_io_t io; /* views for get_input / get_output: inputs (arg_nodes), then outputs */
  graph_t graph; /* its entries' tensors hold the storage: see set_storage() */
};

#define UL(v) ((unsigned long)(v))

/* Sets the data of `first` and of the entries after it sharing its storage id; returns the
 * bytes of the largest of them, at least 1 (a storage gets an allocation of its own even
 * when its entries are empty). The entries' tensors hold the storage (no table of it): a
 * storage's tracked data allocation is made at its first entry (owns_data marks it, so the
 * release frees each storage once in one walk), and its entries' data is NULL until then.
 * Not inlined: its callers share it. */
__attribute__((noinline)) static size_t set_storage(const graph_t* g, graph_entry_t* first,
                                                    void* data) {
  uint32_t s = first->storage_id;
  size_t bytes = 1;
  graph_entry_t* end = g->entries + g->num_entries;
  for (graph_entry_t* entry = first; entry < end; entry++) {
    if (entry->storage_id != s) continue;
    entry->tensor.data = data;
    size_t n = utvm_dltensor_nbytes(&entry->tensor); /* cannot overflow: checked */
    if (n > bytes) bytes = n;
  }
  return bytes;
}

int utvm_graph_executor_release(utvm_graph_executor_t* exec) {
  if (exec == NULL) return 0;
  const graph_t* g = &exec->graph;
  graph_entry_t* end = g->entries + g->num_entries;
  for (graph_entry_t* entry = g->entries; entry < end; entry++) {
    if (entry->owns_data) utvm_data_free(entry->tensor.data);
  }
  void* tables = g->block; /* holds the io table: freed after the arrays (and the executor) */
  int rc = utvm_executor_io_free(&exec->io);
  graph_free(tables);
  return rc;
}

/* The name of io array i: an input's node name, or "output" (which only messages show: the
 * word the io messages already share). */
static const char* io_name(const utvm_executor_io_t* io, uint32_t i) {
  const graph_t* g = &((const utvm_graph_executor_t*)io)->graph;
  return i < g->num_arg_nodes ? g->names + g->nodes[g->arg_nodes[i]].name
                              : UTVM_EXECUTOR_WORD(UTVM_EXECUTOR_IO_KIND(1));
}

/* Node n's arguments (inputs, then outputs) as the operator receives them; returns how many. */
static uint32_t node_args(const utvm_graph_executor_t* exec, uint32_t n, TVMValue* args) {
  const graph_t* g = &exec->graph;
  const graph_node_t* node = &g->nodes[n];
  const graph_ref_t* inputs = &g->inputs[node->first_input];
  uint32_t i = 0, num_args = node->num_inputs + node->num_outputs; /* <= UTVM_MAX_ARGS: checked */
  for (; i < node->num_inputs; i++) {
    args[i].v_handle = &inputs[i].entry->tensor;
  }
  /* Its outputs are its entries, in order. */
  for (graph_entry_t* out = node->outputs; i < num_args; i++) {
    args[i].v_handle = &out++->tensor;
  }
  return num_args;
}

/* Every node that does something, in order, with its arguments: checked against its
 * operator's signature (before the executor is used), or run.
 *
 * Generated code (the system library's functions) trusts its arguments: each node calling it
 * must pass exactly the tensors the operator was compiled for, or a graph JSON declaring
 * smaller shapes would make it write past its storage. */
static int walk_nodes(const utvm_graph_executor_t* exec, bool run) {
  const graph_t* g = &exec->graph;
  TVMValue args[UTVM_MAX_ARGS];
  int codes[UTVM_MAX_ARGS];
  /* As TVM's CRT: NDArray handles; generated code reads them as DLTensor* (their first
   * member), which is what they point at. */
  for (int i = 0; i < UTVM_MAX_ARGS; i++) codes[i] = kTVMNDArrayHandle;
#if UTVM_ERROR_MESSAGES /* an operator that fails without a message must not show a stale one */
  if (run) TVMAPISetLastError("");
#endif
  for (uint32_t n = 0; n < g->num_nodes; n++) {
    const graph_node_t* node = &g->nodes[n];
    if (node->kind == GRAPH_NODE_INPUT || node->kind == GRAPH_NODE_NOP) continue;
    int num_args = (int)node_args(exec, n, args);
    int rc;
    if (!run) {
      if (node->kind != GRAPH_NODE_OP || !utvm_is_system_lib_function(node->resource)) continue;
      const utvm_op_signature_t* sig = utvm_op_signature_find(node->fn);
      if (sig == NULL) {
        return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                         "graph node %lu calls a generated function whose signature is unknown "
                         "(utvm_add_model() generates the signatures of a graph model)", UL(n));
      }
      char what[24]; /* only messages name the node */
#if UTVM_ERROR_MESSAGES
      snprintf(what, sizeof(what), "graph node %lu", UL(n));
#else
      what[0] = '\0';
#endif
      rc = utvm_op_signature_check(sig, what, args, codes, num_args);
      if (rc != 0) return rc;
    } else if (node->kind == GRAPH_NODE_COPY) {
      const DLTensor *from = args[0].v_handle, *to = args[1].v_handle;
      memmove(to->data, from->data, utvm_dltensor_nbytes(from)); /* sizes equal: checked */
    } else {
      TVMValue ret; /* an operator's return value is not read */
      int ret_code = kTVMNullptr;
      rc = node->fn(args, codes, num_args, &ret, &ret_code, node->resource);
      if (rc != 0) {
        return utvm_fail(rc, "graph node %lu failed with code %d: %s", UL(n), rc,
                         TVMGetLastError());
      }
    }
  }
  return 0;
}

static int allocate_storage(utvm_graph_executor_t* exec) {
  const graph_t* g = &exec->graph;
  int rc = walk_nodes(exec, false); /* before any storage is allocated for a graph refused */
  if (rc != 0) return rc;
  /* Each storage id used, allocated at its first entry as large as its largest entry. */
  graph_entry_t* end = g->entries + g->num_entries;
  for (graph_entry_t* entry = g->entries; entry < end; entry++) {
    if (entry->tensor.data != NULL) continue; /* its storage's: allocated */
    size_t bytes = set_storage(g, entry, NULL); /* their data stays NULL */
    void* data;
    rc = utvm_data_alloc(bytes, UTVM_DATA_ALIGNMENT, &data);
    if (rc != 0) {
      return utvm_fail(rc, "out of memory: storage %lu of the graph needs %lu bytes",
                       UL(entry->storage_id), UL(bytes));
    }
    memset(data, 0, bytes);
    entry->owns_data = 1;
    set_storage(g, entry, data);
  }
  return 0;
}

static const graph_entry_t* io_entry(const graph_t* g, uint32_t i) {
  return i < g->num_arg_nodes ? g->nodes[g->arg_nodes[i]].outputs
                              : g->heads[i - g->num_arg_nodes].entry;
}

static int make_io_views(utvm_graph_executor_t* exec) {
  const graph_t* g = &exec->graph;
  for (uint32_t i = 0; i < g->num_io; i++) {
    const DLTensor* t = &io_entry(g, i)->tensor;
    int rc = utvm_ndarray_view(t->data, t->ndim, t->shape, t->dtype, &exec->io.arrays[i]);
    if (rc != 0) return rc;
    exec->io.arrays[i]->pinned = true;
  }
  return 0;
}

int utvm_graph_executor_create(const char* graph_json, size_t json_len, TVMModuleHandle module,
                               DLDevice device, utvm_graph_executor_t** out) {
  *out = NULL;
  if (device.device_type != kDLCPU || device.device_id != 0) {
    return utvm_fail(kTvmErrorExecutorModuleBadContext,
                     "graph executor: device (%d, %d) given; only cpu(0) is supported",
                     (int)device.device_type, (int)device.device_id);
  }
  if (utvm_module_from_handle(module) == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "graph executor: 0x%lx is not a module",
                     UL((uintptr_t)module));
  }
  /* The executor first (one fixed size), so the graph is parsed straight into it. */
  void* mem; /* set when the allocation succeeds (only then is it read) */
  if (utvm_platform_alloc(sizeof(utvm_graph_executor_t), &mem) != 0) {
    return utvm_fail(kTvmErrorPlatformNoMemory,
                     "out of memory: the graph executor's tables need %lu bytes",
                     UL(sizeof(utvm_graph_executor_t)));
  }
  utvm_graph_executor_t* exec = mem;
  graph_t* g = &exec->graph;
  int rc = graph_parse(graph_json, json_len, module, g);
  if (rc != 0) {
    utvm_platform_free(exec);
    return rc;
  }
  /* Its io table is the graph's (graph_t.io). */
  exec->io = (utvm_executor_io_t){.arrays = (TVMNDArray**)g->io,
                                  .num_inputs = g->num_arg_nodes, .num_outputs = g->num_heads,
                                  .name = io_name, .noun = UTVM_EXECUTOR_WORD("graph")};
  if ((rc = allocate_storage(exec)) == 0) rc = make_io_views(exec);
  if (rc != 0) {
    utvm_graph_executor_release(exec);
    return rc;
  }
  *out = exec;
  return 0;
}

int utvm_graph_executor_num_inputs(const utvm_graph_executor_t* exec) {
  return (int)exec->io.num_inputs;
}

int utvm_graph_executor_num_outputs(const utvm_graph_executor_t* exec) {
  return (int)exec->io.num_outputs;
}

const char* utvm_graph_executor_input_name(const utvm_graph_executor_t* exec, int index) {
  if (utvm_executor_io_array(&exec->io, index, false) == NULL) return NULL;
  return io_name(&exec->io, (uint32_t)index);
}

int utvm_graph_executor_input_index(const utvm_graph_executor_t* exec, const char* name) {
  return utvm_executor_io_input_index(&exec->io, name);
}

TVMNDArray* utvm_graph_executor_input(utvm_graph_executor_t* exec, int index) {
  return utvm_executor_io_array(&exec->io, index, false);
}

TVMNDArray* utvm_graph_executor_output(utvm_graph_executor_t* exec, int index) {
  return utvm_executor_io_array(&exec->io, index, true);
}

int utvm_graph_executor_set_input(utvm_graph_executor_t* exec, int index, const DLTensor* src) {
  return utvm_executor_io_copy(&exec->io, index, false, (DLTensor*)src);
}

int utvm_graph_executor_get_output(utvm_graph_executor_t* exec, int index, DLTensor* dst) {
  return utvm_executor_io_copy(&exec->io, index, true, dst);
}

int utvm_graph_executor_run(utvm_graph_executor_t* exec) { return walk_nodes(exec, true); }
