/*
 * Graph executor: storage for every storage id, a DLTensor per graph entry viewing
 * that storage, and one packed call per operator node with its arguments prepared
 * once at creation.
 */
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/graph_executor.h>
#include <utvm/memory.h>
#include <utvm/registry.h>

#include "graph_model.h"

struct utvm_graph_executor {
  graph_t graph;
  void* graph_block;     /* the one allocation behind graph's arrays */
  uint32_t num_storage;
  void** storage;        /* tracked data, one per storage id */
  DLTensor* tensors;     /* one per entry */
  TVMValue* arg_values;  /* operator arguments, inputs then outputs, node after node */
  int* arg_codes;
  TVMNDArray** io;       /* views: inputs (arg_nodes) then outputs (heads) */
};

static const DLDevice kCpu = {kDLCPU, 0};

static uint32_t entry_id(const graph_t* g, graph_ref_t ref) { return g->row_ptr[ref.node] + ref.index; }

static void* alloc_zeroed(size_t n, int* rc) {
  void* p = NULL;
  *rc = TVMPlatformMemoryAllocate(n == 0 ? 1 : n, kCpu, &p);
  if (*rc == 0) memset(p, 0, n == 0 ? 1 : n);
  return p;
}

int utvm_graph_executor_release(utvm_graph_executor_t* exec) {
  if (exec == NULL) return 0;
  const graph_t* g = &exec->graph;
  if (exec->io != NULL) {
    for (uint32_t i = 0; i < g->num_arg_nodes + g->num_heads; i++) {
      if (exec->io[i] != NULL) utvm_ndarray_release(exec->io[i]);
    }
    TVMPlatformMemoryFree(exec->io, kCpu);
  }
  if (exec->storage != NULL) {
    for (uint32_t s = 0; s < exec->num_storage; s++) {
      if (exec->storage[s] != NULL) utvm_data_free(exec->storage[s]);
    }
    TVMPlatformMemoryFree(exec->storage, kCpu);
  }
  void* owned[] = {exec->tensors, exec->arg_values, exec->arg_codes, exec->graph_block};
  for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
    if (owned[i] != NULL) TVMPlatformMemoryFree(owned[i], kCpu);
  }
  return TVMPlatformMemoryFree(exec, kCpu);
}

/* One allocation per storage id, as large as the largest entry sharing it. */
static int allocate_storage(utvm_graph_executor_t* exec) {
  const graph_t* g = &exec->graph;
  int rc = 0;
  for (uint32_t e = 0; e < g->num_entries; e++) {
    if ((uint32_t)g->entries[e].storage_id + 1 > exec->num_storage) {
      exec->num_storage = (uint32_t)g->entries[e].storage_id + 1;
    }
  }
  size_t* sizes = alloc_zeroed(sizeof(size_t) * exec->num_storage, &rc);
  exec->storage = alloc_zeroed(sizeof(void*) * exec->num_storage, &rc);
  exec->tensors = alloc_zeroed(sizeof(DLTensor) * g->num_entries, &rc);
  if (rc != 0) {
    if (sizes != NULL) TVMPlatformMemoryFree(sizes, kCpu);
    return utvm_fail(rc, "out of memory creating the graph executor");
  }
  for (uint32_t e = 0; e < g->num_entries; e++) {
    const graph_entry_t* entry = &g->entries[e];
    DLTensor* t = &exec->tensors[e];
    *t = (DLTensor){NULL, kCpu, entry->ndim, entry->dtype, (int64_t*)entry->shape, NULL, 0};
    size_t n = utvm_dltensor_nbytes(t);
    if (n > sizes[entry->storage_id]) sizes[entry->storage_id] = n;
  }
  for (uint32_t s = 0; s < exec->num_storage && rc == 0; s++) {
    rc = utvm_data_alloc(sizes[s] == 0 ? 1 : sizes[s], UTVM_DATA_ALIGNMENT, &exec->storage[s]);
    if (rc == 0) memset(exec->storage[s], 0, sizes[s]);
  }
  TVMPlatformMemoryFree(sizes, kCpu);
  if (rc != 0) return utvm_fail(rc, "out of memory for the graph's tensors: %s", TVMGetLastError());
  for (uint32_t e = 0; e < g->num_entries; e++) {
    exec->tensors[e].data = exec->storage[g->entries[e].storage_id];
  }
  return 0;
}

static int prepare_calls(utvm_graph_executor_t* exec) {
  const graph_t* g = &exec->graph;
  size_t total = 0;
  int rc = 0;
  for (uint32_t n = 0; n < g->num_nodes; n++) {
    if (g->nodes[n].kind != GRAPH_OP_NULL) total += g->nodes[n].num_inputs + g->nodes[n].num_outputs;
  }
  exec->arg_values = alloc_zeroed(sizeof(TVMValue) * total, &rc);
  exec->arg_codes = alloc_zeroed(sizeof(int) * total, &rc);
  if (rc != 0) return utvm_fail(rc, "out of memory creating the graph executor");
  size_t k = 0;
  for (uint32_t n = 0; n < g->num_nodes; n++) {
    const graph_node_t* node = &g->nodes[n];
    if (node->kind == GRAPH_OP_NULL) continue;
    for (uint32_t i = 0; i < node->num_inputs + node->num_outputs; i++, k++) {
      uint32_t e = i < node->num_inputs ? entry_id(g, g->inputs[node->first_input + i])
                                        : g->row_ptr[n] + (i - node->num_inputs);
      exec->arg_values[k].v_handle = &exec->tensors[e];
      exec->arg_codes[k] = kTVMDLTensorHandle;
    }
  }
  return 0;
}

/* NDArray views of the inputs and outputs, for get_input / get_output. */
static int make_io_views(utvm_graph_executor_t* exec) {
  const graph_t* g = &exec->graph;
  int rc = 0;
  uint32_t n = g->num_arg_nodes + g->num_heads;
  exec->io = alloc_zeroed(sizeof(TVMNDArray*) * n, &rc);
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    uint32_t e = i < g->num_arg_nodes ? g->row_ptr[g->arg_nodes[i]]
                                      : entry_id(g, g->heads[i - g->num_arg_nodes]);
    DLTensor* t = &exec->tensors[e];
    rc = utvm_ndarray_view(t->data, t->ndim, t->shape, t->dtype, &exec->io[i]);
    if (rc == 0) exec->io[i]->pinned = true;
  }
  return rc;
}

int utvm_graph_executor_create(const char* graph_json, size_t json_len, TVMModuleHandle module,
                               DLDevice device, utvm_graph_executor_t** out) {
  if (device.device_type != kDLCPU || device.device_id != 0) {
    return utvm_fail(kTvmErrorExecutorModuleBadContext, "graph executor: only cpu(0) is supported");
  }
  if (utvm_module_from_handle(module) == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "graph executor: 0x%lx is not a module",
                     (unsigned long)(uintptr_t)module);
  }
  int rc;
  utvm_graph_executor_t* exec = alloc_zeroed(sizeof(*exec), &rc);
  if (exec == NULL) return utvm_fail(rc, "out of memory creating the graph executor");
  rc = graph_parse(graph_json, json_len, module, &exec->graph, &exec->graph_block);
  if (rc == 0) rc = allocate_storage(exec);
  if (rc == 0) rc = prepare_calls(exec);
  if (rc == 0) rc = make_io_views(exec);
  if (rc != 0) {
    utvm_graph_executor_release(exec);
    return rc;
  }
  *out = exec;
  return 0;
}

int utvm_graph_executor_num_inputs(const utvm_graph_executor_t* exec) {
  return (int)exec->graph.num_arg_nodes;
}

int utvm_graph_executor_num_outputs(const utvm_graph_executor_t* exec) {
  return (int)exec->graph.num_heads;
}

const char* utvm_graph_executor_input_name(const utvm_graph_executor_t* exec, int index) {
  if (index < 0 || index >= (int)exec->graph.num_arg_nodes) return NULL;
  return exec->graph.names + exec->graph.nodes[exec->graph.arg_nodes[index]].name_offset;
}

int utvm_graph_executor_input_index(const utvm_graph_executor_t* exec, const char* name) {
  for (int i = 0; i < (int)exec->graph.num_arg_nodes; i++) {
    if (strcmp(utvm_graph_executor_input_name(exec, i), name) == 0) return i;
  }
  return utvm_fail(-kTvmErrorExecutorModuleNoSuchInput, "the graph has no input named %s", name);
}

TVMNDArray* utvm_graph_executor_input(utvm_graph_executor_t* exec, int index) {
  if (index < 0 || index >= (int)exec->graph.num_arg_nodes) {
    utvm_fail(kTvmErrorExecutorModuleNoSuchInput, "input index %d outside 0..%d", index,
              (int)exec->graph.num_arg_nodes - 1);
    return NULL;
  }
  return exec->io[index];
}

TVMNDArray* utvm_graph_executor_output(utvm_graph_executor_t* exec, int index) {
  if (index < 0 || index >= (int)exec->graph.num_heads) {
    utvm_fail(kTvmErrorExecutorModuleNoSuchInput, "output index %d outside 0..%d", index,
              (int)exec->graph.num_heads - 1);
    return NULL;
  }
  return exec->io[exec->graph.num_arg_nodes + index];
}

int utvm_graph_executor_set_input(utvm_graph_executor_t* exec, int index, const DLTensor* src) {
  TVMNDArray* input = utvm_graph_executor_input(exec, index);
  if (input == NULL) return kTvmErrorExecutorModuleNoSuchInput;
  int rc = utvm_dltensor_check_same_layout(&input->dl_tensor, src,
                                           utvm_graph_executor_input_name(exec, index));
  return rc != 0 ? rc : TVMDeviceCopyDataFromTo((DLTensor*)src, &input->dl_tensor, NULL);
}

int utvm_graph_executor_get_output(utvm_graph_executor_t* exec, int index, DLTensor* dst) {
  TVMNDArray* output = utvm_graph_executor_output(exec, index);
  if (output == NULL) return kTvmErrorExecutorModuleNoSuchInput;
  int rc = utvm_dltensor_check_same_layout(dst, &output->dl_tensor, "output");
  return rc != 0 ? rc : TVMDeviceCopyDataFromTo(&output->dl_tensor, dst, NULL);
}

int utvm_graph_executor_run(utvm_graph_executor_t* exec) {
  const graph_t* g = &exec->graph;
  size_t k = 0;
  for (uint32_t n = 0; n < g->num_nodes; n++) {
    const graph_node_t* node = &g->nodes[n];
    if (node->kind == GRAPH_OP_NULL) continue;
    int num_args = (int)(node->num_inputs + node->num_outputs);
    TVMValue* args = &exec->arg_values[k];
    k += (size_t)num_args;
    if (node->kind == GRAPH_OP_NOP) continue;
    if (node->kind == GRAPH_OP_COPY) {
      if (num_args != 2) return utvm_fail(kTvmErrorFunctionCallNumArguments, "__copy of node %lu needs 1 input and 1 output", (unsigned long)n);
      int rc = TVMDeviceCopyDataFromTo(args[0].v_handle, args[1].v_handle, NULL);
      if (rc != 0) return rc;
      continue;
    }
    TVMValue ret;
    int ret_code;
    int rc = TVMFuncCall(node->func, args, &exec->arg_codes[k - (size_t)num_args], num_args, &ret, &ret_code);
    if (rc != 0) {
      return utvm_fail(rc, "graph node %lu failed with %d: %s", (unsigned long)n, rc, TVMGetLastError());
    }
  }
  return 0;
}
