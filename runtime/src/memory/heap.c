/*
 * The runtime heap: TVMPlatformMemoryAllocate/Free over the arena the application
 * gives to utvm_heap_init(). Weak, so a port may put them on an RTOS heap instead.
 */
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/memory.h>

#include "../core/runtime_state.h"

struct utvm_memory_state utvm_memory; /* runtime_state.h */

int utvm_heap_init(void* arena, size_t arena_bytes) {
  int rc = utvm_page_allocator_init(&utvm_memory.pages, arena, arena_bytes, UTVM_PAGE_SIZE_LOG2);
  utvm_memory.ready = rc == 0;
  utvm_memory.blocks = NULL; /* whatever was tracked lived in the old arena */
  return rc;
}

size_t utvm_heap_bytes_in_use(void) {
  return utvm_memory.ready ? utvm_page_allocator_bytes_in_use(&utvm_memory.pages) : 0;
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev,
                                                                void** out_ptr) {
  (void)dev;
  if (!utvm_memory.ready) {
    return (tvm_crt_error_t)utvm_fail(kTvmErrorPlatformNoMemory,
                                      "no heap: call utvm_heap_init() first");
  }
  return (tvm_crt_error_t)utvm_page_allocator_alloc(&utvm_memory.pages, num_bytes, out_ptr);
}

__attribute__((weak)) tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  (void)dev;
  if (!utvm_memory.ready) {
    return (tvm_crt_error_t)utvm_fail(kTvmErrorPlatformNoMemory, "no heap to free into");
  }
  return (tvm_crt_error_t)utvm_page_allocator_free(&utvm_memory.pages, ptr);
}
