/* Runtime memory on Zephyr (CONFIG_UTVM_MEMORY_ARENA or _K_HEAP): what the runtime
 * allocates through TVMPlatformMemoryAllocate, NDArrays, workspaces. */
#include <string.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/memory.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/ztest.h>

static const DLDevice cpu = {kDLCPU, 0};

static void* fresh_runtime(void) {
  zassert_equal(utvm_zephyr_init(), 0, "%s", TVMGetLastError());
  return NULL;
}

ZTEST_SUITE(utvm_memory, NULL, fresh_runtime, NULL, NULL, NULL);

ZTEST(utvm_memory, test_allocation_is_usable_and_accounted) {
  size_t before = utvm_zephyr_memory_in_use();
  void* p = NULL;
  zassert_equal(TVMPlatformMemoryAllocate(1000, cpu, &p), kTvmErrorNoError, "%s",
                TVMGetLastError());
  zassert_not_null(p);
  zassert_equal((uintptr_t)p % UTVM_DATA_ALIGNMENT, 0, "aligned to UTVM_DATA_ALIGNMENT");
  memset(p, 0xA5, 1000);
  zassert_true(utvm_zephyr_memory_in_use() >= before + 1000);
  zassert_equal(TVMPlatformMemoryFree(p, cpu), kTvmErrorNoError);
  zassert_equal(utvm_zephyr_memory_in_use(), before, "everything given back");
}

ZTEST(utvm_memory, test_exhaustion_is_an_error_not_a_crash) {
  void* p = (void*)0x1;
  zassert_equal(TVMPlatformMemoryAllocate(CONFIG_UTVM_ARENA_SIZE + 1, cpu, &p),
                kTvmErrorPlatformNoMemory);
  zassert_equal(p, (void*)0x1, "out pointer untouched on failure");
  zassert_true(strlen(TVMGetLastError()) > 0, "a failure leaves a message (or the code's name)");
}

ZTEST(utvm_memory, test_ndarray_round_trip) {
  int64_t shape[2] = {4, 8};
  TVMArrayHandle arr = NULL;
  size_t before = utvm_zephyr_memory_in_use();
  zassert_equal(TVMArrayAlloc(shape, 2, kDLFloat, 32, 1, kDLCPU, 0, &arr), 0, "%s",
                TVMGetLastError());
  zassert_equal(arr->ndim, 2);
  zassert_equal(arr->shape[1], 8);
  float* data = arr->data;
  for (int i = 0; i < 32; i++) data[i] = (float)i;
  zassert_equal(data[31], 31.0f);
  zassert_equal(TVMArrayFree(arr), 0, "%s", TVMGetLastError());
  zassert_equal(utvm_zephyr_memory_in_use(), before);
}

ZTEST(utvm_memory, test_workspace_frees_in_order) {
  /* CONFIG_UTVM_WORKSPACE_SIZE gives workspaces a stack allocator of their own. */
  void* a = TVMBackendAllocWorkspace(kDLCPU, 0, 256, kDLFloat, 32);
  void* b = TVMBackendAllocWorkspace(kDLCPU, 0, 512, kDLFloat, 32);
  zassert_not_null(a, "%s", TVMGetLastError());
  zassert_not_null(b, "%s", TVMGetLastError());
  zassert_equal(TVMBackendFreeWorkspace(kDLCPU, 0, b), 0);
  zassert_equal(TVMBackendFreeWorkspace(kDLCPU, 0, a), 0);
  zassert_is_null(TVMBackendAllocWorkspace(kDLCPU, 0, CONFIG_UTVM_WORKSPACE_SIZE + 1, 0, 0),
                  "a workspace larger than its arena fails");
}
