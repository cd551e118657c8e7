/*
 * Page allocator over an application-given arena. The arena starts with one
 * uint32 per page; a run's first page holds the run length and an in-use bit.
 * Allocation is first fit; free runs are split on allocation and merged with the
 * free runs that follow them, so memory does not fragment away as in TVM's
 * never-coalescing allocator.
 */
#include <string.h>
#include <utvm/error.h>
#include <utvm/memory.h>

#define RUN_IN_USE 0x80000000u
#define RUN_LENGTH 0x7FFFFFFFu
#define PAGE_ALIGNMENT 64u

static uintptr_t align_up(uintptr_t v, uintptr_t a) { return (v + a - 1) & ~(a - 1); }

int utvm_page_allocator_init(utvm_page_allocator_t* pa, void* arena, size_t arena_bytes,
                             uint32_t page_size_log2) {
  if (page_size_log2 < 4 || page_size_log2 > 16) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "page size 2^%u outside 2^4..2^16",
                     (unsigned)page_size_log2);
  }
  size_t page_size = (size_t)1 << page_size_log2;
  uintptr_t start = align_up((uintptr_t)arena, sizeof(uint32_t));
  uintptr_t end = (uintptr_t)arena + arena_bytes;
  if (end < start + PAGE_ALIGNMENT + page_size + sizeof(uint32_t)) {
    return utvm_fail(kTvmErrorPlatformNoMemory, "arena of %lu bytes is too small for one page",
                     (unsigned long)arena_bytes);
  }
  /* Each page costs its bytes plus one run word; keep PAGE_ALIGNMENT bytes of slack. */
  size_t num_pages = (end - start - PAGE_ALIGNMENT) / (page_size + sizeof(uint32_t));
  if (num_pages > RUN_LENGTH) num_pages = RUN_LENGTH;
  uint32_t* runs = (uint32_t*)start; /* written through: no reload after the memset */
  pa->runs = runs;
  pa->pages = (uint8_t*)align_up(start + num_pages * sizeof(uint32_t), PAGE_ALIGNMENT);
  pa->num_pages = (uint32_t)num_pages;
  pa->page_size_log2 = page_size_log2;
  pa->pages_in_use = 0;
  memset(runs, 0, num_pages * sizeof(uint32_t));
  runs[0] = (uint32_t)num_pages;
  return 0;
}

/* Merges the free runs that directly follow the free run at `i`; returns its length. */
static uint32_t merge_following(utvm_page_allocator_t* pa, uint32_t i) {
  uint32_t len = pa->runs[i] & RUN_LENGTH;
  while (i + len < pa->num_pages && !(pa->runs[i + len] & RUN_IN_USE)) {
    uint32_t next = i + len;
    len += pa->runs[next] & RUN_LENGTH;
    pa->runs[next] = 0;
  }
  pa->runs[i] = len;
  return len;
}

int utvm_page_allocator_alloc(utvm_page_allocator_t* pa, size_t nbytes, void** out) {
  /* Whole pages, at least one: 1 + (nbytes - 1) / page, with 0 bytes counted as 1 (no
   * overflow: more than the arena never fits). */
  size_t want = ((nbytes - (nbytes != 0)) >> pa->page_size_log2) + 1;
  uint32_t i = 0;
  while (i < pa->num_pages) {
    uint32_t len = pa->runs[i] & RUN_LENGTH;
    if (!(pa->runs[i] & RUN_IN_USE)) {
      len = merge_following(pa, i);
      if (len >= want) {
        pa->runs[i] = (uint32_t)want | RUN_IN_USE;
        if (len > want) pa->runs[i + want] = len - (uint32_t)want;
        pa->pages_in_use += (uint32_t)want;
        *out = pa->pages + ((size_t)i << pa->page_size_log2);
        return 0;
      }
    }
    i += len;
  }
  return utvm_fail(kTvmErrorPlatformNoMemory,
                   "out of memory: %lu bytes requested, %lu of %lu bytes in use",
                   (unsigned long)nbytes, (unsigned long)utvm_page_allocator_bytes_in_use(pa),
                   (unsigned long)pa->num_pages << pa->page_size_log2);
}

int utvm_page_allocator_free(utvm_page_allocator_t* pa, void* ptr) {
  /* A pointer below the pages wraps to an offset past the arena's end: one bound for both. */
  uintptr_t offset = (uintptr_t)ptr - (uintptr_t)pa->pages;
  size_t index = offset >> pa->page_size_log2;
  if (index >= pa->num_pages || (index << pa->page_size_log2) != offset || /* inside a page */
      !(pa->runs[index] & RUN_IN_USE)) {
    return utvm_fail(kTvmErrorPlatformCheckFailure, "free of %p, which is not an allocated block",
                     ptr);
  }
  pa->runs[index] &= RUN_LENGTH;
  pa->pages_in_use -= pa->runs[index];
  merge_following(pa, (uint32_t)index);
  return 0;
}
