/*
 * Modules, global functions, closures and the handles that name them.
 * Handles are small integers (see utvm/registry.h) so any value that comes from a
 * host can be decoded and checked against what is really registered.
 */
#include <stdint.h>
#include <string.h>
#include <utvm/error.h>
#include <utvm/registry.h>
#include <utvm/runtime.h>

#include "runtime_state.h"

#define HANDLE_TAG 0x8000u
/* A module's field in handles: its slot's generation above its index (utvm/registry.h). */
#define SLOT_BITS 8u
#define SLOT_MASK 0xFFu
#define GENERATION_MASK 0x7Fu

_Static_assert(UTVM_MAX_MODULES < SLOT_MASK, "UTVM_MAX_MODULES must stay below 255");

struct utvm_core_state utvm_core; /* runtime_state.h: the registry is most of it */

/* The handles of the first global function and of the first closure: the others follow. */
#define FIRST_GLOBAL ((uintptr_t)encode_func(UTVM_GLOBAL_MODULE_INDEX, 0))
#define FIRST_CLOSURE ((uintptr_t)encode_func(UTVM_CLOSURE_MODULE_INDEX, 0))

static TVMFunctionHandle encode_func(uint32_t module_index, uint32_t func_index) {
  uintptr_t h = ((uintptr_t)(module_index | HANDLE_TAG) << 16) | (func_index | HANDLE_TAG);
  return (TVMFunctionHandle)h;
}

/* The handle of the module in slot `index` now: its field is the slot's generation above
 * the index. */
static TVMModuleHandle module_handle(uint32_t index) {
  uint32_t generation = utvm_core.generations[index];
  return (TVMModuleHandle)(uintptr_t)(((generation << SLOT_BITS) | index) | HANDLE_TAG);
}

/* The module in the slot the handle's field designates (its low byte), if the slot holds
 * one of that generation; else NULL. */
const TVMModule* utvm_module_from_handle(TVMModuleHandle handle) {
  uint32_t i = (uint32_t)(uintptr_t)handle & SLOT_MASK;
  /* The handle the slot has now, compared whole: the tag, the generation and nothing above. */
  if (i >= UTVM_MAX_MODULES || handle != module_handle(i)) return NULL;
  return utvm_core.modules[i]; /* NULL for an empty slot */
}

int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out) {
  uint32_t i = 0;
  for (const TVMModule** slot = utvm_core.modules; i < UTVM_MAX_MODULES; i++, slot++) {
    if (*slot == NULL) {
      *slot = mod;
      *out = module_handle(i);
      return 0;
    }
  }
  return utvm_fail(kTvmErrorFunctionRegistryFull, "no free module slot (UTVM_MAX_MODULES)");
}

/* The system library's slot is never freed: it lives for the whole boot (freeing it is a
 * no-op, as in TVM). */
bool utvm_module_slot_release(TVMModuleHandle mod) {
  if (utvm_module_from_handle(mod) == NULL) return false;
  uint32_t index = (uint32_t)(uintptr_t)mod & SLOT_MASK;
  if (mod != utvm_core.system_lib) {
    utvm_core.modules[index] = NULL;
    utvm_core.generations[index] = (uint8_t)((utvm_core.generations[index] + 1u) & GENERATION_MASK);
  }
  return true;
}

int TVMModFree(TVMModuleHandle mod) {
  if (!utvm_module_slot_release(mod)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "TVMModFree: 0x%lx is not a live module",
                     (unsigned long)(uintptr_t)mod);
  }
  return 0;
}

extern const TVMModule* TVMSystemLibEntryPoint(void) __attribute__((weak));

int utvm_system_lib(TVMModuleHandle* out) {
  if (utvm_core.system_lib != NULL) {
    *out = utvm_core.system_lib;
    return 0;
  }
  if (TVMSystemLibEntryPoint == NULL) {
    return utvm_fail(kTvmErrorFunctionNameNotFound,
                     "no system library linked: build with system-lib=1");
  }
  int rc = TVMModCreateFromCModule(TVMSystemLibEntryPoint(), out);
  if (rc == 0) utvm_core.system_lib = *out;
  return rc;
}

int TVMModGetFunction(TVMModuleHandle mod, const char* func_name, int query_imports,
                      TVMFunctionHandle* out) {
  (void)query_imports; /* C modules have no imports */
  const TVMModule* module = utvm_module_from_handle(mod);
  if (module == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "unregistered module: handle 0x%lx",
                     (unsigned long)(uintptr_t)mod);
  }
  tvm_function_index_t fi;
  if (TVMFuncRegistry_Lookup(module->registry, func_name, &fi) != kTvmErrorNoError) {
    *out = NULL;
    return utvm_fail(kTvmErrorFunctionNameNotFound, "module has no function %s", func_name);
  }
  /* The module handle is its tagged field: the encoder's tag leaves it as it is. */
  *out = encode_func((uint32_t)(uintptr_t)mod, fi);
  return 0;
}

/* The index of the global function called `name`, or num_globals. */
static int find_global(const char* name) {
  int i = 0;
  while (i < utvm_core.num_globals && strcmp(utvm_core.globals[i].name, name) != 0) i++;
  return i;
}

int TVMFuncRegisterGlobal(const char* name, TVMFunctionHandle func, int override) {
  int i = find_global(name);
  if (i == utvm_core.num_globals) { /* a new name */
    if (i == UTVM_MAX_GLOBAL_FUNCS) {
      return utvm_fail(kTvmErrorFunctionRegistryFull,
                       "global registry full (UTVM_MAX_GLOBAL_FUNCS): %s", name);
    }
    utvm_core.globals[i].name = name;
    utvm_core.num_globals++;
  } else if (!override) {
    return utvm_fail(kTvmErrorFunctionAlreadyDefined, "global function %s already exists", name);
  }
  utvm_core.globals[i].fn = (TVMBackendPackedCFunc)func;
  return 0;
}

int TVMFuncGetGlobal(const char* name, TVMFunctionHandle* out) {
  int i = find_global(name);
  /* As in TVM: an unknown name is not an error, the handle is NULL. */
  *out = i < utvm_core.num_globals ? (TVMFunctionHandle)(FIRST_GLOBAL + (uintptr_t)i) : NULL;
  return 0;
}

int utvm_closure_create(TVMBackendPackedCFunc fn, void* resource_handle, TVMFunctionHandle* out) {
  uint32_t i = 0;
  for (closure_t* c = utvm_core.closures; i < UTVM_MAX_CLOSURES; i++, c++) {
    if (c->fn == NULL) {
      *c = (closure_t){fn, resource_handle};
      *out = (TVMFunctionHandle)(FIRST_CLOSURE + i);
      return 0;
    }
  }
  return utvm_fail(kTvmErrorFunctionRegistryFull,
                   "no free closure slot (UTVM_MAX_CLOSURES)");
}

bool utvm_func_from_handle(TVMFunctionHandle handle, TVMBackendPackedCFunc* fn,
                           void** resource_handle) {
  uintptr_t h = (uintptr_t)handle;
  void* resource = NULL; /* what module functions and closures get; set on success only */
  /* Global functions and closures are numbered up from their first handle. */
  uintptr_t i = h - FIRST_GLOBAL;
  if (i < (uintptr_t)utvm_core.num_globals) {
    *fn = utvm_core.globals[i].fn;
  } else if ((i = h - FIRST_CLOSURE) < UTVM_MAX_CLOSURES) {
    if ((*fn = utvm_core.closures[i].fn) == NULL) return false;
    resource = utvm_core.closures[i].resource_handle;
  } else {
    /* A module function: both halves tagged, a live module's handle above its index. */
    const TVMModule* module;
    if (h > 0xFFFFFFFFu || (h & 0x8000u) == 0 ||
        (module = utvm_module_from_handle((TVMModuleHandle)(h >> 16))) == NULL) {
      return false;
    }
    resource = (void*)module->registry;
    /* Module functions get their registry as resource handle, as TVM's CRT passes it. */
    if (TVMFuncRegistry_GetByIndex(resource, (tvm_function_index_t)(h & 0x7FFF), fn) != 0) {
      return false;
    }
  }
  *resource_handle = resource;
  return true;
}

int TVMFuncFree(TVMFunctionHandle func) {
  uintptr_t i = (uintptr_t)func - FIRST_CLOSURE;
  if (i < UTVM_MAX_CLOSURES) utvm_core.closures[i].fn = NULL;
  /* Module and global functions are static: nothing to free. */
  return 0;
}
