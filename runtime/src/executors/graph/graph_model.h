/* The parsed graph: what the executor keeps of a graph JSON. */
#ifndef UTVM_GRAPH_MODEL_H_
#define UTVM_GRAPH_MODEL_H_

#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>
#include <utvm/config.h>

typedef struct {
  uint32_t node;
  uint32_t index;
} graph_ref_t;

typedef enum { GRAPH_OP_NULL, GRAPH_OP_TVM, GRAPH_OP_NOP, GRAPH_OP_COPY } graph_op_kind_t;

typedef struct {
  graph_op_kind_t kind;
  uint32_t first_input; /* into graph_t.inputs */
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint32_t name_offset; /* into graph_t.names (null nodes only, else UINT32_MAX) */
  TVMFunctionHandle func;
} graph_node_t;

typedef struct {
  int32_t storage_id;
  DLDataType dtype;
  int32_t ndim;
  int64_t shape[UTVM_MAX_NDIM];
} graph_entry_t;

typedef struct {
  uint32_t num_nodes, num_inputs_total, num_arg_nodes, num_heads, num_entries, names_bytes;
  graph_node_t* nodes;
  graph_ref_t* inputs;
  uint32_t* arg_nodes;
  graph_ref_t* heads;
  uint32_t* row_ptr; /* num_nodes + 1 */
  graph_entry_t* entries;
  char* names;
} graph_t;

/* Parses graph JSON in two passes (count, then fill) into one allocation, resolving each
 * operator in `module`. On failure nothing stays allocated. */
int graph_parse(const char* json, size_t len, TVMModuleHandle module, graph_t* out, void** block);

#endif /* UTVM_GRAPH_MODEL_H_ */
