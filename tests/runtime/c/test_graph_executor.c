/* The graph executor at run time: values, storage, operator calls, inputs and outputs. */
#include "test_graph_support.h"

UTEST(graph_runs_end_to_end) {
  size_t heap_before = utvm_heap_bytes_in_use();
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  CHECK_EQ_INT(utvm_graph_executor_num_inputs(exec), 2);
  CHECK_EQ_INT(utvm_graph_executor_num_outputs(exec), 1);
  CHECK_EQ_INT(utvm_graph_executor_input_index(exec, "x"), 0);
  CHECK_EQ_INT(utvm_graph_executor_input_index(exec, "w"), 1);
  CHECK(strcmp(utvm_graph_executor_input_name(exec, 0), "x") == 0);
  CHECK(strcmp(utvm_graph_executor_input_name(exec, 1), "w") == 0);
  float x[4] = {1, 2, 3, 4}, w[4] = {10, 20, 30, 40}, out[4] = {0};
  int64_t shape[1] = {4};
  DLTensor tx = f32_tensor(x, shape), tw = f32_tensor(w, shape), tout = f32_tensor(out, shape);
  CHECK_OK(utvm_graph_executor_set_input(exec, 0, &tx));
  CHECK_OK(utvm_graph_executor_set_input(exec, 1, &tw));
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_OK(utvm_graph_executor_get_output(exec, 0, &tout));
  for (int i = 0; i < 4; i++) CHECK(out[i] == 2 * (x[i] + w[i]));
  /* Inputs stay set: a second run with a new x reuses w. */
  x[0] = 100;
  CHECK_OK(utvm_graph_executor_set_input(exec, 0, &tx));
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_OK(utvm_graph_executor_get_output(exec, 0, &tout));
  CHECK(out[0] == 220 && out[1] == 44);
  CHECK_OK(utvm_graph_executor_release(exec));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(input_and_output_views_show_the_executor_tensors) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  TVMNDArray* w = utvm_graph_executor_input(exec, 1);
  TVMNDArray* out = utvm_graph_executor_output(exec, 0);
  CHECK(w != NULL && out != NULL);
  CHECK_EQ_INT(w->dl_tensor.ndim, 1);
  CHECK_EQ_INT(w->dl_tensor.shape[0], 4);
  CHECK(utvm_dtype_equal(w->dl_tensor.dtype, f32));
  CHECK(utvm_data_range_valid(w->dl_tensor.data, 16));
  for (int i = 0; i < 4; i++) ((float*)w->dl_tensor.data)[i] = 1.5f; /* x stays 0 */
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK(((float*)out->dl_tensor.data)[3] == 3.0f);
  CHECK(utvm_graph_executor_input(exec, 2) == NULL);
  CHECK_LAST_ERROR_HAS("input index 2 outside 0..1");
  CHECK(utvm_graph_executor_output(exec, -1) == NULL);
  CHECK_LAST_ERROR_HAS("output index -1 outside 0..0");
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(set_input_and_get_output_check_dtype_shape_index) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  float v[8] = {0};
  int64_t s4[1] = {4}, s8[1] = {8}, s22[2] = {2, 2};
  DLTensor i32 = {v, cpu, 1, {kDLInt, 32, 1}, s4, NULL, 0};
  DLTensor longer = f32_tensor(v, s8);
  DLTensor two_d = {v, cpu, 2, f32, s22, NULL, 0};
  DLTensor ok = f32_tensor(v, s4);
  DLTensor no_data = f32_tensor(NULL, s4);
  int64_t strides[1] = {2};
  DLTensor strided = f32_tensor(v, s4);
  strided.strides = strides;
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 0, &i32), "x: dtype int32 given, float32 expected");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 1, &longer), "w: dimension 0 is 8, 4 expected");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 0, &two_d), "x: 2 dimensions given, 1 expected");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 0, &no_data), "x: the tensor has no data");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 0, &strided), "only compact tensors");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, 2, &ok), "input index 2 outside 0..1");
  CHECK_FAILS_WITH(utvm_graph_executor_set_input(exec, -1, &ok), "input index -1 outside 0..1");
  CHECK_FAILS_WITH(utvm_graph_executor_get_output(exec, 1, &ok), "output index 1 outside 0..0");
  CHECK_FAILS_WITH(utvm_graph_executor_get_output(exec, 0, &i32), "output: dtype int32 given");
  CHECK_FAILS_WITH(utvm_graph_executor_get_output(exec, 0, &no_data), "the tensor has no data");
  CHECK(utvm_graph_executor_input_index(exec, "y") == -kTvmErrorExecutorModuleNoSuchInput);
  CHECK_LAST_ERROR_HAS("the graph has no input named y");
  CHECK(utvm_graph_executor_input_name(exec, 5) == NULL);
  /* Nothing above changed the inputs. */
  for (int i = 0; i < 4; i++) CHECK(((float*)utvm_graph_executor_input(exec, 0)->dl_tensor.data)[i] == 0);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(operators_get_ndarray_handles_and_their_resource) {
  utvm_graph_executor_t* exec = NULL;
  /* A node with 2 inputs and 2 outputs: all arguments reach the operator, in order. */
  const char* json =
      "{\"nodes\": [{\"op\": \"null\", \"name\": \"a\", \"inputs\": []},"
      " {\"op\": \"null\", \"name\": \"b\", \"inputs\": []},"
      " {\"op\": \"tvm_op\", \"name\": \"r\", \"inputs\": [[0, 0], [1, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"record\", \"num_outputs\": \"2\"}}],"
      " \"arg_nodes\": [0, 1], \"heads\": [[2, 1, 0], [2, 0, 0]],"
      " \"attrs\": {\"dltype\": [\"list_str\", [\"int8\", \"int16\", \"int32\", \"float32\"]],"
      "  \"storage_id\": [\"list_int\", [0, 1, 2, 3]],"
      "  \"shape\": [\"list_shape\", [[1], [2], [3], [4, 1]]]},"
      " \"node_row_ptr\": [0, 1, 2, 4]}";
  CHECK_OK(create_from(json, &exec));
  last_call.calls = 0;
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_EQ_INT(last_call.calls, 1);
  CHECK_EQ_INT(last_call.num_args, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(last_call.codes[i], kTVMNDArrayHandle);
  /* The resource handle is what TVMFuncCall would give: the module's registry. */
  CHECK(last_call.resource == (void*)&lib_registry);
  /* heads[0] is the node's second output. */
  TVMNDArray* out0 = utvm_graph_executor_output(exec, 0);
  CHECK_EQ_INT(out0->dl_tensor.ndim, 2);
  CHECK_EQ_INT(out0->dl_tensor.dtype.code, kDLFloat);
  CHECK_EQ_INT(utvm_graph_executor_output(exec, 1)->dl_tensor.shape[0], 3);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(shared_storage_is_sized_for_its_largest_entry) {
  /* Entries 1 (float32[2]) and 3 (float32[8]) share storage 1, which must hold 32 bytes. */
  const char* json =
      "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
      " {\"op\": \"tvm_op\", \"name\": \"c1\", \"inputs\": [[0, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"copy\", \"num_outputs\": \"1\"}},"
      " {\"op\": \"tvm_op\", \"name\": \"c2\", \"inputs\": [[1, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"copy\", \"num_outputs\": \"1\"}},"
      " {\"op\": \"tvm_op\", \"name\": \"c3\", \"inputs\": [[0, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"copy\", \"num_outputs\": \"1\"}}],"
      " \"arg_nodes\": [0], \"heads\": [[3, 0, 0], [2, 0, 0]],"
      " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\", \"float32\", \"float32\", \"float32\"]],"
      "  \"storage_id\": [\"list_int\", [0, 1, 2, 1]],"
      "  \"shape\": [\"list_shape\", [[8], [2], [2], [8]]]},"
      " \"node_row_ptr\": [0, 1, 2, 3, 4]}";
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(json, &exec));
  TVMNDArray* big = utvm_graph_executor_output(exec, 0);
  /* Storage 1 holds 32 bytes although its first entry needs 8. */
  CHECK(utvm_data_range_valid(big->dl_tensor.data, 32));
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {0}, z[2] = {0};
  int64_t s8[1] = {8}, s2[1] = {2};
  DLTensor tx = f32_tensor(x, s8), ty = f32_tensor(y, s8), tz = f32_tensor(z, s2);
  CHECK_OK(utvm_graph_executor_set_input(exec, 0, &tx));
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_OK(utvm_graph_executor_get_output(exec, 0, &ty));
  CHECK_OK(utvm_graph_executor_get_output(exec, 1, &tz));
  CHECK(y[7] == 8 && z[0] == 1 && z[1] == 2);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(copy_and_nop_nodes_need_no_library_function) {
  const char* json =
      "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
      " {\"op\": \"tvm_op\", \"name\": \"cp\", \"inputs\": [[0, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"__copy\", \"num_outputs\": \"1\"}},"
      " {\"op\": \"tvm_op\", \"name\": \"reshape\", \"inputs\": [[1, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"__nop\", \"num_outputs\": \"1\"}}],"
      " \"arg_nodes\": [0], \"heads\": [[2, 0, 0]],"
      " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\", \"float32\", \"float32\"]],"
      "  \"storage_id\": [\"list_int\", [0, 1, 1]],"
      "  \"shape\": [\"list_shape\", [[4], [4], [2, 2]]]},"
      " \"node_row_ptr\": [0, 1, 2, 3]}";
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(json, &exec));
  float x[4] = {1, 2, 3, 4}, out[4] = {0};
  int64_t s4[1] = {4}, s22[2] = {2, 2};
  DLTensor tx = f32_tensor(x, s4), tout = {out, cpu, 2, f32, s22, NULL, 0};
  CHECK_OK(utvm_graph_executor_set_input(exec, 0, &tx));
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_OK(utvm_graph_executor_get_output(exec, 0, &tout));
  CHECK(out[0] == 1 && out[3] == 4);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(a_failing_operator_stops_the_run_with_its_message) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(graph_with("\"func_name\": \"twice\"", "\"func_name\": \"fail\""), &exec));
  CHECK_FAILS_WITH(utvm_graph_executor_run(exec), "graph node 3 failed with code -1: fail: broken on purpose");
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(graph_naming_a_missing_function_fails_at_create) {
  size_t heap_before = utvm_heap_bytes_in_use();
  utvm_graph_executor_t* exec = (utvm_graph_executor_t*)&exec;
  CHECK_FAILS_WITH(create_from(graph_with("\"func_name\": \"twice\"", "\"func_name\": \"thrice\""), &exec),
                   "node 3 calls thrice, which the module lacks");
  CHECK(exec == NULL);
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before); /* nothing left behind */
}

UTEST(create_refuses_other_devices_and_bad_modules) {
  utvm_graph_executor_t* exec = NULL;
  DLDevice gpu = {kDLCUDA, 0}, cpu1 = {kDLCPU, 1};
  CHECK_FAILS_WITH(utvm_graph_executor_create(kGraph, strlen(kGraph), load_lib(), gpu, &exec),
                   "device (2, 0) given; only cpu(0) is supported");
  CHECK_FAILS_WITH(utvm_graph_executor_create(kGraph, strlen(kGraph), load_lib(), cpu1, &exec),
                   "only cpu(0)");
  CHECK_FAILS_WITH(utvm_graph_executor_create(kGraph, strlen(kGraph), (TVMModuleHandle)0x1234, cpu, &exec),
                   "0x1234 is not a module");
  CHECK_FAILS_WITH(utvm_graph_executor_create(NULL, 10, load_lib(), cpu, &exec), "byte 0: expected '{'");
}

UTEST(storage_that_does_not_fit_fails_cleanly) {
  size_t heap_before = utvm_heap_bytes_in_use();
  utvm_graph_executor_t* exec = NULL;
  /* 1 GiB of float32: more than the test heap, but a size even 32-bit devices can express. */
  CHECK_FAILS_WITH(create_from(graph_with("[[4], [4], [4], [4]]", "[[4], [4], [4], [268435456]]"), &exec),
                   "out of memory: storage 3 of the graph needs");
  CHECK(exec == NULL);
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(degenerate_graphs_work) {
  utvm_graph_executor_t* exec = NULL;
  /* No nodes at all. */
  const char* empty =
      "{\"nodes\": [], \"arg_nodes\": [], \"heads\": [], \"node_row_ptr\": [0],"
      " \"attrs\": {\"dltype\": [\"list_str\", []], \"storage_id\": [\"list_int\", []],"
      " \"shape\": [\"list_shape\", []]}}";
  CHECK_OK(create_from(empty, &exec));
  CHECK_EQ_INT(utvm_graph_executor_num_inputs(exec), 0);
  CHECK_EQ_INT(utvm_graph_executor_num_outputs(exec), 0);
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_OK(utvm_graph_executor_release(exec));
  /* The output is the input itself; a scalar (ndim 0). */
  const char* identity =
      "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []}], \"arg_nodes\": [0],"
      " \"heads\": [[0, 0, 0]], \"node_row_ptr\": [0, 1],"
      " \"attrs\": {\"dltype\": [\"list_str\", [\"int32\"]], \"storage_id\": [\"list_int\", [0]],"
      " \"shape\": [\"list_shape\", [[]]]}}";
  CHECK_OK(create_from(identity, &exec));
  int32_t in = 42, out = 0;
  DLTensor tin = {&in, cpu, 0, {kDLInt, 32, 1}, NULL, NULL, 0};
  DLTensor tout = {&out, cpu, 0, {kDLInt, 32, 1}, NULL, NULL, 0};
  CHECK_OK(utvm_graph_executor_set_input(exec, 0, &tin));
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_OK(utvm_graph_executor_get_output(exec, 0, &tout));
  CHECK_EQ_INT(out, 42);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(released_executor_views_held_by_a_host_become_inert) {
  size_t heap_before = utvm_heap_bytes_in_use();
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  TVMNDArray* out = utvm_graph_executor_output(exec, 0);
  utvm_ndarray_retain(out); /* as the module's get_output does for a host */
  CHECK_OK(utvm_graph_executor_release(exec));
  /* The host's handle is still an NDArray, without data, and it can free it. */
  CHECK(utvm_ndarray_from_handle(out) == out);
  CHECK(out->dl_tensor.data == NULL);
  CHECK_OK(TVMArrayFree(&out->dl_tensor));
  CHECK(utvm_ndarray_from_handle(out) == NULL);
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(executor_views_cannot_be_freed_by_the_host_while_in_use) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  TVMNDArray* in = utvm_graph_executor_input(exec, 0);
  CHECK_FAILS_WITH(TVMArrayFree(&in->dl_tensor), "belongs to an executor");
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(two_executors_coexist) {
  utvm_graph_executor_t *a = NULL, *b = NULL;
  CHECK_OK(create_from(kGraph, &a));
  CHECK_OK(create_from(kGraph, &b));
  float one[4] = {1, 1, 1, 1}, out[4] = {0};
  int64_t s4[1] = {4};
  DLTensor t = f32_tensor(one, s4), tout = f32_tensor(out, s4);
  CHECK_OK(utvm_graph_executor_set_input(a, 0, &t));
  CHECK_OK(utvm_graph_executor_run(a));
  CHECK_OK(utvm_graph_executor_run(b));
  CHECK_OK(utvm_graph_executor_get_output(b, 0, &tout));
  CHECK(out[0] == 0);
  CHECK_OK(utvm_graph_executor_get_output(a, 0, &tout));
  CHECK(out[0] == 2);
  CHECK_OK(utvm_graph_executor_release(a));
  CHECK_OK(utvm_graph_executor_release(b));
  CHECK_OK(utvm_graph_executor_release(NULL));
}

/* A release that fails (here an array released more often than retained) says why with its
 * own code, and still frees the rest. */
UTEST(release_returns_the_code_of_a_failed_array_release) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(kGraph, &exec));
  size_t heap_with_it = utvm_heap_bytes_in_use();
  TVMNDArray* w = utvm_graph_executor_input(exec, 1);
  w->reference_count = 0; /* as if over-released: the executor's release of it fails */
  TVMAPISetLastError("");
  CHECK_EQ_INT(utvm_graph_executor_release(exec), kTvmErrorFunctionCallInvalidArg);
  CHECK_LAST_ERROR_HAS("released more often than retained");
  CHECK(utvm_heap_bytes_in_use() < heap_with_it); /* the executor and its tables went */
}

UTEST_MAIN()
