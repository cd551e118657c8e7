/*
 * Tracked data allocations: tensor storage and device memory a host asked for.
 * Each block carries a small header in a list, so that a pointer (and a length)
 * coming from outside can be checked before anything reads or writes through it.
 */
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>

#include "../core/runtime_state.h"

/* At the start of what the heap returned (aligned for it whatever the data's alignment); the
 * data follows, aligned. */
typedef struct data_block {
  struct data_block* next;
  uint8_t* data;
  size_t size; /* usable bytes from the aligned data pointer */
  bool host_owned; /* allocated at a host's request (RPC DevAllocData) */
} data_block_t;

int utvm_data_alloc(size_t nbytes, size_t alignment, void** out) {
  /* The one alignment check (TVMDeviceAllocDataSpace's too): 0 wraps past 4096. */
  if (alignment - 1 >= 4096 || (alignment & (alignment - 1)) != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "alignment %lu is not a power of two <= 4096",
                     (unsigned long)alignment);
  }
  /* A size past SIZE_MAX asks for SIZE_MAX, which no heap has: one failure for both. */
  size_t total;
  if (__builtin_add_overflow(nbytes, sizeof(data_block_t) + alignment - 1, &total)) {
    total = SIZE_MAX;
  }
  data_block_t* b;
  int rc = utvm_platform_alloc(total, (void**)&b);
  if (rc != 0) {
    return utvm_fail(rc, "out of memory allocating %lu bytes of tensor data",
                     (unsigned long)nbytes);
  }
  uintptr_t data = ((uintptr_t)(b + 1) + alignment - 1) & ~(uintptr_t)(alignment - 1);
  b->data = (uint8_t*)data;
  b->size = nbytes;
  b->host_owned = false;
  b->next = utvm_memory.blocks;
  utvm_memory.blocks = b;
  *out = (void*)data;
  return 0;
}

/* The link that points at the block whose data starts at `data`, or NULL. */
__attribute__((noinline)) static data_block_t** link_of(const void* data) {
  for (data_block_t** p = &utvm_memory.blocks; *p != NULL; p = &(*p)->next) {
    if ((*p)->data == data) return p;
  }
  return NULL;
}

static int unlink_and_free(data_block_t** link) {
  data_block_t* b = *link;
  *link = b->next;
  return utvm_platform_free(b);
}

int utvm_data_free(void* data) {
  data_block_t** link = link_of(data);
  if (link == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%p is not allocated device memory", data);
  }
  return unlink_and_free(link);
}

void utvm_data_set_host_owned(void* data) {
  data_block_t** link = link_of(data);
  if (link != NULL) (*link)->host_owned = true;
}

int utvm_data_free_host_owned(void* data) {
  data_block_t** link = link_of(data);
  if (link == NULL || !(*link)->host_owned) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "0x%lx is not from DevAllocData",
                     (unsigned long)(uintptr_t)data);
  }
  return unlink_and_free(link);
}

void utvm_data_free_all_host_owned(void) {
  for (data_block_t** p = &utvm_memory.blocks; *p != NULL;) {
    if ((*p)->host_owned) {
      unlink_and_free(p);
    } else {
      p = &(*p)->next;
    }
  }
}

size_t utvm_data_room(const void* ptr) {
  for (data_block_t* b = utvm_memory.blocks; b != NULL; b = b->next) {
    uintptr_t offset = (uintptr_t)ptr - (uintptr_t)b->data; /* wraps when ptr is below */
    if (offset <= b->size) return b->size - offset + 1;
  }
  return 0;
}
