/* Internal hooks between core and memory files: their state, reset at (re)initialisation. */
#ifndef UTVM_CORE_RUNTIME_STATE_H_
#define UTVM_CORE_RUNTIME_STATE_H_

#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/module.h>
#include <utvm/config.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>

typedef struct {
  const char* name; /* not copied: registered names are string literals */
  TVMBackendPackedCFunc fn;
} global_func_t;

typedef struct {
  TVMBackendPackedCFunc fn;
  void* resource_handle;
} closure_t;

/* The core's state: what each TVMInitializeRuntime() clears (one memset), the registry's
 * (registry.c) and the list of live arrays (ndarray.c), then the count of initialisations
 * (runtime_init.c). Each function reaches it through one address. */
struct utvm_core_state { /* small fields first: Thumb code reaches them with short instructions */
  TVMNDArray* live_arrays;
  int num_globals;
  /* The system library's handle, NULL before it is registered. Its slot is never freed, so
   * the handle stays what the slot's module field is. */
  TVMModuleHandle system_lib;
  /* Bumped each time a slot is freed, so that the handles of the module it held (and of
   * its functions) no longer designate whatever module the slot holds next. */
  uint8_t generations[UTVM_MAX_MODULES];
  const TVMModule* modules[UTVM_MAX_MODULES];
  closure_t closures[UTVM_MAX_CLOSURES];
  global_func_t globals[UTVM_MAX_GLOBAL_FUNCS];
  uint32_t generation; /* utvm_runtime_generation(); not cleared */
};
extern struct utvm_core_state utvm_core;

/* The memory's state, for the same reason: the heap (heap.c) and the list of tracked data
 * blocks in it (tracked_data.c), which utvm_heap_init() starts empty. */
struct utvm_memory_state {
  struct data_block* blocks;
  utvm_page_allocator_t pages;
  bool ready;
};
extern struct utvm_memory_state utvm_memory;

#endif /* UTVM_CORE_RUNTIME_STATE_H_ */
