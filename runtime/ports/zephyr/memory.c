/*
 * Runtime memory on Zephyr: a static arena under utvm's page allocator
 * (CONFIG_UTVM_MEMORY_ARENA), or a k_heap (CONFIG_UTVM_MEMORY_K_HEAP) that replaces the
 * runtime's weak TVMPlatformMemoryAllocate/Free. Optionally a separate workspace arena.
 */
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/zephyr.h>
#include <zephyr/kernel.h>

#if CONFIG_UTVM_WORKSPACE_SIZE > 0
static uint8_t workspace_arena[CONFIG_UTVM_WORKSPACE_SIZE] __aligned(UTVM_DATA_ALIGNMENT);
#endif

static int workspace_init(void) {
#if CONFIG_UTVM_WORKSPACE_SIZE > 0
  return utvm_workspace_init(workspace_arena, sizeof(workspace_arena));
#else
  return 0;
#endif
}

#if defined(CONFIG_UTVM_MEMORY_ARENA)

static uint8_t arena[CONFIG_UTVM_ARENA_SIZE] __aligned(1 << CONFIG_UTVM_PAGE_SIZE_LOG2);

int utvm_zephyr_memory_init(void) {
  int rc = utvm_heap_init(arena, sizeof(arena));
  if (rc != 0) return rc;
  return workspace_init();
}

size_t utvm_zephyr_memory_in_use(void) { return utvm_heap_bytes_in_use(); }

#else /* CONFIG_UTVM_MEMORY_K_HEAP */

K_HEAP_DEFINE(utvm_k_heap, CONFIG_UTVM_ARENA_SIZE);
static size_t bytes_in_use;

/* The k_heap is set up at boot; memory the runtime holds stays valid across repeated
 * utvm_zephyr_init() calls (the runtime tracks it), so only the workspace starts over. */
int utvm_zephyr_memory_init(void) { return workspace_init(); }

size_t utvm_zephyr_memory_in_use(void) { return bytes_in_use; }

/* Each block remembers its size just before the returned pointer, for bytes_in_use. */
#define BLOCK_HEADER UTVM_DATA_ALIGNMENT

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev, void** out_ptr) {
  ARG_UNUSED(dev);
  if (num_bytes > SIZE_MAX - BLOCK_HEADER) {
    return (tvm_crt_error_t)utvm_fail(kTvmErrorPlatformNoMemory, "allocation of %zu bytes",
                                      num_bytes);
  }
  uint8_t* block = k_heap_aligned_alloc(&utvm_k_heap, UTVM_DATA_ALIGNMENT,
                                        num_bytes + BLOCK_HEADER, K_NO_WAIT);
  if (block == NULL) {
    return (tvm_crt_error_t)utvm_fail(kTvmErrorPlatformNoMemory,
                                      "k_heap: no room for %zu bytes (%zu in use of "
                                      "CONFIG_UTVM_ARENA_SIZE=%d)",
                                      num_bytes, bytes_in_use, CONFIG_UTVM_ARENA_SIZE);
  }
  *(size_t*)block = num_bytes;
  bytes_in_use += num_bytes;
  *out_ptr = block + BLOCK_HEADER;
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformMemoryFree(void* ptr, DLDevice dev) {
  ARG_UNUSED(dev);
  if (ptr == NULL) return kTvmErrorNoError;
  uint8_t* block = (uint8_t*)ptr - BLOCK_HEADER;
  bytes_in_use -= *(size_t*)block;
  k_heap_free(&utvm_k_heap, block);
  return kTvmErrorNoError;
}

#endif
