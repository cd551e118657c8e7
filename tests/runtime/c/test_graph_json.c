/*
 * Graph JSON reading: syntax errors reported with their byte offset and what was expected,
 * hostile input (nesting, huge numbers, unterminated strings), keys (unknown, repeated,
 * missing), and what real graphs contain that TVM's CRT refuses.
 */
#include "test_graph_support.h"

typedef struct {
  const char* json;
  const char* message;
} json_case_t;

static void check_all_fail(const json_case_t* cases, size_t n) {
  size_t heap_before = utvm_heap_bytes_in_use();
  for (size_t i = 0; i < n; i++) {
    utvm_graph_executor_t* exec = NULL;
    CHECK_FAILS_WITH(create_from(cases[i].json, &exec), cases[i].message);
    CHECK(exec == NULL);
  }
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

/* Nesting graph_json_skip() still accepts inside an unknown key. */
#define GRAPH_DEPTH_OK 32

#define CHECK_ALL_FAIL(cases) check_all_fail(cases, sizeof(cases) / sizeof(cases[0]))

UTEST(json_syntax_errors_name_the_byte_and_what_was_expected) {
  static const json_case_t cases[] = {
      {"", "graph JSON: byte 0: expected '{' for the graph (a JSON object)"},
      {"   [1, 2]", "graph JSON: byte 3: expected '{' for the graph"},
      {"{\"nodes\": [", "graph JSON: byte 11: expected '{' for a node"},
      {"{\"nodes\" []}", "graph JSON: byte 9: expected ':' for an object key"},
      {"{nodes: []}", "graph JSON: byte 1: expected a string for an object key"},
      {"{\"nodes\": [] \"heads\": []}", "graph JSON: byte 13: expected ',' or '}'"},
      {"{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []} {}]}", "graph JSON: byte 53: expected ',' or ']'"},
      {"{\"nodes\": [],}", "graph JSON: byte 13: expected a string for an object key"},
      {"{\"arg_nodes\": [0,]}", "graph JSON: byte 17: expected an integer for arg_nodes"},
      {"{\"arg_nodes\": [,0]}", "graph JSON: byte 15: expected an integer for arg_nodes"},
      {"{\"arg_nodes\": [-1]}", "graph JSON: byte 15: expected a non-negative integer for arg_nodes"},
      {"{\"arg_nodes\": [01]}", "graph JSON: byte 16: expected no leading zeros for arg_nodes"},
      {"{\"arg_nodes\": [1.5]}", "byte 16: expected an integer (not a fraction or exponent) for arg_nodes"},
      {"{\"arg_nodes\": [1e3]}", "expected an integer (not a fraction or exponent)"},
      {"{\"arg_nodes\": [\"0\"]}", "byte 15: expected an integer for arg_nodes"},
      {"{\"x\": tru}", "graph JSON: byte 6: expected a value"},
      {"{\"x\": nul}", "graph JSON: byte 6: expected a value"},
      {"{\"x\": -}", "graph JSON: byte 7: expected a digit"},
      {"{\"x\": 1.}", "graph JSON: byte 8: expected a digit after '.'"},
      {"{\"x\": 1e+}", "graph JSON: byte 9: expected a digit in the exponent"},
      {"{\"x\": [1 2]}", "graph JSON: byte 9: expected ',' or ']'"},
      {"{\"x\": {\"a\" 1}}", "graph JSON: byte 11: expected ':' for an object key"},
      {"{\"x\": {\"a\": 1,}}", "graph JSON: byte 14: expected a string for an object key"},
      {"{\"x\": 'single'}", "graph JSON: byte 6: expected a value"},
      {"{\"x\": 1} trailing", "graph JSON: byte 9: expected the end of the graph JSON"},
      {"{\"x\": 1}}", "graph JSON: byte 8: expected the end of the graph JSON"},
  };
  CHECK_ALL_FAIL(cases);
}

UTEST(skipped_values_close_each_container_with_its_own_bracket) {
  /* Inside an unknown key: the reader remembers, level by level, whether it is in an array
   * or an object, so a bracket of the other kind is refused where it comes. */
  static const json_case_t cases[] = {
      {"{\"x\": [{\"a\": [1]}, 2}", "graph JSON: byte 20: expected ',' or ']'"},
      {"{\"x\": {\"a\": [1, {\"b\": 2}]]}", "graph JSON: byte 25: expected ',' or '}'"},
      {"{\"x\": [[{\"a\": {}}], {\"b\": [[]]}}", "graph JSON: byte 31: expected ',' or ']'"},
  };
  CHECK_ALL_FAIL(cases);
}

UTEST(hostile_json_is_an_error_not_a_crash) {
  static char deep[4096], deep_ok[256], huge[256], long_string[600];
  /* Nesting far deeper than anything a graph needs, inside an unknown key. */
  strcpy(deep, "{\"x\": ");
  for (int i = 0; i < 2000; i++) strcat(deep, "[");
  strcpy(deep_ok, "{\"x\": ");
  for (int i = 0; i < GRAPH_DEPTH_OK; i++) strcat(deep_ok, i % 2 ? "{\"k\": " : "[");
  strcat(deep_ok, "1");
  for (int i = GRAPH_DEPTH_OK - 1; i >= 0; i--) strcat(deep_ok, i % 2 ? "}" : "]");
  strcat(deep_ok, "}");
  snprintf(huge, sizeof(huge), "{\"node_row_ptr\": [0, 99999999999999999999999999999999]}");
  strcpy(long_string, "{\"nodes\": [{\"op\": \"null\", \"name\": \"");
  memset(long_string + strlen(long_string), 'n', 300);
  strcat(long_string, "\"}]}");
  const json_case_t cases[] = {
      {deep, "graph JSON: byte 38: nested deeper than 32 levels"},
      {huge, "graph JSON: byte 21: expected an integer up to 2147483647 for node_row_ptr"},
      {"{\"node_row_ptr\": [2147483648]}", "byte 18: expected an integer up to 2147483647"},
      /* 2^63 * 100: its running value wraps to 0 before the last digit, which is no
       * leading zero. */
      {"{\"node_row_ptr\": [922337203685477580800]}",
       "byte 18: expected an integer up to 2147483647"},
      {"{\"attrs\": {\"shape\": [\"list_shape\", [[9223372036854775808]]]}}",
       "expected an integer up to 9223372036854775807 for a shape dimension"},
      {"{\"nodes\": [{\"op\": \"nul", "graph JSON: byte 18: unterminated string for op"},
      {"{\"nodes\": [{\"op\": \"null\", \"name\": \"x\\", "byte 37: expected an escape"},
      {"{\"nodes\": [{\"na", "graph JSON: byte 12: unterminated string for an object key"},
      {"{\"x\": \"abc", "graph JSON: byte 6: unterminated string"},
      {"{\"x\": \"a\\qb\"}", "graph JSON: byte 9: expected an escape"},
      {"{\"x\": \"a\\u12\"}", "graph JSON: byte 12: expected four hex digits after \\u"},
      {"{\"x\": \"a\\u0000\"}", "graph JSON: byte 14: expected a character other than \\u0000"},
      {"{\"x\": \"tab\there\"}", "graph JSON: byte 10: expected '\"' (control characters must be escaped)"},
      {long_string, "graph JSON: byte 34: a node name is longer than 127 bytes"},
  };
  CHECK_ALL_FAIL(cases);
  /* 32 levels inside "x" are fine for an unknown key: the error is then the missing keys. */
  utvm_graph_executor_t* exec = NULL;
  CHECK_FAILS_WITH(create_from(deep_ok, &exec), "the graph has no \"nodes\"");
}

UTEST(text_ends_at_the_given_length_or_its_first_nul) {
  utvm_graph_executor_t* exec = NULL;
  /* A terminating NUL counted in the length is the end of the text... */
  CHECK_OK(utvm_graph_executor_create(kGraph, strlen(kGraph) + 1, load_lib(), cpu, &exec));
  CHECK_OK(utvm_graph_executor_release(exec));
  /* ...and so is one in the middle (here inside the key that starts at byte 98). */
  static char cut[4096];
  strcpy(cut, kGraph);
  cut[100] = '\0';
  CHECK_FAILS_WITH(utvm_graph_executor_create(cut, strlen(kGraph), load_lib(), cpu, &exec),
                   "byte 98: unterminated string for an object key");
  /* A length short of the text cuts it. */
  CHECK_FAILS_WITH(utvm_graph_executor_create(kGraph, strlen(kGraph) - 1, load_lib(), cpu, &exec),
                   "expected ',' or '}'");
}

/* The input named by `name_json` (a JSON "name" member) reads back, by name and index, as
 * `expected`. */
static void check_input_name(const char* name_json, const char* expected) {
  utvm_graph_executor_t* exec = NULL;
  CHECK_OK(create_from(graph_with("\"name\": \"x\"", name_json), &exec));
  CHECK(strcmp(utvm_graph_executor_input_name(exec, 0), expected) == 0);
  CHECK_EQ_INT(utvm_graph_executor_input_index(exec, expected), 0);
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(escapes_in_names_are_decoded) {
  check_input_name("\"name\": \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\"",
                   "x\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac");
}

UTEST(utf8_in_names_is_kept_as_written) {
  /* JSON text is UTF-8: bytes of 0x80 and above are stored as they are, not re-encoded. */
  check_input_name("\"name\": \"x\xc3\xa9\xe2\x82\xac\"", "x\xc3\xa9\xe2\x82\xac");
}

UTEST(unknown_keys_of_any_type_are_skipped) {
  utvm_graph_executor_t* exec = NULL;
  /* At the top, in nodes, in node attrs (strings), in graph attrs; also keys longer than any
   * we know, and the optional graph attrs. */
  const char* json = graph_with(
      "\"arg_nodes\"",
      "\"metadata\": {\"a\": [1, -2.5e-3, true, false, null, {\"b\": {}}, []], \"c\": \"\\u0041\"},"
      " \"an_unusually_long_key_name_that_we_do_not_know\": 0,"
      " \"arg_nodes\"");
  static char buf[8192];
  strcpy(buf, json);
  const char* extras[][2] = {
      {"\"op\": \"null\", \"name\": \"x\"", "\"op\": \"null\", \"control_deps\": [], \"extra\": {\"k\": [1]}, \"name\": \"x\""},
      {"\"hash\": \"abc\"", "\"hash\": \"abc\", \"kernel_layout\": \"OIHW\", \"data_layout\": \"NCHW\", \"a_very_long_attribute_name\": \"v\""},
      {"\"device_index\"", "\"storage_scope\": [\"list_str\", [\"global\", \"\", \"global\", \"global\"]], \"mystery\": [\"size_t\", 3], \"other\": [\"list_str\", [\"a\"]], \"device_index\""},
  };
  for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
    static char tmp[8192];
    char* at = strstr(buf, extras[i][0]);
    CHECK(at != NULL);
    snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(at - buf), buf, extras[i][1], at + strlen(extras[i][0]));
    strcpy(buf, tmp);
  }
  CHECK_OK(create_from(buf, &exec));
  CHECK_EQ_INT(utvm_graph_executor_num_inputs(exec), 2);
  CHECK_OK(utvm_graph_executor_release(exec));
  /* "attr" is an alias of "attrs" for nodes, and the input version may be left out. */
  CHECK_OK(create_from(graph_with("\"inputs\": [[2, 0, 0]],  \"attrs\"", "\"inputs\": [[2, 0]],  \"attr\""), &exec));
  CHECK_OK(utvm_graph_executor_release(exec));
}

UTEST(repeated_keys_are_refused) {
  const json_case_t cases[] = {
      {"{\"nodes\": [], \"nodes\": []}", "graph JSON: byte 22: duplicate key \"nodes\""},
      {graph_with("\"name\": \"x\",", "\"name\": \"x\", \"name\": \"y\","), "duplicate key \"name\""},
  };
  CHECK_ALL_FAIL(cases);
  utvm_graph_executor_t* exec = NULL;
  CHECK_FAILS_WITH(create_from(graph_with("\"hash\": \"abc\"", "\"hash\": \"abc\", \"func_name\": \"add\""), &exec),
                   "duplicate key \"func_name\"");
  CHECK_FAILS_WITH(create_from(graph_with("\"device_index\"", "\"shape\": [\"list_shape\", []], \"device_index\""), &exec),
                   "duplicate key \"shape\"");
  CHECK_FAILS_WITH(create_from(graph_with("\"attrs\": {\"func_name\": \"add\"", "\"attr\": {}, \"attrs\": {\"func_name\": \"add\""), &exec),
                   "expected \"attrs\" or \"attr\", not both");
}

UTEST(missing_keys_are_named) {
  utvm_graph_executor_t* exec = NULL;
  static const struct {
    const char* from;
    const char* to;
    const char* message;
  } cases[] = {
      {"\"nodes\":", "\"nodez\":", "graph JSON: the graph has no \"nodes\""},
      {"\"arg_nodes\":", "\"arg_nodez\":", "graph JSON: the graph has no \"arg_nodes\""},
      {"\"heads\":", "\"headz\":", "graph JSON: the graph has no \"heads\""},
      {"\"node_row_ptr\":", "\"node_row_ptz\":", "graph JSON: the graph has no \"node_row_ptr\""},
      {"\"attrs\": {\"dltype\"", "\"attrz\": {\"dltype\"", "graph JSON: the graph has no \"attrs\""},
      {"\"dltype\":", "\"dltypz\":", "graph JSON: attrs has no \"dltype\""},
      {"\"storage_id\":", "\"storage_iz\":", "graph JSON: attrs has no \"storage_id\""},
      {"\"shape\":", "\"shapz\":", "graph JSON: attrs has no \"shape\""},
      {"{\"op\": \"null\", \"name\": \"x\", ", "{\"name\": \"x\", ", "graph JSON: node 0 has no \"op\""},
      {"\"name\": \"w\", ", "", "graph JSON: node 1 has no \"name\""},
      {"\"inputs\": [[2, 0, 0]],", "", "graph JSON: node 3 has no \"inputs\""},
      {"\"func_name\": \"twice\", ", "", "graph JSON: node 3 (n_twice) has no attrs.func_name"},
      {",  \"attrs\": {\"func_name\": \"twice\", \"num_inputs\": \"1\", \"num_outputs\": \"1\"}", "",
       "graph JSON: node 3 (n_twice) has no attrs.func_name"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_FAILS_WITH(create_from(graph_with(cases[i].from, cases[i].to), &exec), cases[i].message);
  }
}

UTEST(values_of_the_wrong_type_are_refused) {
  utvm_graph_executor_t* exec = NULL;
  static const struct {
    const char* from;
    const char* to;
    const char* message;
  } cases[] = {
      {"\"nodes\": [", "\"nodes\": {\"a\": 1}, \"x\": [", "expected '[' for nodes"},
      {"\"arg_nodes\": [0, 1]", "\"arg_nodes\": 0", "expected '[' for arg_nodes"},
      {"\"heads\": [[3, 0, 0]]", "\"heads\": [3]", "expected '[' for heads"},
      {"\"heads\": [[3, 0, 0]]", "\"heads\": [[3, 0, 0, 0]]", "expected ']' after [node, output, version] for heads"},
      {"\"heads\": [[3, 0, 0]]", "\"heads\": [[3]]", "heads has 1 numbers, not [node, output(, version)]"},
      {"\"inputs\": [[2, 0, 0]]", "\"inputs\": [[2, \"0\"]]", "expected an integer for a node input"},
      {"\"op\": \"null\", \"name\": \"x\"", "\"op\": null, \"name\": \"x\"", "expected a string for op"},
      {"\"name\": \"x\"", "\"name\": 7", "expected a string for a node name"},
      {"\"hash\": \"abc\"", "\"hash\": 12", "expected a string for hash"},
      {"\"num_outputs\": \"1\",", "\"num_outputs\": 1,", "expected a string for num_outputs"},
      {"\"num_outputs\": \"1\",", "\"num_outputs\": \"one\",", "expected decimal digits in a string for num_outputs"},
      {"\"num_outputs\": \"1\",", "\"num_outputs\": \"\",", "expected decimal digits in a string for num_outputs"},
      {"\"num_outputs\": \"1\",", "\"num_outputs\": \"12345678\",", "num_outputs is longer than 7 bytes"},
      {"\"attrs\": {\"func_name\": \"add\"", "\"attrs\": [\"func_name\", \"add\"], \"x\": {\"func_name\": \"add\"", "expected '{' for node attrs"},
      {"\"dltype\": [\"list_str\"", "\"dltype\": [\"list_int\"", "dltype is typed \"list_int\"; \"list_str\" expected"},
      {"\"storage_id\": [\"list_int\"", "\"storage_id\": [\"list_str\"", "storage_id is typed \"list_str\"; \"list_int\" expected"},
      {"\"shape\": [\"list_shape\"", "\"shape\": [\"list_int\"", "shape is typed \"list_int\"; \"list_shape\" expected"},
      {"\"device_index\": [\"list_int\"", "\"device_index\": [\"list_str\"", "device_index is typed \"list_str\""},
      {"\"shape\": [\"list_shape\", [[4], [4], [4], [4]]]", "\"shape\": [\"list_shape\", [[4], [4], [4], [4]], 5]", "expected ']' for shape"},
      {"\"shape\": [\"list_shape\", [[4], [4], [4], [4]]]", "\"shape\": [\"list_shape\" [[4], [4], [4], [4]]]", "expected ',' for shape"},
      {"\"shape\": [\"list_shape\", [[4], [4], [4], [4]]]", "\"shape\": [\"list_shape\", [4, 4, 4, 4]]", "expected '[' for a shape"},
      {"\"dltype\": [\"list_str\", [\"float32\"", "\"dltype\": [\"list_str\", [32", "expected a string for dltype"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_FAILS_WITH(create_from(graph_with(cases[i].from, cases[i].to), &exec), cases[i].message);
  }
}

UTEST_MAIN()
