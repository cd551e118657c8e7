/* Table of host-made data allocations (host_allocs.h). */
#include "host_allocs.h"

#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/runtime.h>

#define INITIAL_CAPACITY 16

static void** table;
static size_t count;
static size_t capacity;
static uint32_t table_generation;

static const DLDevice kCpu = {kDLCPU, 0};

/* A table from before a runtime re-initialisation lived in the old heap: forget it. */
static void forget_stale_table(void) {
  if (table_generation != utvm_runtime_generation()) {
    table = NULL;
    count = 0;
    capacity = 0;
    table_generation = utvm_runtime_generation();
  }
}

int utvm_host_allocs_add(void* ptr) {
  forget_stale_table();
  if (count == capacity) {
    size_t grown = capacity == 0 ? INITIAL_CAPACITY : capacity * 2;
    void* mem;
    int rc = TVMPlatformMemoryAllocate(grown * sizeof(void*), kCpu, &mem);
    if (rc != 0) {
      return utvm_fail(rc, "out of memory tracking %lu host allocations",
                       (unsigned long)(count + 1));
    }
    if (count > 0) memcpy(mem, table, count * sizeof(void*));
    if (table != NULL) TVMPlatformMemoryFree(table, kCpu);
    table = mem;
    capacity = grown;
  }
  table[count++] = ptr;
  return 0;
}

bool utvm_host_allocs_remove(void* ptr) {
  forget_stale_table();
  for (size_t i = 0; i < count; i++) {
    if (table[i] == ptr) {
      table[i] = table[--count];
      if (count == 0) { /* give the heap back when the host holds nothing */
        TVMPlatformMemoryFree(table, kCpu);
        table = NULL;
        capacity = 0;
      }
      return true;
    }
  }
  return false;
}

void utvm_host_allocs_release_all(void) {
  forget_stale_table();
  for (size_t i = 0; i < count; i++) TVMDeviceFreeDataSpace(kCpu, table[i]);
  if (table != NULL) TVMPlatformMemoryFree(table, kCpu);
  table = NULL;
  count = 0;
  capacity = 0;
}

size_t utvm_host_allocs_count(void) {
  forget_stale_table();
  return count;
}
