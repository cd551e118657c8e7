/*
 * NDArrays: a DLTensor plus what the runtime needs to own it. A handle of type
 * kTVMNDArrayHandle points at the DLTensor, which is the first member.
 */
#ifndef UTVM_NDARRAY_H_
#define UTVM_NDARRAY_H_

#include <stdbool.h>
#include <tvm/runtime/c_runtime_api.h>
#include <utvm/config.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TVMNDArray {
  DLTensor dl_tensor; /* must stay first */
  uint32_t reference_count;
  uint32_t host_refs; /* of those, references an RPC host holds (dropped when its session ends) */
  /* Flags as halfwords: past offset 31 a byte takes a 32-bit Thumb load, a halfword a
   * 16-bit one. */
  uint16_t owns_data;
  uint16_t pinned; /* held by an executor: TVMArrayFree never drops the last reference */
  int64_t shape[UTVM_MAX_NDIM];
  struct TVMNDArray* next; /* list of live arrays, to validate handles */
} TVMNDArray;

/* An array over `data` it does not own (e.g. a graph executor's storage), or when `data` is
 * NULL over new zero-filled data it owns (utvm_ndarray_empty's path); reference count 1.
 * The device is cpu(0): callers that take one check it (utvm_check_cpu). */
int utvm_ndarray_view(void* data, int32_t ndim, const int64_t* shape, DLDataType dtype,
                      TVMNDArray** out);
static inline void utvm_ndarray_retain(TVMNDArray* arr) { arr->reference_count++; }
/* A reference handed to an RPC host, which frees it with TVMArrayFree (FreeHandle). */
void utvm_ndarray_retain_for_host(TVMNDArray* arr);
/* Drops every reference hosts still hold (their session ended): arrays nothing else holds are
 * freed. */
void utvm_ndarray_drop_host_refs(void);
/* Drops one reference; frees the array (and owned data) at zero. */
int utvm_ndarray_release(TVMNDArray* arr);
/* The live array a handle designates, or NULL when it is not one of ours. */
TVMNDArray* utvm_ndarray_from_handle(const void* handle);

/* Bytes of a compact tensor: prod(shape) * ceil(bits * lanes / 8). Fails with a message
 * when ndim is outside 0..UTVM_MAX_NDIM, a dimension is negative or the size overflows. */
int utvm_shape_nbytes(int32_t ndim, const int64_t* shape, DLDataType dtype, size_t* out);
/* The same for a tensor, without a message; 0 on overflow. */
size_t utvm_dltensor_nbytes(const DLTensor* t);
/* True when both tensors are compact: no strides, or the strides of their shape. */
bool utvm_dltensors_compact(const DLTensor* a, const DLTensor* b);
/* Checks `src` can be copied into `dst`: same dtype, same shape, compact. Sets an error. */
int utvm_dltensor_check_same_layout(const DLTensor* dst, const DLTensor* src, const char* what);

/* Fails with a message unless (device_type, device_id) is cpu(0), the one device. Ints, not
 * a DLDevice: where DLDeviceType is one byte, a type such as 257 must not pass as cpu. */
int utvm_check_cpu(int device_type, int device_id);

/* A new zero-filled array with its own data on `dev`, which must be cpu(0); reference count
 * 1. Inline: the runtime's own arrays go through utvm_ndarray_view, so only applications
 * that call it pay for it. */
static inline int utvm_ndarray_empty(int32_t ndim, const int64_t* shape, DLDataType dtype,
                                     DLDevice dev, TVMNDArray** out) {
  int rc = utvm_check_cpu(dev.device_type, dev.device_id);
  return rc != 0 ? rc : utvm_ndarray_view(NULL, ndim, shape, dtype, out);
}

/* cpu(0), the one device: what the runtime passes to TVMPlatformMemoryAllocate/Free. One
 * constant for every file (a struct passed by value is loaded from memory). */
extern const DLDevice utvm_cpu_device;
/* TVMPlatformMemoryAllocate/Free on it (whichever the port links): the runtime's own
 * allocations call these, one copy of the device argument instead of one at each call. */
int utvm_platform_alloc(size_t nbytes, void** out);
int utvm_platform_free(void* ptr);

/* Parses "int8", "float32", "uint1x4", "bool", "handle", ...; sets an error on failure. */
int utvm_dtype_parse(const char* s, DLDataType* out);
/* code, bits, lanes: 4 bytes without padding (dtype.c asserts it), compared as one word. */
static inline bool utvm_dtype_equal(DLDataType a, DLDataType b) {
  union {
    DLDataType dtype;
    uint32_t word;
  } x = {a}, y = {b};
  return x.word == y.word;
}
/* Writes a dtype such as "float32" into buf (for messages), cut to fit its
 * UTVM_DTYPE_STR_SIZE bytes; returns buf. One size: the callers pass no length. */
#define UTVM_DTYPE_STR_SIZE 16
const char* utvm_dtype_str(DLDataType t, char buf[UTVM_DTYPE_STR_SIZE]);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_NDARRAY_H_ */
