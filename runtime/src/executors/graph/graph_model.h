/*
 * The parsed graph: what the executor keeps of a graph JSON (crt-abi.md §8.1). Every
 * index in it has been checked against the table it indexes, so the executor uses them
 * without further checks.
 */
#ifndef UTVM_GRAPH_MODEL_H_
#define UTVM_GRAPH_MODEL_H_

#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <utvm/config.h>
#include <utvm/ndarray.h> /* utvm_platform_free */

/* One output of one node: the tensor operators receive for it (its ndim, dtype, device and
 * shape set by graph_parse, its data by the executor once storage is allocated), its storage
 * and the shape the tensor points at. No separate table of tensors: one record an entry. */
typedef struct {
  DLTensor tensor;
  uint32_t storage_id;
  uint8_t owns_data; /* the executor made its storage's allocation here (its first entry) */
  int64_t shape[UTVM_MAX_NDIM];
} graph_entry_t;

/* Output `index` of node `node` as the JSON gives it (its entry id is row_ptr[node] + index);
 * once graph_parse has checked it, the entry itself. */
typedef union {
  struct {
    uint32_t node;
    uint32_t index;
  };
  graph_entry_t* entry;
} graph_ref_t;

typedef enum {
  GRAPH_NODE_INPUT, /* op "null": a graph input or a parameter */
  GRAPH_NODE_OP,    /* op "tvm_op" calling a function of the module */
  GRAPH_NODE_NOP,   /* func_name "__nop": nothing to do (its output aliases its input) */
  GRAPH_NODE_COPY,  /* func_name "__copy": output = input */
} graph_node_kind_t;

typedef struct {
  union { /* by kind: */
    TVMBackendPackedCFunc fn; /* GRAPH_NODE_OP: the operator, resolved at creation */
    uint32_t name;            /* GRAPH_NODE_INPUT: offset of its name in graph_t.names */
  };
  void* resource;           /* GRAPH_NODE_OP: the resource handle TVMFuncCall would give it */
  graph_entry_t* outputs;   /* its first output's entry, set once node_row_ptr is checked */
  uint32_t first_input;     /* into graph_t.inputs */
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint8_t kind;             /* graph_node_kind_t */
  uint8_t is_arg;           /* listed in arg_nodes (checked: at most once) */
} graph_node_t;

typedef struct {
  /* The items of each array below, in their order (num_row_ptr is num_nodes + 1, num_io
   * num_arg_nodes + num_heads): graph_parse sets them in the loop that lays the arrays out. */
  union {
    struct {
      uint32_t num_nodes, num_node_inputs, num_arg_nodes, num_heads, num_row_ptr, num_entries,
          names_bytes, num_io;
    };
    uint32_t counts[8];
  };
  graph_node_t* nodes;
  graph_ref_t* inputs;  /* the inputs of all nodes, node after node */
  uint32_t* arg_nodes;  /* the graph's inputs, in input-index order */
  graph_ref_t* heads;   /* the graph's outputs */
  uint32_t* row_ptr;    /* num_nodes + 1: first entry id of each node */
  graph_entry_t* entries;
  char* names;          /* NUL-terminated names of the input nodes */
  void** io;            /* num_arg_nodes + num_heads pointers, NULL: the executor's io table */
  void* block;          /* the one allocation behind all the arrays above */
} graph_t;

/* Parses and checks graph JSON (json_len bytes, or up to its first NUL) and resolves each
 * operator in `module`. On failure: an error code with a message, nothing allocated (and
 * *out not to be read nor freed). */
int graph_parse(const char* json, size_t json_len, TVMModuleHandle module, graph_t* out);
/* Frees the tables of a parsed graph: its block (graph_t.block, passed as itself so that
 * the executor can free it once the io arrays the block holds are released). */
static inline void graph_free(void* tables) { utvm_platform_free(tables); }

#endif /* UTVM_GRAPH_MODEL_H_ */
