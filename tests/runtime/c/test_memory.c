/* Page allocator, stack allocator, workspaces and tracked data: normal use and misuse. */
#include "utest.h"

static _Alignas(64) unsigned char arena[64 * 1024];

UTEST(page_alloc_free_reuses_and_merges) {
  utvm_page_allocator_t pa;
  CHECK_OK(utvm_page_allocator_init(&pa, arena, sizeof(arena), 8));
  void *a, *b, *c;
  CHECK_OK(utvm_page_allocator_alloc(&pa, 300, &a)); /* 2 pages */
  CHECK_OK(utvm_page_allocator_alloc(&pa, 256, &b)); /* 1 page */
  CHECK_EQ_INT(utvm_page_allocator_bytes_in_use(&pa), 3 * 256);
  CHECK_EQ_INT(((uintptr_t)a) % 64, 0);
  CHECK_OK(utvm_page_allocator_free(&pa, a));
  CHECK_OK(utvm_page_allocator_free(&pa, b));
  CHECK_EQ_INT(utvm_page_allocator_bytes_in_use(&pa), 0);
  /* The two freed runs merge: a 3-page block fits where a and b were. */
  CHECK_OK(utvm_page_allocator_alloc(&pa, 3 * 256, &c));
  CHECK(c == a);
}

UTEST(page_alloc_rounds_up_to_whole_pages_at_least_one) {
  utvm_page_allocator_t pa;
  CHECK_OK(utvm_page_allocator_init(&pa, arena, sizeof(arena), 8));
  void* p;
  const size_t sizes[] = {0, 1, 256, 257, 512, 513};
  const size_t pages[] = {1, 1, 1, 2, 2, 3};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    CHECK_OK(utvm_page_allocator_alloc(&pa, sizes[i], &p));
    CHECK_EQ_INT(utvm_page_allocator_bytes_in_use(&pa), pages[i] * 256);
    CHECK_OK(utvm_page_allocator_free(&pa, p));
  }
}

UTEST(page_alloc_fills_whole_arena_then_reports_out_of_memory) {
  utvm_page_allocator_t pa;
  CHECK_OK(utvm_page_allocator_init(&pa, arena, sizeof(arena), 8));
  void* p;
  int n = 0;
  while (utvm_page_allocator_alloc(&pa, 256, &p) == 0) n++;
  CHECK(n == (int)pa.num_pages);
  CHECK_FAILS_WITH(utvm_page_allocator_alloc(&pa, 1, &p), "out of memory");
}

UTEST(page_alloc_larger_than_arena_fails_cleanly) {
  utvm_page_allocator_t pa;
  CHECK_OK(utvm_page_allocator_init(&pa, arena, sizeof(arena), 8));
  void* p = NULL;
  CHECK_FAILS_WITH(utvm_page_allocator_alloc(&pa, SIZE_MAX / 2, &p), "out of memory");
  CHECK_FAILS_WITH(utvm_page_allocator_alloc(&pa, SIZE_MAX, &p), "out of memory");
  CHECK(p == NULL);
  CHECK_EQ_INT(utvm_page_allocator_bytes_in_use(&pa), 0);
}

UTEST(page_free_of_foreign_or_freed_pointer_is_an_error) {
  utvm_page_allocator_t pa;
  CHECK_OK(utvm_page_allocator_init(&pa, arena, sizeof(arena), 8));
  void* a;
  int local;
  CHECK_OK(utvm_page_allocator_alloc(&pa, 10, &a));
  CHECK_FAILS_WITH(utvm_page_allocator_free(&pa, &local), "not an allocated block");
  CHECK_FAILS_WITH(utvm_page_allocator_free(&pa, (char*)a + 16), "not an allocated block");
  /* Below the first page (in the arena's run table). */
  CHECK_FAILS_WITH(utvm_page_allocator_free(&pa, (char*)a - 256), "not an allocated block");
  CHECK_OK(utvm_page_allocator_free(&pa, a));
  CHECK_FAILS_WITH(utvm_page_allocator_free(&pa, a), "not an allocated block");
}

UTEST(page_allocator_rejects_tiny_arena) {
  utvm_page_allocator_t pa;
  CHECK_FAILS_WITH(utvm_page_allocator_init(&pa, arena, 100, 8), "too small");
}

UTEST(stack_alloc_is_lifo) {
  utvm_stack_allocator_t sa;
  CHECK_OK(utvm_stack_allocator_init(&sa, arena, sizeof(arena)));
  void *a, *b;
  CHECK_OK(utvm_stack_allocator_alloc(&sa, 100, &a));
  CHECK_OK(utvm_stack_allocator_alloc(&sa, 100, &b));
  CHECK_EQ_INT(((uintptr_t)b) % 16, 0);
  CHECK(b != a);
  CHECK_OK(utvm_stack_allocator_free(&sa, b));
  CHECK_OK(utvm_stack_allocator_free(&sa, a));
  CHECK_EQ_INT(sa.top, 0);
}

UTEST(stack_free_out_of_order_is_refused) {
  utvm_stack_allocator_t sa;
  CHECK_OK(utvm_stack_allocator_init(&sa, arena, sizeof(arena)));
  void *a, *b;
  CHECK_OK(utvm_stack_allocator_alloc(&sa, 32, &a));
  CHECK_OK(utvm_stack_allocator_alloc(&sa, 32, &b));
  TVMAPISetLastError("");
  CHECK_EQ_INT(utvm_stack_allocator_free(&sa, a), kTvmErrorPlatformStackAllocBadFree);
  CHECK_LAST_ERROR_HAS("out of order");
  /* Nothing changed: the right order still works. */
  CHECK_OK(utvm_stack_allocator_free(&sa, b));
  CHECK_OK(utvm_stack_allocator_free(&sa, a));
  CHECK_FAILS_WITH(utvm_stack_allocator_free(&sa, a), "out of order");
}

UTEST(stack_alloc_too_large_reports_sizes) {
  utvm_stack_allocator_t sa;
  CHECK_OK(utvm_stack_allocator_init(&sa, arena, 1024));
  void* p;
  CHECK_FAILS_WITH(utvm_stack_allocator_alloc(&sa, 4096, &p), "does not fit");
  CHECK_FAILS_WITH(utvm_stack_allocator_alloc(&sa, SIZE_MAX, &p), "does not fit");
}

UTEST(workspace_larger_than_heap_returns_null_with_message) {
  TVMAPISetLastError("");
  void* p = TVMBackendAllocWorkspace(kDLCPU, 0, (uint64_t)UTEST_HEAP_BYTES * 4, 2, 32);
  CHECK(p == NULL);
  CHECK_LAST_ERROR_HAS("out of memory");
#if SIZE_MAX < UINT64_MAX
  /* Above size_t: refused before any allocator sees a cut size. */
  TVMAPISetLastError("");
  CHECK(TVMBackendAllocWorkspace(kDLCPU, 0, (uint64_t)SIZE_MAX + 1, 2, 32) == NULL);
  CHECK_LAST_ERROR_HAS("workspace request too large");
#endif
}

UTEST(workspace_from_stack_arena_checks_order_and_size) {
  static _Alignas(16) unsigned char ws[4096];
  CHECK_OK(utvm_workspace_init(ws, sizeof(ws)));
  void* a = TVMBackendAllocWorkspace(kDLCPU, 0, 1000, 2, 32);
  void* b = TVMBackendAllocWorkspace(kDLCPU, 0, 1000, 2, 32);
  CHECK(a != NULL && b != NULL);
  CHECK(TVMBackendAllocWorkspace(kDLCPU, 0, 8192, 2, 32) == NULL);
  CHECK_LAST_ERROR_HAS("does not fit");
  CHECK_FAILS_WITH(TVMBackendFreeWorkspace(kDLCPU, 0, a), "out of order");
  CHECK_OK(TVMBackendFreeWorkspace(kDLCPU, 0, b));
  CHECK_OK(TVMBackendFreeWorkspace(kDLCPU, 0, a));
  CHECK(TVMBackendAllocWorkspace(kDLExtDev, 0, 8, 2, 32) == NULL);
  CHECK_LAST_ERROR_HAS("only cpu");
}

UTEST(tracked_data_ranges) {
  void* p;
  CHECK_OK(utvm_data_alloc(100, 64, &p));
  CHECK_EQ_INT(((uintptr_t)p) % 64, 0);
  CHECK(utvm_data_range_valid(p, 100));
  CHECK(utvm_data_range_valid((char*)p + 50, 50));
  CHECK(!utvm_data_range_valid((char*)p + 50, 51));
  CHECK(!utvm_data_range_valid((char*)p - 1, 1));
  CHECK(!utvm_data_range_valid((char*)p + 10, SIZE_MAX));
  CHECK_EQ_INT(utvm_data_bytes_from((char*)p + 40), 60);
  CHECK_OK(utvm_data_free(p));
  CHECK(!utvm_data_range_valid(p, 1));
  CHECK_FAILS_WITH(utvm_data_free(p), "not allocated");
  /* One alignment check for every path (TVMDeviceAllocDataSpace's is this one). */
  CHECK_FAILS_WITH(utvm_data_alloc(100, 0, &p), "alignment 0 is not a power of two <= 4096");
  CHECK_FAILS_WITH(utvm_data_alloc(100, 48, &p), "alignment 48 is not a power of two <= 4096");
  CHECK_FAILS_WITH(utvm_data_alloc(100, 8192, &p), "alignment 8192 is not a power of two");
  /* A size that overflows with the block's header fails as any size the heap lacks. */
  CHECK_FAILS_WITH(utvm_data_alloc(SIZE_MAX - 8, 16, &p), "out of memory allocating");
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), 0);
  /* Byte-aligned data: its block's header stays where the heap put it. */
  void* q;
  CHECK_OK(utvm_data_alloc(3, 1, &q));
  CHECK_OK(utvm_data_alloc(5, 2, &p));
  CHECK(utvm_data_range_valid(q, 3) && !utvm_data_range_valid(q, 4));
  CHECK_EQ_INT(utvm_data_bytes_from(p), 5);
  CHECK_OK(utvm_data_free(q));
  CHECK_OK(utvm_data_free(p));
  CHECK_OK(utvm_data_alloc(100, 4096, &p));
  CHECK_EQ_INT(((uintptr_t)p) % 4096, 0);
  CHECK_OK(utvm_data_free(p));
}

UTEST(heap_is_back_to_empty_after_frees) {
  size_t before = utvm_heap_bytes_in_use();
  void *a, *b;
  CHECK_OK(utvm_data_alloc(5000, 16, &a));
  CHECK_OK(utvm_data_alloc(70, 16, &b));
  CHECK(utvm_heap_bytes_in_use() > before);
  CHECK_OK(utvm_data_free(a));
  CHECK_OK(utvm_data_free(b));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), before);
}

UTEST_MAIN()
