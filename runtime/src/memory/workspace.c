/*
 * TVMBackendAllocWorkspace / TVMBackendFreeWorkspace: scratch memory of generated
 * operators. From a stack allocator when the application gave a workspace arena,
 * else from the heap. Failure is a NULL return with a message (generated code then
 * returns -1), never an abort.
 */
#include <tvm/runtime/c_backend_api.h>
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>

static struct { /* one address for both */
  utvm_stack_allocator_t stack;
  bool ready;
} workspace;

int utvm_workspace_init(void* arena, size_t arena_bytes) {
  int rc = utvm_stack_allocator_init(&workspace.stack, arena, arena_bytes);
  workspace.ready = rc == 0;
  return rc;
}

void* TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint) {
  (void)dtype_code_hint;
  (void)dtype_bits_hint;
  void* ptr; /* read only when an allocator set it */
  if (device_type != kDLCPU || device_id != 0) {
    utvm_fail(kTvmErrorFunctionCallInvalidArg, "workspace on device (%d, %d): only cpu(0) exists",
              device_type, device_id);
    return NULL;
  }
  /* Past SIZE_MAX: bits above size_t's (two shifts: no shift by 64 on 64-bit hosts). */
  if ((nbytes >> (sizeof(size_t) * 8 - 1) >> 1) != 0) {
    utvm_fail(kTvmErrorPlatformNoMemory, "workspace request too large");
    return NULL;
  }
  int rc;
  if (workspace.ready) {
    rc = utvm_stack_allocator_alloc(&workspace.stack, (size_t)nbytes, &ptr);
  } else {
    rc = utvm_platform_alloc((size_t)nbytes, &ptr);
  }
  return rc == 0 ? ptr : NULL;
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void* ptr) {
  (void)device_type;
  (void)device_id;
  if (workspace.ready) return utvm_stack_allocator_free(&workspace.stack, ptr);
  return utvm_platform_free(ptr);
}
