/*
 * Well-formed JSON that is not a usable graph: every inconsistency is refused at create
 * with a message naming it, and nothing stays allocated.
 */
#include "test_graph_support.h"

typedef struct {
  const char* from;
  const char* to;
  const char* message;
} edit_case_t;

static void check_edits_fail(const edit_case_t* cases, size_t n) {
  size_t heap_before = utvm_heap_bytes_in_use();
  for (size_t i = 0; i < n; i++) {
    utvm_graph_executor_t* exec = NULL;
    CHECK_FAILS_WITH(create_from(graph_with(cases[i].from, cases[i].to), &exec), cases[i].message);
    CHECK(exec == NULL);
  }
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

#define CHECK_EDITS_FAIL(cases) check_edits_fail(cases, sizeof(cases) / sizeof(cases[0]))

UTEST(nodes_that_cannot_run_are_refused) {
  static const edit_case_t cases[] = {
      {"\"op\": \"tvm_op\", \"name\": \"n_add\"", "\"op\": \"conv\", \"name\": \"n_add\"",
       "graph JSON: node 2 (n_add): op \"conv\" is neither \"null\" nor \"tvm_op\""},
      {"\"op\": \"tvm_op\", \"name\": \"n_add\"", "\"op\": \"a_much_longer_operator\", \"name\": \"n_add\"",
       "op is longer than 15 bytes"},
      {"{\"op\": \"null\", \"name\": \"w\", \"inputs\": []}", "{\"op\": \"null\", \"name\": \"w\", \"inputs\": [[0, 0]]}",
       "graph JSON: input node 1 (w) has inputs"},
      {"\"func_name\": \"twice\"", "\"func_name\": \"thrice\"",
       "graph JSON: node 3 calls thrice, which the module lacks"},
      {"\"func_name\": \"twice\"", "\"func_name\": \"\"", "graph JSON: node 3 (n_twice) has no attrs.func_name"},
      {"\"num_inputs\": \"2\"", "\"num_inputs\": \"3\"", "node 2 (n_add) says num_inputs 3 but lists 2 inputs"},
      {"\"num_outputs\": \"1\",", "\"num_outputs\": \"0\",", "node 2 (n_add) has num_outputs 0"},
      {"\"flatten_data\": \"0\"", "\"flatten_data\": \"1\"", "node 2 (n_add): flatten_data 1 is not supported"},
      {"\"func_name\": \"twice\"", "\"func_name\": \"__copy\", \"x\": \"\"", NULL},
  };
  /* The last case is valid (a __copy of the same size): check it separately. */
  check_edits_fail(cases, sizeof(cases) / sizeof(cases[0]) - 1);
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(graph_with(cases[8].from, cases[8].to), &exec));
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(node_inputs_must_be_earlier_outputs) {
  static const edit_case_t cases[] = {
      {"[[2, 0, 0]]", "[[7, 0, 0]]",
       "graph JSON: an input of node 3 refers to output 0 of node 7, which does not exist before it"},
      {"[[2, 0, 0]]", "[[3, 0, 0]]", "an input of node 3 refers to output 0 of node 3"},
      {"[[2, 0, 0]]", "[[2, 5, 0]]", "an input of node 3 refers to output 5 of node 2"},
      {"[[0, 0, 0], [1, 0, 0]]", "[[0, 0, 0], [3, 0, 0]]", "an input of node 2 refers to output 0 of node 3"},
      {"[[2, 0, 0]]", "[[2147483647, 0, 0]]", "refers to output 0 of node 2147483647"},
      {"[[2, 0, 0]]", "[[2147483648, 0, 0]]", "expected an integer up to 2147483647 for a node input"},
  };
  CHECK_EDITS_FAIL(cases);
}

UTEST(arg_nodes_and_heads_must_name_real_inputs_and_outputs) {
  static const edit_case_t cases[] = {
      {"\"arg_nodes\": [0, 1]", "\"arg_nodes\": [0, 2]",
       "graph JSON: arg_nodes[1] = 2 is not an input node, or a repeat"},
      {"\"arg_nodes\": [0, 1]", "\"arg_nodes\": [0, 9]", "arg_nodes[1] = 9 is not an input node"},
      {"\"arg_nodes\": [0, 1]", "\"arg_nodes\": [1, 1]", "arg_nodes[1] = 1 is not an input node, or a repeat"},
      {"\"heads\": [[3, 0, 0]]", "\"heads\": [[3, 1, 0]]", "graph JSON: head 0 refers to output 1 of node 3, which does not exist"},
      {"\"heads\": [[3, 0, 0]]", "\"heads\": [[3, 0, 0], [4, 0, 0]]", "head 1 refers to output 0 of node 4"},
  };
  CHECK_EDITS_FAIL(cases);
  /* A graph may keep some input nodes out of arg_nodes (they stay zero), or have no inputs. */
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(graph_with("\"arg_nodes\": [0, 1]", "\"arg_nodes\": [1]"), &exec));
  CHECK_EQ_INT(utvm_graph_executor_num_inputs(exec), 1);
  CHECK(strcmp(utvm_graph_executor_input_name(exec, 0), "w") == 0);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(node_row_ptr_must_match_the_nodes) {
  static const edit_case_t cases[] = {
      {"[0, 1, 2, 3, 4]", "[0, 1, 2, 3, 4, 5]", "graph JSON: node_row_ptr has 6 items; 4 nodes need 5"},
      {"[0, 1, 2, 3, 4]", "[0, 1, 2, 3]", "node_row_ptr has 4 items; 4 nodes need 5"},
      {"[0, 1, 2, 3, 4]", "[1, 2, 3, 4, 5]", "node_row_ptr runs 1..5, not 0..4 (the entries)"},
      {"[0, 1, 2, 3, 4]", "[0, 1, 2, 3, 3]", "node_row_ptr runs 0..3, not 0..4"},
      {"[0, 1, 2, 3, 4]", "[0, 1, 3, 3, 4]", "graph JSON: node_row_ptr disagrees with node 1's 1 outputs"},
      {"[0, 1, 2, 3, 4]", "[0, 2, 1, 3, 4]", "node_row_ptr disagrees with node 0's 1 outputs"},
  };
  CHECK_EDITS_FAIL(cases);
  /* node_row_ptr agrees with the nodes up to the __copy node 1 but puts its output past the
   * one entry (only node 2 disagrees): the copy's sizes are not compared with memory beyond
   * the entries, the row pointers are refused first. */
  static const char json[] =
      "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
      " {\"op\": \"tvm_op\", \"name\": \"c\", \"inputs\": [[0, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"__copy\", \"num_outputs\": \"1\"}},"
      " {\"op\": \"null\", \"name\": \"y\", \"inputs\": []}],"
      " \"arg_nodes\": [0], \"heads\": [[0, 0, 0]],"
      " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\"]],"
      "  \"storage_id\": [\"list_int\", [0]], \"shape\": [\"list_shape\", [[4]]]},"
      " \"node_row_ptr\": [0, 1, 2, 1]}";
  size_t heap_before = utvm_heap_bytes_in_use();
  utvm_graph_executor_t* exec = NULL;
  CHECK_FAILS_WITH(create_from(json, &exec), "graph JSON: node_row_ptr disagrees with node 2's 1 outputs");
  CHECK(exec == NULL);
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(entry_attributes_must_agree_and_make_sense) {
  static const edit_case_t cases[] = {
      {"[0, 1, 2, 3]]", "[0, 1, 2]]", "graph JSON: attrs: storage_id has 3 items, dltype has 4"},
      {"[[4], [4], [4], [4]]", "[[4], [4], [4], [4], [4]]", "attrs: shape has 5 items, dltype has 4"},
      {"[\"list_int\", [1, 1, 1, 1]]", "[\"list_int\", [1, 1, 1]]", "attrs: device_index has 3 items, dltype has 4"},
      {"\"device_index\"", "\"storage_scope\": [\"list_str\", [\"global\"]], \"device_index\"",
       "attrs: storage_scope has 1 items, dltype has 4"},
      {"[0, 1, 2, 3]]", "[0, 1, 2, 99]]",
       "graph JSON: entry 3: storage_id 99 is not in 0..3"},
      {"[[4], [4], [4], [4]]", "[[4], [4], [4], [1, 1, 1, 1, 1, 1, 4]]",
       "the shape of entry 3 has more than 6 dimensions (UTVM_MAX_NDIM)"},
      {"[[4], [4], [4], [4]]", "[[4], [4], [4], [-4]]", "expected a non-negative integer for a shape dimension"},
      {"[[4], [4], [4], [4]]", "[[4], [4], [4], [9223372036854775807, 9223372036854775807]]",
       "graph JSON: entry 3 is too large for this device"},
      {"\"float32\", \"float32\", \"float32\", \"float32\"", "\"float32\", \"float32\", \"float32\", \"cfloat\"",
       "entry 3: unknown dtype \"cfloat\""},
      {"\"float32\", \"float32\", \"float32\", \"float32\"", "\"float32\", \"\", \"float32\", \"float32\"",
       "entry 1 has dtype \"\", which has no size"},
      {"\"float32\", \"float32\", \"float32\", \"float32\"", "\"float32\", \"float32\", \"a_long_dtype_name\", \"float32\"",
       "dltype is longer than 15 bytes"},
      {"[\"list_int\", [1, 1, 1, 1]]", "[\"list_int\", [1, 1, 2, 1]]",
       "entry 2 is on device type 2; only cpu (1) is supported"},
      {"\"device_index\"", "\"storage_scope\": [\"list_str\", [\"global\", \"texture\", \"\", \"\"]], \"device_index\"",
       "storage scope \"texture\" (entry 1) is not supported"},
  };
  CHECK_EDITS_FAIL(cases);
}

UTEST(copy_nodes_must_copy_like_for_like) {
  static const edit_case_t cases[] = {
      {"\"func_name\": \"add\"", "\"func_name\": \"__copy\"", "node 2 (n_add): __copy takes 1 input and 1 output"},
      {"\"func_name\": \"twice\"", "\"func_name\": \"__copy\"", NULL},
  };
  check_edits_fail(cases, 1);
  /* __copy of float32[4] into float32[2]. */
  utvm_graph_executor_t* exec = NULL;
  static char json[4096];
  strcpy(json, graph_with(cases[1].from, cases[1].to));
  char* shape = strstr(json, "[[4], [4], [4], [4]]");
  memcpy(shape, "[[4], [4], [4], [2]]", 20);
  CHECK_FAILS_WITH(create_from(json, &exec), "graph JSON: __copy node 3 copies 16 bytes into 8");
}

UTEST(copy_sizes_count_an_empty_dimension_before_huge_ones) {
  /* 0 x (2^63 - 1) x (2^63 - 1) floats are 0 bytes, not an overflow: copied into 4 floats,
   * the sizes differ. */
  static const char json[] =
      "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
      " {\"op\": \"tvm_op\", \"name\": \"c\", \"inputs\": [[0, 0, 0]],"
      "  \"attrs\": {\"func_name\": \"__copy\", \"num_inputs\": \"1\", \"num_outputs\": \"1\"}}],"
      " \"arg_nodes\": [0], \"heads\": [[1, 0, 0]],"
      " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\", \"float32\"]],"
      "  \"storage_id\": [\"list_int\", [0, 1]],"
      "  \"shape\": [\"list_shape\", [[0, 9223372036854775807, 9223372036854775807], [4]]]},"
      " \"node_row_ptr\": [0, 1, 2]}";
  utvm_graph_executor_t* exec = NULL;
  CHECK_FAILS_WITH(create_from(json, &exec), "graph JSON: __copy node 1 copies 0 bytes into 16");
  CHECK(exec == NULL);
}

UTEST(too_many_operator_arguments_are_refused) {
  static char json[8192];
  char inputs[4096] = "";
  for (int i = 0; i < UTVM_MAX_ARGS; i++) strcat(inputs, i ? ", [0, 0, 0]" : "[0, 0, 0]");
  const char* format =
      "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
      " {\"op\": \"tvm_op\", \"name\": \"wide\", \"inputs\": [%s],"
      "  \"attrs\": {\"func_name\": \"record\", \"num_outputs\": \"%d\"}}],"
      " \"arg_nodes\": [0], \"heads\": [[1, 0, 0]],"
      " \"attrs\": {\"dltype\": [\"list_str\", [\"float32\", \"float32\", \"float32\"]],"
      "  \"storage_id\": [\"list_int\", [0, 1, 2]], \"shape\": [\"list_shape\", [[4], [4], [4]]]},"
      " \"node_row_ptr\": [0, 1, %d]}";
  utvm_graph_executor_t* exec = NULL;
  snprintf(json, sizeof(json), format, inputs, 1, 2);
  CHECK_FAILS_WITH(create_from(json, &exec), "graph JSON: node 1 (wide) has 33 arguments, more than UTVM_MAX_ARGS (32)");
  /* UTVM_MAX_ARGS arguments exactly are fine, and all reach the operator. */
  char* last = strrchr(inputs, '[');
  last[-2] = '\0'; /* drop ", [0, 0, 0]": 31 inputs and 2 outputs */
  snprintf(json, sizeof(json), format, inputs, 2, 3);
  CHECK_FAILS_WITH(create_from(json, &exec), "has 33 arguments");
  last = strrchr(inputs, '[');
  last[-2] = '\0'; /* 30 inputs and 2 outputs */
  snprintf(json, sizeof(json), format, inputs, 2, 3);
  CHECK_OK(create_from(json, &exec));
  last_call.calls = 0;
  CHECK_OK(utvm_graph_executor_run(exec));
  CHECK_EQ_INT(last_call.num_args, UTVM_MAX_ARGS);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST_MAIN()
