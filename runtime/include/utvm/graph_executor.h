/*
 * Graph executor: runs the graph JSON of an MLF (executor-config/graph/<mod>.graph)
 * against the operator functions of a module (normally the system library).
 *
 * Memory: the graph's tables and the executor come from TVMPlatformMemoryAllocate, each
 * storage id of the graph is one tracked data allocation (utvm_data_alloc) as large as the
 * largest entry using it; all of it is returned by utvm_graph_executor_release().
 *
 * Inputs are the graph's arg_nodes, parameters included (as in TVM): input_index() finds
 * both, and load_params() fills parameters by name.
 *
 * Operators are called once per node, in order, with type code kTVMNDArrayHandle (13) for
 * every argument (inputs, then outputs), each pointing at a DLTensor, and with the resource
 * handle TVMFuncCall would pass. Nodes whose func_name is "__nop" do nothing; "__copy"
 * copies its input into its output.
 */
#ifndef UTVM_GRAPH_EXECUTOR_H_
#define UTVM_GRAPH_EXECUTOR_H_

#include <stddef.h>
#include <tvm/runtime/c_runtime_api.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct utvm_graph_executor utvm_graph_executor_t;

/* Parses `graph_json` (json_len bytes, or up to its first NUL; need not be NUL-terminated),
 * allocates storage and resolves every operator in `module`; device must be cpu(0).
 * Every failure returns an error code with a message naming the offending byte offset,
 * key, node or entry, sets *out to NULL and leaves nothing allocated. Unknown keys and
 * unknown graph attrs are skipped whatever their value. */
int utvm_graph_executor_create(const char* graph_json, size_t json_len, TVMModuleHandle module,
                               DLDevice device, utvm_graph_executor_t** out);
/* Frees everything (NULL is fine). Input/output arrays a host still holds (retained) stay
 * valid handles without data, which the host frees with TVMArrayFree. If releasing an
 * array fails, the rest is freed all the same and that error code is returned. */
int utvm_graph_executor_release(utvm_graph_executor_t* exec);

int utvm_graph_executor_num_inputs(const utvm_graph_executor_t* exec);
int utvm_graph_executor_num_outputs(const utvm_graph_executor_t* exec);
/* Index of the input called `name` among the graph's inputs (arg_nodes), or
 * -kTvmErrorExecutorModuleNoSuchInput with a message. */
int utvm_graph_executor_input_index(const utvm_graph_executor_t* exec, const char* name);
/* The name of input `index`, or NULL + message when out of range. */
const char* utvm_graph_executor_input_name(const utvm_graph_executor_t* exec, int index);
/* The executor's own input / output tensors as NDArray views (NULL + message when out of
 * range). They are pinned: a host gets a reference with utvm_ndarray_retain(). */
TVMNDArray* utvm_graph_executor_input(utvm_graph_executor_t* exec, int index);
TVMNDArray* utvm_graph_executor_output(utvm_graph_executor_t* exec, int index);

/* Copies `src` into input `index`; dtype and shape must match and src be compact. */
int utvm_graph_executor_set_input(utvm_graph_executor_t* exec, int index, const DLTensor* src);
/* Loads a parameter blob (parameters/<mod>.params format, crt-abi.md §8.3) into the inputs
 * it names (any input, index 0 included). The whole blob is checked before anything is
 * copied: bounds, magic numbers, counts, name lengths (< UTVM_MAX_NAME_LEN), ndim
 * (<= UTVM_MAX_NDIM), dtype and shape against the input, byte sizes, unknown names and
 * trailing bytes. An invalid blob changes nothing. */
int utvm_graph_executor_load_params(utvm_graph_executor_t* exec, const void* blob, size_t len);
/* Runs every operator once; stops at the first that fails (its code, and a message naming
 * the node). */
int utvm_graph_executor_run(utvm_graph_executor_t* exec);
/* Copies output `index` into `dst`; dtype and shape must match and dst be compact. */
int utvm_graph_executor_get_output(utvm_graph_executor_t* exec, int index, DLTensor* dst);

/* The global function "tvm.graph_executor.create" (host-driven use):
 * args [11 graph_json, 9 module, 0 device_type (1), 0 device_id (0)] -> module (9) with
 * get_input, get_input_index, get_input_info, get_num_inputs, get_num_outputs, get_output,
 * load_params, run, set_input, share_params, get_input_name. One executor at a time:
 * a new create releases the previous executor (after its arguments are checked) and
 * fails with the release's error code if that fails. The RPC server registers it from its
 * table of globals: the packed function, and its name with the type codes it expects
 * (utvm_check_args') in one constant, the codes first (the name is then a 2-byte add away
 * from them). */
int utvm_graph_executor_module_create(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                      int* ret_code, void* resource);
extern const struct utvm_graph_executor_global {
  uint8_t expected[5];
  char name[sizeof("tvm.graph_executor.create")];
} utvm_graph_executor_global;
/* Registers it. */
static inline int utvm_graph_executor_module_register(void) {
  return TVMFuncRegisterGlobal(utvm_graph_executor_global.name,
                               (TVMFunctionHandle)utvm_graph_executor_module_create, 1);
}
/* Releases the executor the host created, if any: its session ended, or code it runs is
 * about to be unloaded. */
void utvm_graph_executor_module_release(void);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_GRAPH_EXECUTOR_H_ */
