/* Lookup and checks of operator signatures (utvm/signatures.h). */
#include <tvm/runtime/crt/module.h>
#include <utvm/error.h>
#include <utvm/ndarray.h>
#include <utvm/signatures.h>

/* Both defined by the model's generated code, when there is one. */
extern const TVMModule* TVMSystemLibEntryPoint(void) __attribute__((weak));
extern const utvm_op_signatures_t utvm_op_signatures __attribute__((weak));

bool utvm_is_system_lib_function(const void* resource) {
  /* (A NULL resource, a global's, is never the registry of a module.) */
  return TVMSystemLibEntryPoint != NULL &&
         resource == (const void*)TVMSystemLibEntryPoint()->registry;
}

const utvm_op_signature_t* utvm_op_signature_find(TVMBackendPackedCFunc fn) {
  if (&utvm_op_signatures == NULL) return NULL;
  /* Counted, not walked to an end pointer: a model without operators has ops == NULL, and
   * NULL + 0 is undefined in C. */
  const utvm_op_signature_t* op = utvm_op_signatures.ops;
  for (uint32_t n = utvm_op_signatures.num_ops; n != 0; n--, op++) {
    if (op->fn == fn) return op;
  }
  return NULL;
}

int utvm_op_signature_check(const utvm_op_signature_t* sig, const char* what,
                            const TVMValue* values, const int* codes, int num_args) {
  /* Unsigned: a negative count is never an operator's (they have far fewer than 2^31). */
  if ((uint32_t)num_args != sig->num_args) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments,
                     "%s: the operator was compiled for %lu tensor arguments, %d given", what,
                     (unsigned long)sig->num_args, num_args);
  }
  const utvm_arg_signature_t* want = sig->args;
  for (int i = 0; i < num_args; i++, want++) {
    if (codes[i] != kTVMDLTensorHandle && codes[i] != kTVMNDArrayHandle) {
      return utvm_fail(kTvmErrorFunctionCallWrongArgType,
                       "%s: argument %d has type code %d, the operator takes tensors", what, i,
                       codes[i]);
    }
    const DLTensor* t = values[i].v_handle;
    size_t nbytes = utvm_dltensor_nbytes(t);
    if (!utvm_dtype_equal(t->dtype, want->dtype) || nbytes != want->nbytes) {
      char given[UTVM_DTYPE_STR_SIZE], compiled[UTVM_DTYPE_STR_SIZE];
      return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                       "%s: argument %d is %s of %lu bytes, the operator was compiled for %s of "
                       "%lu bytes", what, i, utvm_dtype_str(t->dtype, given),
                       (unsigned long)nbytes,
                       utvm_dtype_str(want->dtype, compiled),
                       (unsigned long)want->nbytes);
    }
  }
  return 0;
}
