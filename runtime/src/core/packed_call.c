/* Calling packed functions through handles. */
#include <utvm/error.h>
#include <utvm/registry.h>

int TVMFuncCall(TVMFunctionHandle func, TVMValue* arg_values, int* type_codes, int num_args,
                TVMValue* ret_val, int* ret_type_code) {
  TVMBackendPackedCFunc fn;
  void* resource_handle;
  if (!utvm_func_from_handle(func, &fn, &resource_handle)) {
    return utvm_fail(kTvmErrorFunctionIndexInvalid, "0x%lx is not a registered function",
                     (unsigned long)(uintptr_t)func);
  }
  /* Callees that return nothing leave the return as None. */
  ret_val->v_handle = NULL;
  *ret_type_code = kTVMNullptr;
  return fn(arg_values, type_codes, num_args, ret_val, ret_type_code, resource_handle);
}

int TVMCFuncSetReturn(TVMRetValueHandle ret, TVMValue* value, int* type_code, int num_ret) {
  if (num_ret != 1) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments, "a packed function returns one value");
  }
  /* As in TVM's CRT, `ret` points at {TVMValue* values; int* type_codes}. */
  struct {
    TVMValue* values;
    int* type_codes;
  }* r = ret;
  r->values[0] = value[0];
  r->type_codes[0] = type_code[0];
  return 0;
}

static bool type_matches(int given, int expected) {
  if (given == expected) return true;
  if (expected == kTVMArgInt) return given == kTVMArgBool;
  if (expected == kTVMDLTensorHandle) return given == kTVMNDArrayHandle;
  return false;
}

int utvm_check_args(const char* fn_name, const int* type_codes, int num_args,
                    const uint8_t* expected) {
  if (num_args != expected[0]) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments, "%s takes %d arguments, %d given", fn_name,
                     expected[0], num_args);
  }
  for (int i = 0; i < num_args; i++) {
    if (!type_matches(type_codes[i], expected[i + 1])) {
      return utvm_fail(kTvmErrorFunctionCallWrongArgType,
                       "%s: argument %d has type code %d, %d expected", fn_name, i, type_codes[i],
                       expected[i + 1]);
    }
  }
  return 0;
}
