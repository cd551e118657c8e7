/* Parameter blobs (crt-abi.md §8.3): loading, and every way a blob can be broken. */
#include "test_graph_support.h"

static float input_value(utvm_graph_executor_t* exec, int input, int i) {
  return ((const float*)utvm_graph_executor_input(exec, input)->dl_tensor.data)[i];
}

UTEST(params_load_into_named_inputs) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  static blob_t b;
  blob_one(&b, "w", 1);
  CHECK_OK(utvm_graph_executor_load_params(exec, b.bytes, b.len));
  CHECK(input_value(exec, 1, 0) == 1 && input_value(exec, 1, 3) == 4);
  CHECK(input_value(exec, 0, 0) == 0);
  /* Input 0 may be a parameter too (TVM's CRT aborts there). */
  blob_one(&b, "x", 10);
  CHECK_OK(utvm_graph_executor_load_params(exec, b.bytes, b.len));
  CHECK(input_value(exec, 0, 0) == 10 && input_value(exec, 0, 3) == 13);
  /* Several arrays, in any order; then a run uses them. */
  const char* names[] = {"w", "x"};
  blob_header(&b, 2, names);
  blob_array(&b, 4, 16, 100);
  blob_array(&b, 4, 16, 1);
  CHECK_OK(utvm_graph_executor_load_params(exec, b.bytes, b.len));
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK(((float*)utvm_graph_executor_output(exec, 0)->dl_tensor.data)[0] == 2 * (100 + 1));
  /* An empty blob (no parameters) is fine. */
  blob_header(&b, 0, NULL);
  CHECK_OK(utvm_graph_executor_load_params(exec, b.bytes, b.len));
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(a_blob_cut_anywhere_is_refused) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  static blob_t b;
  blob_one(&b, "w", 1);
  for (size_t cut = 0; cut < b.len; cut++) {
    CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, cut), "params: the blob (");
  }
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, 20), "params: the blob (20 bytes) ends inside the header");
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, 30), "ends inside the names");
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, 37), "ends inside the array count");
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, 50), "ends inside w");
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len - 1), "ends inside w");
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, NULL, 100), "params: the blob (0 bytes) ends inside the header");
  /* Nothing was loaded by any of these. */
  for (int i = 0; i < 4; i++) CHECK(input_value(exec, 1, i) == 0);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(corrupt_blobs_are_refused_with_the_reason) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  static blob_t b;
  uint64_t v;

  blob_one(&b, "w", 1);
  b.bytes[0] ^= 1;
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len),
                   "params: not a parameter blob (magic 0xf7e58d4f05049cb6, 0xf7e58d4f05049cb7 expected)");

  blob_one(&b, "w", 1);
  b.bytes[41] ^= 0x80; /* the array's magic: after 3 words, 1 + 1 bytes of name, 1 word */
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "params: w is not an NDArray record");

  blob_one(&b, "nope", 1);
  /* The lookup's failure passed on as it is: its code, its one message. */
  TVMAPISetLastError("");
  CHECK_EQ_INT(utvm_graph_executor_load_params(exec, b.bytes, b.len),
               kTvmErrorExecutorModuleNoSuchInput);
  CHECK_LAST_ERROR_IS("the graph has no input named nope");

  const char* two[] = {"w", "x"};
  blob_header(&b, 2, two);
  blob_array(&b, 4, 16, 1);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "params: the blob (");

  blob_header(&b, 1, two);
  v = 2; /* array count */
  memcpy(b.bytes + b.len - 8, &v, 8);
  blob_array(&b, 4, 16, 1);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "params: 1 names but 2 arrays");

  static char long_name[UTVM_MAX_NAME_LEN + 1];
  memset(long_name, 'a', UTVM_MAX_NAME_LEN);
  blob_one(&b, long_name, 1);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len),
                   "params: name 0 is 128 bytes long; at most 127 fit (UTVM_MAX_NAME_LEN)");

  blob_one(&b, "w", 1);
  v = UINT64_MAX; /* the name's length */
  memcpy(b.bytes + 24, &v, 8);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "name 0 is 18446744073709551615 bytes long");

  blob_one(&b, "w", 1);
  v = UINT64_MAX / 2; /* the name count, with nothing after it */
  memcpy(b.bytes + 16, &v, 8);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, 24), "ends inside the names");

  {
    const char* with_nul = "w\0x";
    blob_header(&b, 0, NULL);
    b.len -= 16; /* rewrite the counts by hand */
    blob_u64(&b, 1);
    blob_u64(&b, 3);
    blob_put(&b, with_nul, 3);
    blob_u64(&b, 1);
    blob_array(&b, 4, 16, 1);
  }
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "params: name 0 contains a NUL byte");

  blob_one(&b, "w", 1);
  b.bytes[b.len] = 0;
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len + 1),
                   "params: 1 unexpected bytes after the last array");

  for (int i = 0; i < 4; i++) CHECK(input_value(exec, 1, i) == 0);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(arrays_must_match_their_input) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  static blob_t b;
  const char* name = "w";

  blob_header(&b, 1, &name);
  blob_array(&b, 4, 20, 1);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len),
                   "params: w declares 20 data bytes; its shape and dtype need 16");
  blob_header(&b, 1, &name);
  blob_array(&b, 4, 8, 1);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "w declares 8 data bytes");
  blob_header(&b, 1, &name);
  blob_array(&b, 3, 12, 1);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "params: w: dimension 0 is 3, 4 expected");

  /* ndim and dtype live at fixed offsets of the array record. */
  size_t record = 24 + 8 + 1 + 8;
  int32_t ndim = UTVM_MAX_NDIM + 1;
  blob_one(&b, "w", 1);
  memcpy(b.bytes + record + 24, &ndim, 4);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len),
                   "params: w has 7 dimensions; at most 6 fit (UTVM_MAX_NDIM)");
  ndim = -1;
  memcpy(b.bytes + record + 24, &ndim, 4);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "params: w has -1 dimensions");
  ndim = 2;
  blob_one(&b, "w", 1);
  memcpy(b.bytes + record + 24, &ndim, 4);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "w: 2 dimensions given, 1 expected");
  DLDataType i32 = {kDLInt, 32, 1};
  blob_one(&b, "w", 1);
  memcpy(b.bytes + record + 28, &i32, 4);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "params: w: dtype int32 given, float32 expected");

  /* One bad array among good ones changes nothing: checks come before any copy. */
  const char* two[] = {"x", "w"};
  blob_header(&b, 2, two);
  blob_array(&b, 4, 16, 7);
  blob_array(&b, 4, 20, 7);
  CHECK_FAILS_WITH(utvm_graph_executor_load_params(exec, b.bytes, b.len), "w declares 20 data bytes");
  CHECK(input_value(exec, 0, 0) == 0);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(a_blob_may_sit_at_any_alignment) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  static blob_t b;
  static uint8_t shifted[sizeof(b.bytes) + 1];
  blob_one(&b, "w", 5);
  memcpy(shifted + 1, b.bytes, b.len);
  CHECK_OK(utvm_graph_executor_load_params(exec, shifted + 1, b.len));
  CHECK(input_value(exec, 1, 2) == 7);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST_MAIN()
