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

typedef struct {
  const char* name; /* not copied: registered names are string literals */
  TVMBackendPackedCFunc fn;
} global_func_t;

typedef struct {
  TVMBackendPackedCFunc fn;
  void* resource_handle;
} closure_t;

static const TVMModule* modules[UTVM_MAX_MODULES];
/* Bumped each time a slot is freed, so that the handles of the module it held (and of its
 * functions) no longer designate whatever module the slot holds next. */
static uint8_t generations[UTVM_MAX_MODULES];
static global_func_t globals[UTVM_MAX_GLOBAL_FUNCS];
static int num_globals;
static closure_t closures[UTVM_MAX_CLOSURES];
static int system_lib_index = -1;

void utvm_registry_reset(void) {
  memset(modules, 0, sizeof(modules));
  memset(generations, 0, sizeof(generations));
  memset(globals, 0, sizeof(globals));
  memset(closures, 0, sizeof(closures));
  num_globals = 0;
  system_lib_index = -1;
}

static TVMFunctionHandle encode_func(uint32_t module_index, uint32_t func_index) {
  uintptr_t h = ((uintptr_t)(module_index | HANDLE_TAG) << 16) | (func_index | HANDLE_TAG);
  return (TVMFunctionHandle)h;
}

/* The module field of the handles of the module in slot `index` now. */
static uint32_t module_field(uint32_t index) {
  return ((uint32_t)generations[index] << SLOT_BITS) | index;
}

/* The slot a module field designates, if it holds a module of that generation. */
static bool live_slot(uint32_t field, uint32_t* index) {
  *index = field & SLOT_MASK;
  return *index < UTVM_MAX_MODULES && modules[*index] != NULL &&
         (field >> SLOT_BITS) == generations[*index];
}

static bool decode_module(TVMModuleHandle handle, uint32_t* index) {
  uintptr_t h = (uintptr_t)handle;
  if ((h & ~(uintptr_t)0x7FFF) != HANDLE_TAG) return false;
  return live_slot((uint32_t)(h & 0x7FFF), index);
}

static void free_slot(uint32_t index) {
  modules[index] = NULL;
  generations[index] = (uint8_t)((generations[index] + 1u) & GENERATION_MASK);
}

const TVMModule* utvm_module_from_handle(TVMModuleHandle handle) {
  uint32_t index;
  return decode_module(handle, &index) ? modules[index] : NULL;
}

int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out) {
  for (uint32_t i = 0; i < UTVM_MAX_MODULES; i++) {
    if (modules[i] == NULL) {
      modules[i] = mod;
      *out = (TVMModuleHandle)(uintptr_t)(module_field(i) | HANDLE_TAG);
      return 0;
    }
  }
  return utvm_fail(kTvmErrorFunctionRegistryFull, "no free module slot (UTVM_MAX_MODULES)");
}

int TVMModFree(TVMModuleHandle mod) {
  uint32_t index;
  if (!decode_module(mod, &index)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "TVMModFree: 0x%lx is not a live module",
                     (unsigned long)(uintptr_t)mod);
  }
  /* The system library lives for the whole boot; freeing it is a no-op, as in TVM. */
  if ((int)index != system_lib_index) free_slot(index);
  return 0;
}

/* Releases a module slot whatever it holds (executors replacing themselves). */
void utvm_module_slot_release(TVMModuleHandle mod) {
  uint32_t index;
  if (decode_module(mod, &index) && (int)index != system_lib_index) free_slot(index);
}

extern const TVMModule* TVMSystemLibEntryPoint(void) __attribute__((weak));

int utvm_system_lib(TVMModuleHandle* out) {
  if (system_lib_index >= 0) {
    *out = (TVMModuleHandle)(uintptr_t)(module_field((uint32_t)system_lib_index) | HANDLE_TAG);
    return 0;
  }
  if (TVMSystemLibEntryPoint == NULL) {
    return utvm_fail(kTvmErrorFunctionNameNotFound,
                     "no system library linked: build with system-lib=1");
  }
  int rc = TVMModCreateFromCModule(TVMSystemLibEntryPoint(), out);
  if (rc == 0) system_lib_index = (int)((uintptr_t)*out & SLOT_MASK);
  return rc;
}

int TVMModGetFunction(TVMModuleHandle mod, const char* func_name, int query_imports,
                      TVMFunctionHandle* out) {
  (void)query_imports; /* C modules have no imports */
  uint32_t index;
  if (!decode_module(mod, &index)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "unregistered module: handle 0x%lx",
                     (unsigned long)(uintptr_t)mod);
  }
  tvm_function_index_t fi;
  if (TVMFuncRegistry_Lookup(modules[index]->registry, func_name, &fi) != kTvmErrorNoError) {
    *out = NULL;
    return utvm_fail(kTvmErrorFunctionNameNotFound, "module has no function %s", func_name);
  }
  *out = encode_func(module_field(index), fi);
  return 0;
}

int TVMFuncRegisterGlobal(const char* name, TVMFunctionHandle func, int override) {
  for (int i = 0; i < num_globals; i++) {
    if (strcmp(globals[i].name, name) == 0) {
      if (!override) {
        return utvm_fail(kTvmErrorFunctionAlreadyDefined, "global function %s already exists",
                         name);
      }
      globals[i].fn = (TVMBackendPackedCFunc)func;
      return 0;
    }
  }
  if (num_globals == UTVM_MAX_GLOBAL_FUNCS) {
    return utvm_fail(kTvmErrorFunctionRegistryFull,
                     "global registry full (UTVM_MAX_GLOBAL_FUNCS): %s", name);
  }
  globals[num_globals].name = name;
  globals[num_globals].fn = (TVMBackendPackedCFunc)func;
  num_globals++;
  return 0;
}

int TVMFuncGetGlobal(const char* name, TVMFunctionHandle* out) {
  for (int i = 0; i < num_globals; i++) {
    if (strcmp(globals[i].name, name) == 0) {
      *out = encode_func(UTVM_GLOBAL_MODULE_INDEX, (uint32_t)i);
      return 0;
    }
  }
  /* As in TVM: an unknown name is not an error, the handle is NULL. */
  *out = NULL;
  return 0;
}

int utvm_closure_create(TVMBackendPackedCFunc fn, void* resource_handle, TVMFunctionHandle* out) {
  for (uint32_t i = 0; i < UTVM_MAX_CLOSURES; i++) {
    if (closures[i].fn == NULL) {
      closures[i].fn = fn;
      closures[i].resource_handle = resource_handle;
      *out = encode_func(UTVM_CLOSURE_MODULE_INDEX, i);
      return 0;
    }
  }
  return utvm_fail(kTvmErrorFunctionRegistryFull,
                   "no free closure slot (UTVM_MAX_CLOSURES)");
}

bool utvm_func_from_handle(TVMFunctionHandle handle, TVMBackendPackedCFunc* fn,
                           void** resource_handle) {
  uintptr_t h = (uintptr_t)handle;
  if (h > 0xFFFFFFFFu || (h & HANDLE_TAG) == 0 || ((h >> 16) & HANDLE_TAG) == 0) return false;
  uint32_t module_index = (uint32_t)((h >> 16) & 0x7FFF);
  uint32_t func_index = (uint32_t)(h & 0x7FFF);
  if (module_index == UTVM_GLOBAL_MODULE_INDEX) {
    if (func_index >= (uint32_t)num_globals) return false;
    *fn = globals[func_index].fn;
    *resource_handle = NULL;
    return true;
  }
  if (module_index == UTVM_CLOSURE_MODULE_INDEX) {
    if (func_index >= UTVM_MAX_CLOSURES || closures[func_index].fn == NULL) return false;
    *fn = closures[func_index].fn;
    *resource_handle = closures[func_index].resource_handle;
    return true;
  }
  uint32_t slot;
  if (!live_slot(module_index, &slot)) return false;
  const TVMFuncRegistry* reg = modules[slot]->registry;
  if (TVMFuncRegistry_GetByIndex(reg, (tvm_function_index_t)func_index, fn) != 0) return false;
  /* Module functions get their registry as resource handle, as TVM's CRT passes it. */
  *resource_handle = (void*)reg;
  return true;
}

int TVMFuncFree(TVMFunctionHandle func) {
  uintptr_t h = (uintptr_t)func;
  bool tagged = h <= 0xFFFFFFFFu && (h & HANDLE_TAG) && ((h >> 16) & HANDLE_TAG);
  if (tagged && ((h >> 16) & 0x7FFF) == UTVM_CLOSURE_MODULE_INDEX &&
      (h & 0x7FFF) < UTVM_MAX_CLOSURES) {
    closures[h & 0x7FFF].fn = NULL;
  }
  /* Module and global functions are static: nothing to free. */
  return 0;
}
