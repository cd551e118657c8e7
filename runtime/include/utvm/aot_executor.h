/*
 * AOT executor for models built with the packed interface (host-driven use):
 * finds tvmgen_<name>_get_c_metadata in a module, owns one NDArray per input and
 * output, and calls tvmgen_<name>_run.
 *
 * Models built with interface-api=c need no executor at all: the application calls
 * tvmgen_<name>_run() itself (see utvm/standalone.h).
 */
#ifndef UTVM_AOT_EXECUTOR_H_
#define UTVM_AOT_EXECUTOR_H_

#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/metadata_types.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct utvm_aot_executor utvm_aot_executor_t;

int utvm_aot_executor_create(TVMModuleHandle module, DLDevice device, const char* module_name,
                             utvm_aot_executor_t** out);
/* Frees everything (NULL is fine), as utvm_graph_executor_release() does. */
int utvm_aot_executor_release(utvm_aot_executor_t* exec);

const struct TVMMetadata* utvm_aot_executor_metadata(const utvm_aot_executor_t* exec);
int utvm_aot_executor_num_inputs(const utvm_aot_executor_t* exec);
int utvm_aot_executor_num_outputs(const utvm_aot_executor_t* exec);
/* Index of the input called `name`, or a negative error code with a message. */
int utvm_aot_executor_input_index(const utvm_aot_executor_t* exec, const char* name);
/* The executor's own input / output arrays (NULL and an error message when out of range). */
TVMNDArray* utvm_aot_executor_input(utvm_aot_executor_t* exec, int index);
TVMNDArray* utvm_aot_executor_output(utvm_aot_executor_t* exec, int index);

/* Copies `src` into input `index`; dtype and shape must match. */
int utvm_aot_executor_set_input(utvm_aot_executor_t* exec, int index, const DLTensor* src);
int utvm_aot_executor_run(utvm_aot_executor_t* exec);
/* Copies output `index` into `dst`; dtype and shape must match. */
int utvm_aot_executor_get_output(utvm_aot_executor_t* exec, int index, DLTensor* dst);

/* The global function "tvm.aot_executor.create" (host-driven use), which the RPC server
 * registers from its table of globals: the packed function, and its name with the type
 * codes it expects (utvm_check_args') in one constant, the codes first (the name is then a
 * 2-byte add away from them). */
int utvm_aot_executor_module_create(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                                    int* ret_code, void* resource);
extern const struct utvm_aot_executor_global {
  uint8_t expected[4];
  char name[sizeof("tvm.aot_executor.create")];
} utvm_aot_executor_global;
/* Registers it. */
static inline int utvm_aot_executor_module_register(void) {
  return TVMFuncRegisterGlobal(utvm_aot_executor_global.name,
                               (TVMFunctionHandle)utvm_aot_executor_module_create, 1);
}
/* Releases the executor the host created, if any: its session ended, or code it runs is
 * about to be unloaded. */
void utvm_aot_executor_module_release(void);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_AOT_EXECUTOR_H_ */
