/*
 * Operator signatures: what each generated operator of the system library was compiled
 * for (argument count; dtype and byte size of each tensor argument, in order). Generated
 * operators read their arguments unchecked, so every call a host can steer into them (RPC
 * CallFunc, the time evaluator, a graph JSON's nodes) is checked against this table first.
 *
 * utvm_add_model() generates the table (utvm_op_signatures) from the model's MLF: for graph
 * executor models from the graph JSON; AOT models have none (their operators are reached
 * only through the AOT executor). Without a table no signature is known.
 */
#ifndef UTVM_SIGNATURES_H_
#define UTVM_SIGNATURES_H_

#include <stdbool.h>
#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/c_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One tensor argument: its dtype and the bytes of its (compact) data. */
typedef struct {
  DLDataType dtype;
  uint32_t nbytes;
} utvm_arg_signature_t;

/* One operator, identified by its function (the system library's entry for it). */
typedef struct {
  TVMBackendPackedCFunc fn;
  uint32_t num_args;
  const utvm_arg_signature_t* args;
} utvm_op_signature_t;

typedef struct {
  uint32_t num_ops;
  const utvm_op_signature_t* ops;
} utvm_op_signatures_t;

/* The generated table (weak in the runtime: absent means no signature is known). */
extern const utvm_op_signatures_t utvm_op_signatures;

/* True when `resource` is the system library's registry, i.e. the function TVMFuncCall
 * would call with it is generated code. */
bool utvm_is_system_lib_function(const void* resource);

/* The signature of generated function `fn`, or NULL when none is known. */
const utvm_op_signature_t* utvm_op_signature_find(TVMBackendPackedCFunc fn);

/* Checks a call of `sig`'s operator: `num_args` arguments, each a tensor (type code
 * kTVMDLTensorHandle or kTVMNDArrayHandle) of the signature's dtype and byte size. Fails
 * with a message naming `what` (the caller's description of the call) and the argument. */
int utvm_op_signature_check(const utvm_op_signature_t* sig, const char* what,
                            const TVMValue* values, const int* codes, int num_args);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_SIGNATURES_H_ */
