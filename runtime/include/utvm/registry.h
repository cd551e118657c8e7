/*
 * Modules, global functions and function handles.
 *
 * Handles are small integers, so that any value a host sends can be checked:
 *   module handle   = module_field | 0x8000
 *   function handle = ((module_field | 0x8000) << 16) | (function_index | 0x8000)
 * where a module's field is its slot's generation (7 bits, bumped each time the slot is
 * freed) above its slot index (8 bits): the handles of a freed module never designate the
 * module loaded into its slot next. Field UTVM_MAX_MODULES designates the global registry
 * and UTVM_CLOSURE_MODULE_INDEX functions bound at run time (closures).
 */
#ifndef UTVM_REGISTRY_H_
#define UTVM_REGISTRY_H_

#include <stdbool.h>
#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/module.h>
#include <utvm/config.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UTVM_GLOBAL_MODULE_INDEX UTVM_MAX_MODULES
#define UTVM_CLOSURE_MODULE_INDEX 0x7FFF

/* Registers a C module (system library, executor); *out is its handle. */
int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out);
/* The module a handle designates, or NULL. */
const TVMModule* utvm_module_from_handle(TVMModuleHandle handle);
/* Frees a module slot whatever module it holds (executors replacing themselves); the
 * system library stays. False when the handle designates nothing live. */
bool utvm_module_slot_release(TVMModuleHandle mod);
/* The handle of the system library (registered on first use). */
int utvm_system_lib(TVMModuleHandle* out);

/* Registers a global function (TVM's TVMFuncRegisterGlobal). `name` is kept, not copied:
 * it must outlive the registration (a string literal). */
int TVMFuncRegisterGlobal(const char* name, TVMFunctionHandle func, int override);

/* Binds fn to resource_handle as a function that TVMFuncCall can call; freed by TVMFuncFree. */
int utvm_closure_create(TVMBackendPackedCFunc fn, void* resource_handle, TVMFunctionHandle* out);

/* Decodes a function handle into what to call; false when it designates nothing live (then
 * *resource_handle is left as it was). */
bool utvm_func_from_handle(TVMFunctionHandle handle, TVMBackendPackedCFunc* fn,
                           void** resource_handle);

/* Checks a packed call's argument count and type codes. `expected` is the number of
 * arguments, then one type code per argument (bytes: tables of them stay small, and four
 * arguments travel in registers); kTVMArgInt also accepts kTVMArgBool, kTVMDLTensorHandle
 * also accepts kTVMNDArrayHandle. Sets a message naming `fn_name` on mismatch. */
int utvm_check_args(const char* fn_name, const int* type_codes, int num_args,
                    const uint8_t* expected);

/* Sets the return value of a packed function (one value). */
static inline void utvm_set_return(TVMValue* ret_value, int* ret_tcode, TVMValue v, int code) {
  ret_value[0] = v;
  ret_tcode[0] = code;
}

#ifdef __cplusplus
}
#endif
#endif /* UTVM_REGISTRY_H_ */
