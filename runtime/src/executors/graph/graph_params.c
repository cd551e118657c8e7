/*
 * Parameter blobs (crt-abi.md §8.3: parameters/<mod>.params, or load_params bytes):
 *   u64 list magic, u64 reserved, u64 N, N x {u64 len, name}, u64 N, N x array
 *   array: u64 magic, u64 reserved, DLDevice, i32 ndim, DLDataType, i64 shape[ndim],
 *          i64 byte size, data
 * The blob is walked twice by the same code: first every record is checked against the
 * blob's bounds and the graph's inputs, then the data is copied. A bad blob changes nothing.
 * Unlike TVM's CRT, a parameter may be input 0.
 */
#include <string.h>
#include <utvm/error.h>
#include <utvm/graph_executor.h>

#define LIST_MAGIC 0xF7E58D4F05049CB7ull
#define ARRAY_MAGIC 0xDD5E40F096B4A13Full
#define INVALID kTvmErrorFunctionCallInvalidArg
#define UL(v) ((unsigned long)(v))
#define ULL(v) ((unsigned long long)(v))

typedef struct {
  const uint8_t* base;
  size_t len;
  size_t pos;
} reader_t;

/* Every length a blob declares is bounded (or compared) before it is taken: size_t will do. */
static bool take(reader_t* r, void* out, size_t n) {
  if (n > r->len - r->pos) return false;
  if (out != NULL) memcpy(out, r->base + r->pos, n);
  r->pos += n;
  return true;
}

/* The blob ends inside input `name`'s record. */
static int truncated(const reader_t* r, const char* name) {
  return utvm_fail(INVALID, "params: the blob (%lu bytes) ends inside %s", UL(r->len), name);
}
/* The same message for the parts before the records, named by a literal: by reference it
 * joins the format, so its text stays out of the image; with text on the device one format
 * serves all. */
#if UTVM_ERROR_MESSAGES && UTVM_ERROR_MESSAGE_TEXT
#define TRUNCATED_IN(r, part) truncated((r), part)
#else
#define TRUNCATED_IN(r, part) \
  utvm_fail(INVALID, "params: the blob (%lu bytes) ends inside " part, UL((r)->len))
#endif

/* One array record, for input `index` called `name`. */
static int array_record(utvm_graph_executor_t* exec, reader_t* r, int index, const char* name,
                        bool copy) {
  struct {
    uint64_t magic, reserved;
    DLDevice device; /* always cpu: not used */
    int32_t ndim;
    DLDataType dtype;
  } head;
  _Static_assert(sizeof(head) == 32, "an array record's head is 32 bytes, without padding");
  int64_t shape[UTVM_MAX_NDIM + 1]; /* then the byte size */
  if (!take(r, &head, sizeof(head))) return truncated(r, name);
  uint64_t magic = head.magic;
  int32_t ndim = head.ndim;
  if (magic != ARRAY_MAGIC) {
    return utvm_fail(INVALID, "params: %s is not an NDArray record (magic 0x%llx)", name,
                     ULL(magic));
  }
  if ((uint32_t)ndim > UTVM_MAX_NDIM) { /* negative ones too */
    return utvm_fail(INVALID, "params: %s has %ld dimensions; at most %d fit (UTVM_MAX_NDIM)", name,
                     (long)ndim, UTVM_MAX_NDIM);
  }
  if (!take(r, shape, sizeof(int64_t) * ((size_t)ndim + 1))) return truncated(r, name);
  uint64_t nbytes = (uint64_t)shape[ndim];
  DLTensor* input = &utvm_graph_executor_input(exec, index)->dl_tensor;
  /* The record as a tensor, for the layout check: dtype and shape (no strides, compact); its
   * device is not read, so it is left unset. */
  DLTensor src = {
      .data = (void*)(r->base + r->pos), .ndim = ndim, .dtype = head.dtype, .shape = shape};
  int rc = utvm_dltensor_check_same_layout(input, &src, name);
  if (rc != 0) return utvm_fail(rc, "params: %s", TVMGetLastError());
  size_t expected = utvm_dltensor_nbytes(input);
  if (nbytes != expected) {
    return utvm_fail(INVALID, "params: %s declares %llu data bytes; its shape and dtype need %lu",
                     name, ULL(nbytes), UL(expected));
  }
  if (!take(r, NULL, expected)) return truncated(r, name);
  if (copy) memcpy(input->data, src.data, expected);
  return 0;
}

static int walk(utvm_graph_executor_t* exec, const uint8_t* blob, size_t len, bool copy) {
  reader_t r = {blob, len, 0};
  uint64_t head[3], magic, count, num_arrays; /* head: magic, reserved, count */
  size_t num_names;
  if (!take(&r, head, sizeof(head))) return TRUNCATED_IN(&r, "the header");
  magic = head[0];
  count = head[2];
  if (magic != LIST_MAGIC) {
    return utvm_fail(INVALID, "params: not a parameter blob (magic 0x%llx, 0xf7e58d4f05049cb7 "
                     "expected)", ULL(magic)); /* LIST_MAGIC in the text: one argument less */
  }
  /* The names come first, the arrays after them: find where the arrays start. Each name
   * takes at least 8 bytes, so a huge count ends at the blob's end. */
  num_names = count > len ? len : (size_t)count; /* more names than bytes end at the end */
  for (size_t i = 0; i < num_names; i++) {
    uint64_t n; /* read only once taken */
    if (!take(&r, &n, 8)) return TRUNCATED_IN(&r, "the names");
    if (n >= UTVM_MAX_NAME_LEN) {
      return utvm_fail(INVALID, "params: name %lu is %llu bytes long; at most %d fit "
                       "(UTVM_MAX_NAME_LEN)", UL(i), ULL(n), UTVM_MAX_NAME_LEN - 1);
    }
    if (!take(&r, NULL, (size_t)n)) return TRUNCATED_IN(&r, "the names");
  }
  if (!take(&r, &num_arrays, 8)) return TRUNCATED_IN(&r, "the array count");
  if (num_arrays != count) {
    return utvm_fail(INVALID, "params: %llu names but %llu arrays", ULL(count), ULL(num_arrays));
  }
  const uint8_t* next_name = blob + sizeof(head); /* the names follow the header */
  for (size_t i = 0; i < num_names; i++) {
    char name[UTVM_MAX_NAME_LEN];
    uint64_t length; /* within bounds and below UTVM_MAX_NAME_LEN: checked above */
    memcpy(&length, next_name, sizeof(length));
    size_t n = (size_t)length;
    memcpy(name, next_name + sizeof(length), n);
    next_name += sizeof(length) + n;
    name[n] = '\0';
    if (strlen(name) != n) {
      return utvm_fail(INVALID, "params: name %lu contains a NUL byte", UL(i));
    }
    int index = utvm_graph_executor_input_index(exec, name);
    if (index < 0) return -index; /* its code; the message it set names the input */
    int rc = array_record(exec, &r, index, name, copy);
    if (rc != 0) return rc;
  }
  if (r.pos != r.len) {
    return utvm_fail(INVALID, "params: %lu unexpected bytes after the last array",
                     UL(r.len - r.pos));
  }
  return 0;
}

int utvm_graph_executor_load_params(utvm_graph_executor_t* exec, const void* blob, size_t len) {
  if (blob == NULL) len = 0;
  int rc = walk(exec, blob, len, false);
  return rc != 0 ? rc : walk(exec, blob, len, true);
}
