/*
 * Stack allocator: bump allocation with strictly LIFO frees, which is how generated
 * code uses workspaces. Each block is preceded by a header that remembers the block
 * before it, so a free that is not of the newest block is detected and refused.
 */
#include <utvm/error.h>
#include <utvm/memory.h>

#define BLOCK_ALIGNMENT 16u

typedef struct {
  size_t previous; /* offset of the previous newest block, or SIZE_MAX */
  size_t unused;   /* keeps the header BLOCK_ALIGNMENT bytes on 64-bit hosts */
} block_header_t;

/* Header padded to the block alignment so blocks stay aligned. */
#define HEADER_BYTES ((sizeof(block_header_t) + BLOCK_ALIGNMENT - 1) & ~(size_t)(BLOCK_ALIGNMENT - 1))

static size_t round_up(size_t v) { return (v + BLOCK_ALIGNMENT - 1) & ~(size_t)(BLOCK_ALIGNMENT - 1); }

int utvm_stack_allocator_init(utvm_stack_allocator_t* sa, void* arena, size_t arena_bytes) {
  uintptr_t start = ((uintptr_t)arena + BLOCK_ALIGNMENT - 1) & ~(uintptr_t)(BLOCK_ALIGNMENT - 1);
  size_t slack = start - (uintptr_t)arena;
  if (arena_bytes <= slack + HEADER_BYTES) {
    return utvm_fail(kTvmErrorPlatformNoMemory, "workspace arena of %lu bytes is too small",
                     (unsigned long)arena_bytes);
  }
  sa->base = (uint8_t*)start;
  sa->size = (arena_bytes - slack) & ~(size_t)(BLOCK_ALIGNMENT - 1);
  sa->top = 0;
  sa->newest = SIZE_MAX;
  return 0;
}

int utvm_stack_allocator_alloc(utvm_stack_allocator_t* sa, size_t nbytes, void** out) {
  size_t need = HEADER_BYTES + round_up(nbytes == 0 ? 1 : nbytes);
  if (nbytes > sa->size || need > sa->size - sa->top) {
    return utvm_fail(kTvmErrorPlatformNoMemory,
                     "workspace of %lu bytes does not fit: %lu of %lu bytes in use",
                     (unsigned long)nbytes, (unsigned long)sa->top, (unsigned long)sa->size);
  }
  block_header_t* header = (block_header_t*)(sa->base + sa->top);
  header->previous = sa->newest;
  sa->newest = sa->top;
  sa->top += need;
  *out = (uint8_t*)header + HEADER_BYTES;
  return 0;
}

int utvm_stack_allocator_free(utvm_stack_allocator_t* sa, void* ptr) {
  if (sa->newest == SIZE_MAX || (uint8_t*)ptr != sa->base + sa->newest + HEADER_BYTES) {
    return utvm_fail(kTvmErrorPlatformStackAllocBadFree,
                     "workspace %p freed out of order (newest: %p)",
                     ptr, sa->newest == SIZE_MAX ? NULL : (void*)(sa->base + sa->newest + HEADER_BYTES));
  }
  const block_header_t* header = (const block_header_t*)(sa->base + sa->newest);
  sa->top = sa->newest;
  sa->newest = header->previous;
  return 0;
}
