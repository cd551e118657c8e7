/*
 * Memory without malloc: a page allocator and a stack allocator over arenas the
 * application gives, and tracked data allocations so that pointers coming from a
 * host can be checked against what was really handed out.
 */
#ifndef UTVM_MEMORY_H_
#define UTVM_MEMORY_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/crt/error_codes.h>
#include <utvm/config.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Page allocator: first fit over runs of pages, split on allocation, merged on reuse. ---- */
typedef struct {
  uint8_t* pages;       /* first page (aligned to the page size) */
  uint32_t* runs;       /* per page: run length at a run's first page; bit 31 = in use */
  uint32_t num_pages;
  uint32_t page_size_log2;
  uint32_t pages_in_use;
} utvm_page_allocator_t;

int utvm_page_allocator_init(utvm_page_allocator_t* pa, void* arena, size_t arena_bytes,
                             uint32_t page_size_log2);
int utvm_page_allocator_alloc(utvm_page_allocator_t* pa, size_t nbytes, void** out);
int utvm_page_allocator_free(utvm_page_allocator_t* pa, void* ptr);
static inline size_t utvm_page_allocator_bytes_in_use(const utvm_page_allocator_t* pa) {
  return (size_t)pa->pages_in_use << pa->page_size_log2;
}

/* ---- Stack allocator: bump allocation, strictly LIFO frees (what generated code does). ---- */
typedef struct {
  uint8_t* base;
  size_t size;
  size_t top;    /* bytes in use */
  size_t newest; /* offset of the newest block's header; SIZE_MAX when empty */
} utvm_stack_allocator_t;

int utvm_stack_allocator_init(utvm_stack_allocator_t* sa, void* arena, size_t arena_bytes);
int utvm_stack_allocator_alloc(utvm_stack_allocator_t* sa, size_t nbytes, void** out);
/* Frees the most recent live block; any other pointer is kTvmErrorPlatformStackAllocBadFree. */
int utvm_stack_allocator_free(utvm_stack_allocator_t* sa, void* ptr);

/* ---- The runtime heap behind TVMPlatformMemoryAllocate/Free (runtime/src/memory/heap.c). ---- */
/* Gives the runtime its arena; must be called before anything allocates. */
int utvm_heap_init(void* arena, size_t arena_bytes);
size_t utvm_heap_bytes_in_use(void);

/* ---- Workspace for TVMBackendAllocWorkspace. ----
 * Without a workspace arena, workspaces come from the heap. With one, they come from a
 * stack allocator over it (fast, and out-of-order frees are reported). */
int utvm_workspace_init(void* arena, size_t arena_bytes);

/* ---- Tracked data allocations (tensor storage, host-requested device memory). ---- */
/* `alignment` must be a power of two <= 4096 (TVMDeviceAllocDataSpace's check is this one). */
int utvm_data_alloc(size_t nbytes, size_t alignment, void** out);
int utvm_data_free(void* data);
/* 1 + the bytes from `ptr` to the end of the live tracked allocation it lies in (its end
 * included), or 0 when it lies in none: one number answers both questions below. */
size_t utvm_data_room(const void* ptr);
/* True when [ptr, ptr + nbytes) lies inside one live tracked allocation. */
static inline bool utvm_data_range_valid(const void* ptr, size_t nbytes) {
  return nbytes < utvm_data_room(ptr);
}
/* Bytes of the tracked allocation that `ptr` points into, counted from ptr; 0 if none. */
static inline size_t utvm_data_bytes_from(const void* ptr) {
  size_t room = utvm_data_room(ptr);
  return room == 0 ? 0 : room - 1;
}

/* Allocations a host asked for (RPC DevAllocData): only those may be freed by the host, and
 * a new host session frees whatever the previous host left behind. */
void utvm_data_set_host_owned(void* data);
/* Frees `data` if it is a live host-owned allocation; fails with a message otherwise. */
int utvm_data_free_host_owned(void* data);
void utvm_data_free_all_host_owned(void);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_MEMORY_H_ */
