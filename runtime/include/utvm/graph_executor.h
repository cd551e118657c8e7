/*
 * Graph executor: runs the graph JSON of an MLF (executor-config/graph/<mod>.graph)
 * against the operator functions of a module (normally the system library).
 */
#ifndef UTVM_GRAPH_EXECUTOR_H_
#define UTVM_GRAPH_EXECUTOR_H_

#include <stddef.h>
#include <tvm/runtime/c_runtime_api.h>
#include <utvm/ndarray.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct utvm_graph_executor utvm_graph_executor_t;

/* Parses `graph_json` (json_len bytes, need not be NUL-terminated), allocates storage and
 * resolves every operator in `module`. Every failure returns an error code with a message
 * naming the offending node/key, and leaves nothing allocated. */
int utvm_graph_executor_create(const char* graph_json, size_t json_len, TVMModuleHandle module,
                               DLDevice device, utvm_graph_executor_t** out);
int utvm_graph_executor_release(utvm_graph_executor_t* exec);

int utvm_graph_executor_num_inputs(const utvm_graph_executor_t* exec);
int utvm_graph_executor_num_outputs(const utvm_graph_executor_t* exec);
/* Index of the input called `name` among the graph's inputs (arg_nodes), or a negative error. */
int utvm_graph_executor_input_index(const utvm_graph_executor_t* exec, const char* name);
const char* utvm_graph_executor_input_name(const utvm_graph_executor_t* exec, int index);
/* The executor's own input / output tensors as NDArray views (NULL + message when out of range). */
TVMNDArray* utvm_graph_executor_input(utvm_graph_executor_t* exec, int index);
TVMNDArray* utvm_graph_executor_output(utvm_graph_executor_t* exec, int index);

/* Copies `src` into input `index`; dtype and shape must match. */
int utvm_graph_executor_set_input(utvm_graph_executor_t* exec, int index, const DLTensor* src);
/* Loads a parameter blob (parameters/<mod>.params format) into the named inputs. */
int utvm_graph_executor_load_params(utvm_graph_executor_t* exec, const void* blob, size_t len);
int utvm_graph_executor_run(utvm_graph_executor_t* exec);
/* Copies output `index` into `dst`; dtype and shape must match. */
int utvm_graph_executor_get_output(utvm_graph_executor_t* exec, int index, DLTensor* dst);

/* Registers the global function "tvm.graph_executor.create" (host-driven use). */
int utvm_graph_executor_module_register(void);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_GRAPH_EXECUTOR_H_ */
