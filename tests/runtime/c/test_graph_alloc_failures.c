/*
 * Graph executor create when memory runs out at each of its allocations in turn (the
 * graph's tables, the executor, each storage, each io view): it fails with exec NULL and
 * gives every block back; once all succeed, release gives them back too. This program's
 * TVMPlatformMemoryAllocate (heap.c's is weak) fails the allocation it is told to.
 */
#include <utvm/memory.h>

#include "test_graph_support.h"

static _Alignas(64) unsigned char arena[1u << 20];
static utvm_page_allocator_t pages;
static bool pages_ready;
static int fail_in = -1; /* allocations left before the one that fails; -1: none fails */
static int live;         /* blocks allocated and not yet freed */

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t n, DLDevice dev, void** out) {
  (void)dev;
  if (!pages_ready) pages_ready = utvm_page_allocator_init(&pages, arena, sizeof(arena), 6) == 0;
  if (fail_in >= 0 && fail_in-- == 0) {
    return (tvm_crt_error_t)utvm_fail(kTvmErrorPlatformNoMemory, "out of memory (injected)");
  }
  int rc = utvm_page_allocator_alloc(&pages, n, out);
  if (rc == 0) live++;
  return (tvm_crt_error_t)rc;
}

tvm_crt_error_t TVMPlatformMemoryFree(void* p, DLDevice dev) {
  (void)dev;
  int rc = utvm_page_allocator_free(&pages, p);
  if (rc == 0) live--;
  return (tvm_crt_error_t)rc;
}

/* Fails allocation 0, 1, 2, ... of create until create succeeds; returns how many
 * allocations a successful create makes. */
static int fail_each_allocation(const char* json) {
  for (int n = 0; n < 100; n++) {
    int before = live;
    utvm_graph_executor_t* exec = NULL;
    fail_in = n;
    int rc = create_from(json, &exec);
    bool injected = fail_in < 0;
    fail_in = -1;
    if (rc == 0) {
      CHECK(!injected); /* every allocation it made succeeded */
      CHECK_OK(utvm_graph_executor_release(exec));
      CHECK_EQ_INT(live, before);
      return n;
    }
    CHECK(injected);
    CHECK(exec == NULL);
    CHECK_EQ_INT(live, before);
  }
  CHECK(false);
  return 0;
}

UTEST(create_gives_every_block_back_when_any_allocation_fails) {
  /* tables, executor, storages, io views: several of each */
  CHECK(fail_each_allocation(kGraph) > 4);
}

UTEST(storages_shared_by_entries_are_freed_once) {
  /* entries 0 and 2 share storage 0, 1 and 3 share 1: each is allocated (and owned) at its
   * first entry only */
  int all_storages = fail_each_allocation(kGraph);
  CHECK(fail_each_allocation(graph_with("[0, 1, 2, 3]", "[0, 1, 0, 1]")) == all_storages - 2);
}

UTEST_MAIN()
