/*
 * Parameter blobs (parameters/<mod>.params, or load_params bytes from a host):
 *   u64 list magic, u64 reserved, u64 N, N x {u64 len, name}, u64 N, N x NDArray
 *   NDArray: u64 magic, u64 reserved, DLDevice, i32 ndim, DLDataType, i64 shape[ndim],
 *            i64 byte size, bytes
 * Every length is checked against what is left of the blob before it is used.
 */
#include <string.h>
#include <utvm/error.h>
#include <utvm/graph_executor.h>

#define LIST_MAGIC 0xF7E58D4F05049CB7ull
#define ARRAY_MAGIC 0xDD5E40F096B4A13Full

typedef struct {
  const uint8_t* p;
  size_t left;
} cursor_t;

static bool take(cursor_t* c, void* out, size_t n) {
  if (n > c->left) return false;
  if (out != NULL) memcpy(out, c->p, n);
  c->p += n;
  c->left -= n;
  return true;
}

static int truncated(const cursor_t* c, size_t len, const char* what) {
  return utvm_fail(kTvmErrorFunctionCallInvalidArg, "params: truncated at byte %lu (%s)",
                   (unsigned long)(len - c->left), what);
}

/* Checks one array record against input `index` and copies its bytes in. */
static int load_array(utvm_graph_executor_t* exec, cursor_t* c, size_t len, int index,
                      const char* name) {
  uint64_t magic, reserved, nbytes;
  DLDevice dev;
  int32_t ndim;
  DLDataType dtype;
  int64_t shape[UTVM_MAX_NDIM];
  if (!take(c, &magic, 8) || !take(c, &reserved, 8) || !take(c, &dev, sizeof(dev)) ||
      !take(c, &ndim, 4) || !take(c, &dtype, sizeof(dtype))) {
    return truncated(c, len, name);
  }
  if (magic != ARRAY_MAGIC) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "params: %s is not an NDArray record", name);
  }
  if (ndim < 0 || ndim > UTVM_MAX_NDIM) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "params: %s has %d dimensions (max %d)",
                     name, (int)ndim, UTVM_MAX_NDIM);
  }
  if (!take(c, shape, sizeof(int64_t) * (size_t)ndim) || !take(c, &nbytes, 8)) {
    return truncated(c, len, name);
  }
  DLTensor src = {(void*)c->p, {kDLCPU, 0}, ndim, dtype, shape, NULL, 0};
  if (nbytes != utvm_dltensor_nbytes(&src) || nbytes > c->left) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "params: %s declares %llu data bytes; its shape needs %lu and %lu are left",
                     name, (unsigned long long)nbytes, (unsigned long)utvm_dltensor_nbytes(&src),
                     (unsigned long)c->left);
  }
  int rc = utvm_graph_executor_set_input(exec, index, &src);
  if (rc != 0) return utvm_fail(rc, "params: %s", TVMGetLastError());
  take(c, NULL, (size_t)nbytes);
  return 0;
}

int utvm_graph_executor_load_params(utvm_graph_executor_t* exec, const void* blob, size_t len) {
  cursor_t c = {blob, len};
  uint64_t magic, reserved, num_names, num_arrays;
  if (!take(&c, &magic, 8) || !take(&c, &reserved, 8) || !take(&c, &num_names, 8)) {
    return truncated(&c, len, "header");
  }
  if (magic != LIST_MAGIC) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "params: not a parameter blob (bad magic)");
  }
  /* Names come first, arrays after: remember where each name is, bounded by the blob. */
  if (num_names > c.left / 8) return truncated(&c, len, "names");
  cursor_t names = c;
  for (uint64_t i = 0; i < num_names; i++) {
    uint64_t n;
    if (!take(&c, &n, 8) || !take(&c, NULL, (size_t)(n <= c.left ? n : c.left + 1))) {
      return truncated(&c, len, "names");
    }
  }
  if (!take(&c, &num_arrays, 8)) return truncated(&c, len, "array count");
  if (num_arrays != num_names) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "params: %llu names but %llu arrays",
                     (unsigned long long)num_names, (unsigned long long)num_arrays);
  }
  for (uint64_t i = 0; i < num_names; i++) {
    uint64_t n;
    char name[UTVM_MAX_NAME_LEN];
    take(&names, &n, 8);
    if (n >= sizeof(name)) {
      return utvm_fail(kTvmErrorFunctionCallInvalidArg, "params: name %llu is %llu bytes long (max %d)",
                       (unsigned long long)i, (unsigned long long)n, UTVM_MAX_NAME_LEN - 1);
    }
    take(&names, name, (size_t)n);
    name[n] = '\0';
    int index = utvm_graph_executor_input_index(exec, name);
    if (index < 0) return utvm_fail(-index, "params: the graph has no input named %s", name);
    int rc = load_array(exec, &c, len, index, name);
    if (rc != 0) return rc;
  }
  return 0;
}
