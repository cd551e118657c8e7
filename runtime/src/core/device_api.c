/* Device memory and copies (CPU only), streams (no-ops), byte arrays. */
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>

const DLDevice utvm_cpu_device = {kDLCPU, 0};

int utvm_platform_alloc(size_t nbytes, void** out) {
  return TVMPlatformMemoryAllocate(nbytes, utvm_cpu_device, out);
}

int utvm_platform_free(void* ptr) { return TVMPlatformMemoryFree(ptr, utvm_cpu_device); }

int utvm_check_cpu(int device_type, int device_id) {
  if (device_type != kDLCPU || device_id != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "only device cpu(0) is supported, got (%d, %d)",
                     device_type, device_id);
  }
  return 0;
}

int TVMDeviceAllocDataSpace(DLDevice dev, size_t nbytes, size_t alignment, DLDataType type_hint,
                            void** out_data) {
  (void)type_hint;
  int rc = utvm_check_cpu(dev.device_type, dev.device_id);
  /* utvm_data_alloc checks the alignment. 0 bytes is a block of its own with nothing in it,
   * as an empty array's data is: a distinct pointer, and any copy of a byte into it fails. */
  return rc != 0 ? rc : utvm_data_alloc(nbytes, alignment, out_data);
}

int TVMDeviceAllocDataSpaceWithScope(DLDevice dev, int ndim, const int64_t* shape,
                                     DLDataType dtype, const char* mem_scope, void** out_data) {
  (void)mem_scope; /* one memory on a microcontroller */
  size_t nbytes;
  int rc = utvm_shape_nbytes(ndim, shape, dtype, &nbytes);
  if (rc != 0) return rc;
  size_t align = ((size_t)dtype.bits * dtype.lanes + 7) / 8;
  if (align < UTVM_DATA_ALIGNMENT) align = UTVM_DATA_ALIGNMENT;
  if ((align & (align - 1)) != 0) align = UTVM_DATA_ALIGNMENT;
  return TVMDeviceAllocDataSpace(dev, nbytes, align, dtype, out_data);
}

int TVMDeviceFreeDataSpace(DLDevice dev, void* ptr) {
  int rc = utvm_check_cpu(dev.device_type, dev.device_id);
  return rc != 0 ? rc : utvm_data_free(ptr);
}

int TVMDeviceCopyDataFromTo(DLTensor* from, DLTensor* to, TVMStreamHandle stream) {
  (void)stream;
  size_t n = utvm_dltensor_nbytes(from), room = utvm_dltensor_nbytes(to);
  if (n != room) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "copy of %lu bytes into %lu bytes",
                     (unsigned long)n, (unsigned long)room);
  }
  if (!utvm_dltensors_compact(from, to)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "copy: only compact tensors are supported");
  }
  memmove((uint8_t*)to->data + to->byte_offset, (const uint8_t*)from->data + from->byte_offset, n);
  return 0;
}

int TVMStreamCreate(int device_type, int device_id, TVMStreamHandle* out) {
  (void)device_type;
  (void)device_id;
  *out = NULL;
  return 0;
}

int TVMStreamFree(int device_type, int device_id, TVMStreamHandle stream) {
  (void)device_type;
  (void)device_id;
  (void)stream;
  return 0;
}

int TVMSetStream(int device_type, int device_id, TVMStreamHandle handle) {
  return TVMStreamFree(device_type, device_id, handle);
}

int TVMSynchronize(int device_type, int device_id, TVMStreamHandle stream) {
  return TVMStreamFree(device_type, device_id, stream); /* everything is synchronous */
}

int TVMObjectFree(TVMObjectHandle obj) {
  (void)obj;
  return 0;
}

int TVMByteArrayFree(TVMByteArray* arr) {
  /* The runtime's own arrays (the time evaluator's) hold their bytes right after them, in
   * the same allocation. */
  if (arr->data != (const char*)(arr + 1)) {
    int rc = utvm_platform_free((void*)arr->data);
    if (rc != 0) return rc;
  }
  return utvm_platform_free(arr);
}
