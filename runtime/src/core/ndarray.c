/* NDArrays, and the TVMArray* entry points of the C runtime API. */
#include <string.h>
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>

#include "runtime_state.h"

/* GCC's noipa keeps the dtype one argument: split into bits and lanes (IPA-SRA), a call
 * would pass five arguments, one on the stack. */
#if defined(__GNUC__) && !defined(__clang__)
#define WHOLE_ARGUMENTS __attribute__((noipa))
#else
#define WHOLE_ARGUMENTS __attribute__((noinline))
#endif

/* False when a dimension is negative or the size does not fit in size_t. The product is
 * kept in size_t with an overflow check: no 64-bit division on 32-bit parts. One copy of the
 * walk for its two callers. */
WHOLE_ARGUMENTS static bool nbytes_of(int32_t ndim, const int64_t* shape, DLDataType dtype,
                                      size_t* out) {
  size_t n = ((size_t)dtype.bits * dtype.lanes + 7) / 8;
  for (int32_t i = 0; i < ndim; i++) {
    int64_t d = shape[i];
    if (d < 0 || (uint64_t)d > SIZE_MAX || __builtin_mul_overflow(n, (size_t)d, &n)) return false;
  }
  *out = n;
  return true;
}

int utvm_shape_nbytes(int32_t ndim, const int64_t* shape, DLDataType dtype, size_t* out) {
  if (ndim < 0 || ndim > UTVM_MAX_NDIM) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "ndim %d outside 0..UTVM_MAX_NDIM",
                     (int)ndim);
  }
  if (!nbytes_of(ndim, shape, dtype, out)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "negative dimension or size overflows");
  }
  return 0;
}

size_t utvm_dltensor_nbytes(const DLTensor* t) {
  size_t n;
  return nbytes_of(t->ndim, t->shape, t->dtype, &n) ? n : 0;
}

bool utvm_dltensors_compact(const DLTensor* a, const DLTensor* b) {
  /* Both callers ask about two tensors: one copy of the walk, for a then b. */
  for (const DLTensor* t = a;; t = b) {
    if (t->strides != NULL) {
      int64_t expected = 1;
      for (int32_t i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != expected) return false;
        expected *= t->shape[i];
      }
    }
    if (t == b) return true;
  }
}

int utvm_dltensor_check_same_layout(const DLTensor* dst, const DLTensor* src, const char* what) {
  char a[UTVM_DTYPE_STR_SIZE], b[UTVM_DTYPE_STR_SIZE];
  if (!utvm_dtype_equal(dst->dtype, src->dtype)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: dtype %s given, %s expected", what,
                     utvm_dtype_str(src->dtype, a),
                     utvm_dtype_str(dst->dtype, b));
  }
  if (dst->ndim != src->ndim) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: %d dimensions given, %d expected",
                     what, (int)src->ndim, (int)dst->ndim);
  }
  const int64_t* given = src->shape;
  const int64_t* expected = dst->shape;
  for (int32_t i = 0; i < dst->ndim; i++) {
    int64_t g = *given++, e = *expected++;
    if (g != e) {
      return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                       "%s: dimension %d is %lld, %lld expected", what, (int)i, (long long)g,
                       (long long)e);
    }
  }
  if (!utvm_dltensors_compact(dst, src)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: only compact tensors are supported",
                     what);
  }
  return 0;
}

/* The one path that makes an array, with or without its own data (the device is cpu(0):
 * the callers check it). */
int utvm_ndarray_view(void* data, int32_t ndim, const int64_t* shape, DLDataType dtype,
                      TVMNDArray** out) {
  size_t n;
  int rc = utvm_shape_nbytes(ndim, shape, dtype, &n);
  if (rc != 0) return rc;
  TVMNDArray* arr;
  rc = utvm_platform_alloc(sizeof(TVMNDArray), (void**)&arr);
  if (rc != 0) return utvm_fail(rc, "out of memory allocating an NDArray");
  memset(arr, 0, sizeof(*arr));
  if (data == NULL) {
    rc = utvm_data_alloc(n, UTVM_DATA_ALIGNMENT, &data);
    if (rc != 0) {
      utvm_platform_free(arr);
      return rc;
    }
    memset(data, 0, n);
    arr->owns_data = true;
  }
  if (ndim != 0) memcpy(arr->shape, shape, sizeof(int64_t) * (size_t)ndim); /* 0..UTVM_MAX_NDIM */
  arr->dl_tensor.data = data;
  arr->dl_tensor.device.device_type = kDLCPU; /* cpu(0): the id is zero already */
  arr->dl_tensor.ndim = ndim;
  arr->dl_tensor.dtype = dtype;
  arr->dl_tensor.shape = arr->shape;
  arr->reference_count = 1;
  arr->next = utvm_core.live_arrays;
  utvm_core.live_arrays = arr;
  *out = arr;
  return 0;
}

/* The link in the list of live arrays that points at `handle`, or NULL: one walk for the
 * lookup and the unlinking. */
__attribute__((noinline)) static TVMNDArray** link_of(const void* handle) {
  for (TVMNDArray** p = &utvm_core.live_arrays; *p != NULL; p = &(*p)->next) {
    if ((const void*)*p == handle) return p;
  }
  return NULL;
}

TVMNDArray* utvm_ndarray_from_handle(const void* handle) {
  TVMNDArray** link = link_of(handle);
  return link != NULL ? *link : NULL;
}

void utvm_ndarray_retain_for_host(TVMNDArray* arr) {
  arr->reference_count++;
  arr->host_refs++;
}

void utvm_ndarray_drop_host_refs(void) {
  TVMNDArray* a = utvm_core.live_arrays;
  while (a != NULL) {
    if (a->host_refs == 0) {
      a = a->next;
      continue;
    }
    a->reference_count -= a->host_refs - 1; /* the last one goes through release */
    a->host_refs = 0;
    utvm_ndarray_release(a);
    a = utvm_core.live_arrays; /* the release may have unlinked it: start over */
  }
}

int utvm_ndarray_release(TVMNDArray* arr) {
  if (arr->reference_count == 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "NDArray released more often than retained");
  }
  if (--arr->reference_count > 0) return 0;
  TVMNDArray** link = link_of(arr);
  if (link != NULL) *link = arr->next; /* NULL: made before a re-initialisation */
  if (arr->owns_data) utvm_data_free(arr->dl_tensor.data);
  return utvm_platform_free(arr);
}

int TVMArrayAlloc(const tvm_index_t* shape, int ndim, int dtype_code, int dtype_bits,
                  int dtype_lanes, int device_type, int device_id, TVMArrayHandle* out) {
  /* code and bits below 256, lanes below 65536 (negative ones too) in one compare; then
   * neither bits nor lanes 0 (their product cannot overflow). */
  if (((unsigned)dtype_code | (unsigned)dtype_bits | ((unsigned)dtype_lanes >> 8)) > 255 ||
      dtype_bits * dtype_lanes == 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "TVMArrayAlloc: invalid dtype");
  }
  /* Checked as ints: a one-byte DLDeviceType would cut the type. */
  int rc = utvm_check_cpu(device_type, device_id);
  if (rc != 0) return rc;
  DLDataType dtype = {(uint8_t)dtype_code, (uint8_t)dtype_bits, (uint16_t)dtype_lanes};
  TVMNDArray* arr;
  rc = utvm_ndarray_view(NULL, (int32_t)ndim, shape, dtype, &arr);
  if (rc == 0) *out = &arr->dl_tensor;
  return rc;
}

int TVMArrayFree(TVMArrayHandle handle) {
  TVMNDArray* arr = utvm_ndarray_from_handle(handle);
  if (arr == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "TVMArrayFree: %p is not a live NDArray",
                     (void*)handle);
  }
  if (arr->pinned && arr->reference_count <= 1) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "TVMArrayFree: %p belongs to an executor: freed more often than handed out", (void*)handle);
  }
  if (arr->host_refs > 0) arr->host_refs--;
  return utvm_ndarray_release(arr);
}
