/*
 * Graph JSON (crt-abi.md §8.1) -> graph_t. Two passes over the text run the same code:
 * the first only counts, the second fills the arrays of one allocation the counts sized.
 * Keys may come in any order. Unknown keys are skipped whatever their value (TVM's CRT
 * refuses several, e.g. "storage_scope"); repeated or missing required keys are errors.
 * Every cross reference is checked once the second pass is done.
 */
#include <stddef.h>
#include <string.h>
#include <utvm/error.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>

#include "graph_json.h"
#include "graph_model.h"

#define INVALID kTvmErrorFunctionCallInvalidArg
#define UL(v) ((unsigned long)(v))
#define KEY_SIZE 16 /* longer keys are unknown ones */

/* Every key of the four objects, one table: the document's, the entry attributes' (their
 * lists are named by these keys too: key_name(list)), a node's and a node's attrs'. */
enum {
  LIST_NODES, LIST_ARG_NODES, LIST_HEADS, LIST_ROW_PTR, KEY_ATTRS, LIST_DLTYPE,
  LIST_STORAGE_ID, LIST_SHAPE, LIST_DEVICE_INDEX, LIST_STORAGE_SCOPE, LIST_INPUTS, NUM_LISTS,
  KEY_OP = NUM_LISTS, KEY_NAME, KEY_INPUTS, KEY_NODE_ATTRS, KEY_NODE_ATTR, KEY_FUNC_NAME,
  KEY_NUM_INPUTS, KEY_NUM_OUTPUTS, KEY_FLATTEN_DATA, NUM_KEYS,
  /* Not keys: the values a few strings are compared with, found the way keys are. */
  WORD_NULL = NUM_KEYS, WORD_TVM_OP, WORD_NOP, WORD_COPY, WORD_NO_SCOPE, WORD_GLOBAL
};
/* The "attrs" key names no list: its count holds the bytes of the input nodes' names. */
#define COUNT_NAME_BYTES KEY_ATTRS
#define FIRST_ATTR LIST_DLTYPE
#define NUM_ATTRS (LIST_INPUTS - FIRST_ATTR)

/* The keys in that order, one after the other, each with its NUL (no table of pointers). */
static const char kKeys[] =
    "nodes\0arg_nodes\0heads\0node_row_ptr\0attrs\0dltype\0storage_id\0shape\0device_index\0"
    "storage_scope\0node inputs\0op\0name\0inputs\0attrs\0attr\0func_name\0num_inputs\0"
    "num_outputs\0flatten_data\0null\0tvm_op\0__nop\0__copy\0\0global";

/* Key k's text. */
static const char* key_name(int k) {
  const char* name = kKeys;
  while (k-- > 0) name += strlen(name) + 1;
  return name;
}

/* The index of s among the n keys from `first` on, or -1. Not inlined: its callers share
 * one loop. */
__attribute__((noinline)) static int find_key(const char* s, int first, int n) {
  for (int i = 0; i < n; i++) {
    if (strcmp(s, key_name(first + i)) == 0) return i;
  }
  return -1;
}

/* The objects: what they are called (for messages: an offset into OBJECT_NAMES), the
 * index of their first key and how many they have. The names follow each other, each
 * with its NUL: the size of the names up to one object is the offset of the next's. */
enum { OBJ_DOCUMENT, OBJ_ATTRS, OBJ_NODE, OBJ_NODE_ATTRS };
#define NAMES_TO_DOCUMENT "the graph (a JSON object)"
#define NAMES_TO_ATTRS NAMES_TO_DOCUMENT "\0" "attrs"
#define NAMES_TO_NODE NAMES_TO_ATTRS "\0" "a node"
#define OBJECT_NAMES NAMES_TO_NODE "\0" "node attrs"
static const struct {
  uint8_t what, first, n;
} kObjects[] = {
    {0, 0, 5},
    {sizeof(NAMES_TO_DOCUMENT), FIRST_ATTR, NUM_ATTRS},
    {sizeof(NAMES_TO_ATTRS), KEY_OP, 5},
    {sizeof(NAMES_TO_NODE), KEY_FUNC_NAME, 4},
};

typedef struct {
  graph_json_t j;
  graph_t* g;
  bool fill; /* false: counting pass, g's arrays are not allocated yet */
  TVMModuleHandle module;
  /* With messages, the name of the list parse_list() reads (a node's inputs, a list inside
   * the nodes list, set their own: read_element() reads it only for lists of values). */
  const char* what;
  /* Elements read of each list; LIST_INPUTS counts the inputs of all nodes so far,
   * COUNT_NAME_BYTES the bytes of their names, and COUNT_IO (set once counted) the graph's
   * inputs and outputs, for the executor's io table. */
  uint32_t count[NUM_LISTS + 1];
} parser_t;
#define COUNT_IO NUM_LISTS

/* Reads the value of known key k (its index in kKeys); ctx is the node being read. */
static int read_value(parser_t* p, int k, void* ctx);

/* Reads an object: read_value() reads the value of each known key, unknown keys are
 * skipped (in a node's attrs, they must have string values). A key seen before is refused;
 * *seen gets bit i of each known key read (i counted from the object's first key). */
static int read_object(parser_t* p, int object, uint32_t* seen, void* ctx) {
  graph_json_iter_t it;
  char key[KEY_SIZE];
  int first = kObjects[object].first;
  int rc = graph_json_enter(&p->j, '{', &it,
                            GRAPH_JSON_WHAT(&OBJECT_NAMES[kObjects[object].what]));
  while (rc == 0 && (rc = graph_json_more(&p->j, &it)) == GRAPH_JSON_MORE) {
    if ((rc = graph_json_key(&p->j, key, sizeof(key))) != 0) break;
    int k = find_key(key, first, kObjects[object].n);
    if (k < 0) {
      const char* what = GRAPH_JSON_WHAT(key[0] != '\0' ? key : "a node attribute");
      rc = object != OBJ_NODE_ATTRS ? graph_json_skip(&p->j) /* e.g. "control_deps" */
                                     : graph_json_string(&p->j, NULL, 0, what);
      continue;
    }
    if (*seen & 1u << k) {
      return utvm_fail(INVALID, "graph JSON: byte %lu: duplicate key \"%s\"", UL(p->j.pos), key);
    }
    *seen |= 1u << k;
    rc = read_value(p, first + k, ctx);
  }
  return rc;
}

/* The first key of `missing` (bit i: key first + i). Callers only name it in a message,
 * so without messages it is never called (`unused` says so to clang). Not inlined: three
 * callers share it. */
__attribute__((noinline, unused)) static const char* missing_key(uint32_t missing, int first) {
  return key_name(first + __builtin_ctz(missing));
}

/* [node, output] or [node, output, version] into out; the version is not used. */
static int read_ref(parser_t* p, graph_ref_t* out, const char* what) {
  graph_json_iter_t it;
  uint32_t version, n = 0; /* the version is read but not kept */
  uint32_t* const number[3] = {&out->node, &out->index, &version};
  int rc = graph_json_enter(&p->j, '[', &it, what);
  while (rc == 0 && (rc = graph_json_more(&p->j, &it)) == GRAPH_JSON_MORE) {
    if (n == 3) return GRAPH_JSON_EXPECTED(&p->j, "']' after [node, output, version]", what);
    rc = graph_json_uint(&p->j, false, number[n], what);
    n++;
  }
  if (rc == 0 && n < 2) {
    rc = utvm_fail(INVALID, "graph JSON: byte %lu: %s has %lu numbers, not [node, output(, "
                   "version)]", UL(p->j.pos), what, UL(n));
  }
  return rc;
}

static int parse_node(parser_t* p, uint32_t index, graph_node_t* node);

/* Where the elements of each list go (second pass): the array (offset of its pointer in
 * graph_t), the field in an element and the element size (0: not stored). */
_Static_assert(sizeof(graph_entry_t) <= UINT8_MAX, "UTVM_MAX_NDIM too large for kStores' bytes");
static const struct {
  uint8_t array, field, stride;
} kStores[NUM_LISTS] = {
    [LIST_NODES] = {offsetof(graph_t, nodes), 0, sizeof(graph_node_t)},
    [LIST_ARG_NODES] = {offsetof(graph_t, arg_nodes), 0, sizeof(uint32_t)},
    [LIST_HEADS] = {offsetof(graph_t, heads), 0, sizeof(graph_ref_t)},
    [LIST_ROW_PTR] = {offsetof(graph_t, row_ptr), 0, sizeof(uint32_t)},
    [LIST_DLTYPE] = {offsetof(graph_t, entries), offsetof(graph_entry_t, tensor.dtype),
                     sizeof(graph_entry_t)},
    [LIST_STORAGE_ID] = {offsetof(graph_t, entries), offsetof(graph_entry_t, storage_id),
                         sizeof(graph_entry_t)},
    [LIST_SHAPE] = {offsetof(graph_t, entries), 0, sizeof(graph_entry_t)}, /* the entry */
    [LIST_INPUTS] = {offsetof(graph_t, inputs), 0, sizeof(graph_ref_t)},
};

/* Where an element is read when it is not stored (or not yet: the counting pass). */
typedef union {
  uint32_t index;
  graph_ref_t ref;
  DLDataType dtype;
  graph_entry_t entry; /* a shape: its dimensions and ndim */
  graph_node_t node;
} element_t;

/* Reads and checks element e of the list `list` into *out: a uint32_t, a graph_ref_t, a
 * DLDataType, (a shape) a graph_entry_t or a graph_node_t, as the list holds. Not inlined:
 * parse_list's loop then stays one loop. */
__attribute__((noinline)) static int read_element(parser_t* p, int list, uint32_t e,
                                                  void* out) {
  char s[16];
  int rc;
  if (list == LIST_NODES) return parse_node(p, e, out);
  const char* what = GRAPH_JSON_WHAT(p->what);
  if (list == LIST_HEADS || list == LIST_INPUTS) {
    rc = read_ref(p, out, list == LIST_INPUTS ? GRAPH_JSON_WHAT("a node input") : what);
  } else if (list == LIST_DLTYPE || list == LIST_STORAGE_SCOPE) {
    rc = graph_json_string(&p->j, s, sizeof(s), what);
    if (rc == 0 && list == LIST_STORAGE_SCOPE && find_key(s, WORD_NO_SCOPE, 2) < 0) {
      return utvm_fail(INVALID, "graph JSON: byte %lu: storage scope \"%s\" (entry %lu) is not "
                       "supported", UL(p->j.pos), s, UL(e));
    }
    DLDataType* dtype = out;
    if (rc == 0 && list == LIST_DLTYPE && (rc = utvm_dtype_parse(s, dtype)) != 0) {
      return utvm_fail(rc, "graph JSON: byte %lu: entry %lu: %s", UL(p->j.pos), UL(e),
                       TVMGetLastError());
    }
    if (rc == 0 && list == LIST_DLTYPE && dtype->bits * dtype->lanes == 0) {
      return utvm_fail(INVALID, "graph JSON: byte %lu: entry %lu has dtype \"%s\", which has "
                       "no size", UL(p->j.pos), UL(e), s);
    }
  } else if (list == LIST_SHAPE) {
    graph_json_iter_t dims;
    uint32_t ndim = 0;
    graph_entry_t* entry = out;
    rc = graph_json_enter(&p->j, '[', &dims, GRAPH_JSON_WHAT("a shape"));
    while (rc == 0 && (rc = graph_json_more(&p->j, &dims)) == GRAPH_JSON_MORE) {
      if (ndim == UTVM_MAX_NDIM) {
        return utvm_fail(INVALID, "graph JSON: byte %lu: the shape of entry %lu has more than "
                         "%d dimensions (UTVM_MAX_NDIM)", UL(p->j.pos), UL(e), UTVM_MAX_NDIM);
      }
      rc = graph_json_uint(&p->j, true, &entry->shape[ndim],
                           GRAPH_JSON_WHAT("a shape dimension"));
      ndim++;
    }
    /* The entry's tensor: zeroed, its data set by the executor once storage is allocated. */
    entry->tensor.ndim = (int32_t)ndim;
    entry->tensor.shape = entry->shape;
    entry->tensor.device.device_type = kDLCPU;
  } else {
    uint32_t* index = out;
    rc = graph_json_uint(&p->j, false, index, what);
    if (rc == 0 && list == LIST_DEVICE_INDEX && *index != kDLCPU) {
      return utvm_fail(INVALID, "graph JSON: byte %lu: entry %lu is on device type %lu; only "
                       "cpu (1) is supported", UL(p->j.pos), UL(e), UL(*index));
    }
  }
  return rc;
}

/* Reads the list `list`: each element is checked and, in the second pass, read into its
 * place where kStores says. */
static int parse_list(parser_t* p, int list) {
  graph_json_iter_t it;
  uint32_t first = p->count[list], i = first;
  /* With messages, the list's name is kept for read_element() (one lookup per list). */
  int rc = graph_json_enter(&p->j, '[', &it, GRAPH_JSON_WHAT(p->what = key_name(list)));
  while (rc == 0 && (rc = graph_json_more(&p->j, &it)) == GRAPH_JSON_MORE) {
    element_t scratch;
    void* out = &scratch;
    if (p->fill && kStores[list].stride != 0) {
      uint8_t* array;
      memcpy(&array, (uint8_t*)p->g + kStores[list].array, sizeof(array));
      out = array + (size_t)i * kStores[list].stride + kStores[list].field;
    }
    rc = read_element(p, list, i - first, out);
    i++;
  }
  p->count[list] = i;
  return rc;
}

/* ---- nodes ---- */

typedef struct {
  uint32_t seen;
  uint32_t count[3]; /* num_inputs, num_outputs, flatten_data */
  char func_name[UTVM_MAX_NAME_LEN];
} node_attrs_t;

/* A count written as a string of decimal digits, e.g. "num_outputs": "1". */
static int read_count_attr(parser_t* p, uint32_t* out, const char* key) {
  char s[8];
  uint32_t v = 0;
  int rc = graph_json_string(&p->j, s, sizeof(s), key);
  if (rc != 0) return rc;
  const char* c = s;
  do { /* at least one digit, then up to the NUL */
    if ((uint8_t)(*c - '0') > 9) {
      return utvm_fail(INVALID, "graph JSON: byte %lu: expected decimal digits in a string for %s",
                       UL(p->j.pos), key);
    }
    v = v * 10 + (uint32_t)(*c - '0');
  } while (*++c != '\0');
  *out = v;
  return 0;
}

/* Checks a tvm_op node's attrs and resolves its function (second pass). */
static int describe_op(parser_t* p, uint32_t index, const char* name, const node_attrs_t* a,
                       graph_node_t* node) {
  if (a->func_name[0] == '\0') { /* absent or empty */
    return utvm_fail(INVALID, "graph JSON: node %lu (%s) has no attrs.func_name", UL(index), name);
  }
  if ((a->seen & 1u << (KEY_NUM_INPUTS - KEY_FUNC_NAME)) && a->count[0] != node->num_inputs) {
    return utvm_fail(INVALID, "graph JSON: node %lu (%s) says num_inputs %lu but lists %lu inputs",
                     UL(index), name, UL(a->count[0]), UL(node->num_inputs));
  }
  if (a->count[1] == 0) {
    return utvm_fail(INVALID, "graph JSON: node %lu (%s) has num_outputs 0", UL(index), name);
  }
  if (a->count[2] != 0) {
    return utvm_fail(INVALID, "graph JSON: node %lu (%s): flatten_data %lu is not supported",
                     UL(index), name, UL(a->count[2]));
  }
  node->num_outputs = a->count[1];
  if (node->num_inputs + node->num_outputs > UTVM_MAX_ARGS) {
    return utvm_fail(INVALID, "graph JSON: node %lu (%s) has %lu arguments, more than "
                     "UTVM_MAX_ARGS (%d)", UL(index), name,
                     UL(node->num_inputs + node->num_outputs), UTVM_MAX_ARGS);
  }
  /* "__nop", "__copy" or (-1) an operator: the kinds follow each other in that order. */
  _Static_assert(GRAPH_NODE_OP + 1 == GRAPH_NODE_NOP && GRAPH_NODE_NOP + 1 == GRAPH_NODE_COPY,
                 "graph_node_kind_t: operator, __nop, __copy");
  node->kind = (uint8_t)(GRAPH_NODE_NOP + find_key(a->func_name, WORD_NOP, 2));
  if (node->kind == GRAPH_NODE_COPY) {
    if (node->num_inputs != 1 || node->num_outputs != 1) {
      return utvm_fail(INVALID, "graph JSON: node %lu (%s): __copy takes 1 input and 1 output",
                       UL(index), name);
    }
  } else if (node->kind == GRAPH_NODE_OP && p->fill) {
    TVMFunctionHandle f; /* set when TVMModGetFunction() succeeds */
    if (TVMModGetFunction(p->module, a->func_name, 1, &f) != 0 ||
        !utvm_func_from_handle(f, &node->fn, &node->resource)) {
      return utvm_fail(kTvmErrorFunctionNameNotFound,
                       "graph JSON: node %lu calls %s, which the module lacks (is the graph "
                       "from another build?)", UL(index), a->func_name);
    }
  }
  return 0;
}

typedef struct {
  node_attrs_t attrs;
  uint32_t seen;
  char op[16], name[UTVM_MAX_NAME_LEN];
} node_reader_t;

/* Reads node `index` into *node: its place in g->nodes (zeroed) in the second pass, a
 * scratch in the first, where only the fields set here are read. Not inlined: fewer bytes
 * than GCC's inlined copy. */
__attribute__((noinline)) static int parse_node(parser_t* p, uint32_t index,
                                                graph_node_t* node) {
  graph_t* g = p->g;
  node_reader_t r = {0};
  node->first_input = p->count[LIST_INPUTS];
  node->num_outputs = 1;
  const char* name = r.name;
  int rc = read_object(p, OBJ_NODE, &r.seen, &r);
  if (rc != 0) return rc;
  uint32_t missing = 7 & ~r.seen;
  if (missing != 0) {
    return utvm_fail(INVALID, "graph JSON: node %lu has no \"%s\"", UL(index),
                     missing_key(missing, KEY_OP));
  }
  node->num_inputs = p->count[LIST_INPUTS] - node->first_input;
  int op = find_key(r.op, WORD_NULL, 2);
  if (op == 0) {
    if (node->num_inputs != 0) {
      return utvm_fail(INVALID, "graph JSON: input node %lu (%s) has inputs", UL(index), name);
    }
    node->kind = GRAPH_NODE_INPUT;
    node->name = p->count[COUNT_NAME_BYTES];
    size_t n = strlen(name) + 1;
    if (p->fill) memcpy(g->names + node->name, name, n);
    p->count[COUNT_NAME_BYTES] += (uint32_t)n;
  } else if (op == 1) {
    rc = describe_op(p, index, name, &r.attrs, node);
  } else {
    return utvm_fail(INVALID, "graph JSON: node %lu (%s): op \"%s\" is neither \"null\" nor "
                     "\"tvm_op\"", UL(index), name, r.op);
  }
  return rc;
}

/* ---- attrs: one list per entry property ---- */

static int parse_graph_attrs(parser_t* p) {
  uint32_t seen = 0;
  int rc = read_object(p, OBJ_ATTRS, &seen, NULL);
  if (rc != 0) return rc;
  uint32_t missing = 7 & ~seen;
  if (missing != 0) {
    return utvm_fail(INVALID, "graph JSON: attrs has no \"%s\"", missing_key(missing, FIRST_ATTR));
  }
  const uint32_t* count = &p->count[FIRST_ATTR];
  for (int k = 1; k < NUM_ATTRS; k++) {
    if ((seen >> k & 1) && count[k] != count[0]) {
      return utvm_fail(INVALID, "graph JSON: attrs: %s has %lu items, dltype has %lu",
                       key_name(FIRST_ATTR + k), UL(count[k]), UL(count[0]));
    }
  }
  return 0;
}

/* "attrs": {"dltype": ["list_str", [...]], "storage_id": ["list_int", [...]], ...}. Not
 * inlined: read_object() then keeps fewer registers live. */
__attribute__((noinline)) static int read_typed_list(parser_t* p, int list, const char* what) {
  /* Each attribute's type: the offset of its name in kTypeNames (no table of pointers),
   * the size of the names before it, as for kObjects. */
#define TYPES_TO_STR "list_str"
#define TYPES_TO_INT TYPES_TO_STR "\0" "list_int"
  static const char kTypeNames[] = TYPES_TO_INT "\0" "list_shape";
  static const uint8_t kTypes[NUM_ATTRS] = {0, sizeof(TYPES_TO_STR), sizeof(TYPES_TO_INT),
                                            sizeof(TYPES_TO_STR), 0};
  const char* type_expected = kTypeNames + kTypes[list - FIRST_ATTR];
  char type[12];
  int rc = graph_json_char(&p->j, '[', what);
  if (rc == 0) rc = graph_json_string(&p->j, type, sizeof(type),
                                     GRAPH_JSON_WHAT("the type of an attribute"));
  if (rc == 0 && strcmp(type, type_expected) != 0) {
    rc = utvm_fail(INVALID, "graph JSON: byte %lu: %s is typed \"%s\"; \"%s\" expected",
                   UL(p->j.pos), what, type, type_expected);
  }
  if (rc == 0) rc = graph_json_char(&p->j, ',', what);
  if (rc == 0) rc = parse_list(p, list);
  if (rc == 0) rc = graph_json_char(&p->j, ']', what);
  return rc;
}

static int read_value(parser_t* p, int k, void* ctx) {
  node_reader_t* r = ctx;
  if (k < KEY_ATTRS) return parse_list(p, k);
  if (k == KEY_ATTRS) return parse_graph_attrs(p);
  /* The key names what is read (no copy of "op" or "func_name" elsewhere). */
  const char* what = GRAPH_JSON_WHAT(key_name(k));
  if (k < NUM_LISTS) return read_typed_list(p, k, what);
  if (k == KEY_OP) return graph_json_string(&p->j, r->op, sizeof(r->op), what);
  if (k == KEY_NAME) {
    return graph_json_string(&p->j, r->name, sizeof(r->name), GRAPH_JSON_WHAT("a node name"));
  }
  if (k == KEY_INPUTS) return parse_list(p, LIST_INPUTS);
  if (k == KEY_FUNC_NAME) {
    return graph_json_string(&p->j, r->attrs.func_name, sizeof(r->attrs.func_name), what);
  }
  if (k > KEY_FUNC_NAME) return read_count_attr(p, &r->attrs.count[k - KEY_NUM_INPUTS], what);
  /* "attrs" or "attr" */
  if ((r->seen & 3u << 3) == 3u << 3) {
    return GRAPH_JSON_EXPECTED_VALUE(&p->j, "\"attrs\" or \"attr\", not both");
  }
  return read_object(p, OBJ_NODE_ATTRS, &r->attrs.seen, r);
}

/* ---- the document ---- */

static int parse_document(parser_t* p) {
  uint32_t seen = 0;
  memset(p->count, 0, sizeof(p->count));
  int rc = read_object(p, OBJ_DOCUMENT, &seen, NULL);
  if (rc == 0) rc = graph_json_finish(&p->j);
  if (rc != 0) return rc;
  uint32_t missing = 0x1F & ~seen;
  if (missing != 0) {
    return utvm_fail(INVALID, "graph JSON: the graph has no \"%s\"", missing_key(missing, 0));
  }
  uint32_t nodes = p->count[LIST_NODES];
  if (p->count[LIST_ROW_PTR] != nodes + 1) {
    return utvm_fail(INVALID, "graph JSON: node_row_ptr has %lu items; %lu nodes need %lu",
                     UL(p->count[LIST_ROW_PTR]), UL(nodes), UL(nodes) + 1);
  }
  return 0;
}

/* ---- cross references ---- */

/* False when the bytes of an entry do not fit in size_t. Once it holds, utvm_dltensor_nbytes()
 * gives them (0 where a dimension over SIZE_MAX follows a 0, as here). */
static bool entry_fits(const graph_entry_t* e) {
  size_t n = ((size_t)e->tensor.dtype.bits * e->tensor.dtype.lanes + 7) / 8;
  for (int32_t d = 0; d < e->tensor.ndim; d++) {
    /* The exact product must fit (no 64-bit division, __aeabi_uldivmod, to check it): a
     * dimension over SIZE_MAX only fits times 0, and below that size_t arithmetic does. */
    uint64_t dim = (uint64_t)e->shape[d];
    if ((dim > SIZE_MAX && n != 0) || __builtin_mul_overflow(n, (size_t)dim, &n)) return false;
  }
  return true;
}

/* Checks a node input (before: its node, whose index is `index`) or a head (before:
 * num_nodes, index: its place in heads), then makes it point at its entry (its node's outputs
 * set first). Not inlined: two callers share one copy. */
__attribute__((noinline)) static int check_ref(const graph_t* g, graph_ref_t* ref,
                                               uint32_t before, uint32_t index) {
  if (ref->node < before && ref->index < g->nodes[ref->node].num_outputs) {
    ref->entry = g->nodes[ref->node].outputs + ref->index;
    return 0;
  }
  if (before < g->num_nodes) {
    return utvm_fail(INVALID, "graph JSON: an input of node %lu refers to output %lu of node %lu, "
                     "which does not exist before it", UL(index), UL(ref->index), UL(ref->node));
  }
  return utvm_fail(INVALID, "graph JSON: head %lu refers to output %lu of node %lu, which does "
                   "not exist", UL(index), UL(ref->index), UL(ref->node));
}

/* Not inlined: graph_parse() then keeps fewer registers live across it. */
__attribute__((noinline)) static int validate(graph_t* g) {
  int rc;
  if (g->row_ptr[0] != 0 || g->row_ptr[g->num_nodes] != g->num_entries) {
    return utvm_fail(INVALID, "graph JSON: node_row_ptr runs %lu..%lu, not 0..%lu (the entries)",
                     UL(g->row_ptr[0]), UL(g->row_ptr[g->num_nodes]), UL(g->num_entries));
  }
  for (uint32_t e = 0; e < g->num_entries; e++) {
    if (g->entries[e].storage_id >= g->num_entries) {
      return utvm_fail(INVALID, "graph JSON: entry %lu: storage_id %lu is not in 0..%lu", UL(e),
                       UL(g->entries[e].storage_id), UL(g->num_entries) - 1);
    }
    if (!entry_fits(&g->entries[e])) {
      return utvm_fail(INVALID, "graph JSON: entry %lu is too large for this device", UL(e));
    }
  }
  /* Every node's row first: until all agree, a node's outputs may lie past the entries. */
  graph_node_t* node = g->nodes;
  for (uint32_t n = 0; n < g->num_nodes; n++, node++) {
    /* An end before the start wraps to 2^31 or more (row_ptr's items are below 2^31),
     * which no node's output count (at most UTVM_MAX_ARGS) is. */
    if (g->row_ptr[n + 1] - g->row_ptr[n] != node->num_outputs) {
      return utvm_fail(INVALID, "graph JSON: node_row_ptr disagrees with node %lu's %lu outputs",
                       UL(n), UL(node->num_outputs));
    }
  }
  node = g->nodes;
  graph_entry_t* outputs = g->entries; /* node n's, as the rows checked above lay them out */
  for (uint32_t n = 0; n < g->num_nodes; n++, node++) {
    /* Its inputs' nodes come before it: their outputs are set. */
    node->outputs = outputs;
    outputs += node->num_outputs;
    for (uint32_t i = 0; i < node->num_inputs; i++) {
      if ((rc = check_ref(g, &g->inputs[node->first_input + i], n, n)) != 0) {
        return rc;
      }
    }
    if (node->kind == GRAPH_NODE_COPY) { /* its input checked just above, every entry's size */
      size_t from = utvm_dltensor_nbytes(&g->inputs[node->first_input].entry->tensor);
      size_t to = utvm_dltensor_nbytes(&node->outputs->tensor);
      if (from != to) {
        return utvm_fail(INVALID, "graph JSON: __copy node %lu copies %lu bytes into %lu", UL(n),
                         UL(from), UL(to));
      }
    }
  }
  for (uint32_t i = 0; i < g->num_arg_nodes; i++) {
    uint32_t n = g->arg_nodes[i];
    if (n >= g->num_nodes || g->nodes[n].kind != GRAPH_NODE_INPUT || g->nodes[n].is_arg) {
      return utvm_fail(INVALID, "graph JSON: arg_nodes[%lu] = %lu is not an input node, or a "
                       "repeat", UL(i), UL(n));
    }
    g->nodes[n].is_arg = 1;
  }
  for (uint32_t i = 0; i < g->num_heads; i++) {
    if ((rc = check_ref(g, &g->heads[i], g->num_nodes, i)) != 0) return rc;
  }
  return 0;
}

/* ---- entry point ---- */

/* In 64 bits: on a 32-bit target an array of 4 GiB or more must not wrap to a small size
 * before the total is checked against SIZE_MAX. */
static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

int graph_parse(const char* json, size_t json_len, TVMModuleHandle module, graph_t* out) {
  /* *out is not zeroed: the counting pass does not read it, and every field is set before
   * the second pass does. p's counts are zeroed by each pass. */
  parser_t p;
  p.g = out;
  p.fill = false;
  p.module = module;
  graph_json_init(&p.j, json, json_len);
  int rc = parse_document(&p);
  if (rc != 0) return rc;

  /* The arrays of graph_t (its pointers from `nodes` on, in this order) share the block:
   * their element sizes and counts (row_ptr's is num_nodes + 1, checked). Counts are
   * below 2^31 each, so the sum cannot overflow 64 bits. */
  static const struct {
    uint8_t size;  /* graph_entry_t's fits, as kStores asserts */
    uint8_t count; /* index in parser_t.count */
  } kArrays[] = {
      {sizeof(graph_node_t), LIST_NODES},   {sizeof(graph_ref_t), LIST_INPUTS},
      {sizeof(uint32_t), LIST_ARG_NODES},   {sizeof(graph_ref_t), LIST_HEADS},
      {sizeof(uint32_t), LIST_ROW_PTR},     {sizeof(graph_entry_t), LIST_DLTYPE},
      {1, COUNT_NAME_BYTES},                {sizeof(void*), COUNT_IO},
  };
  enum { NUM_ARRAYS = sizeof(kArrays) / sizeof(kArrays[0]) };
  _Static_assert(offsetof(graph_t, io) == offsetof(graph_t, nodes) + 7 * sizeof(void*),
                 "graph_t's array pointers follow each other in kArrays' order");
  _Static_assert(sizeof(out->counts) == NUM_ARRAYS * sizeof(uint32_t),
                 "graph_t's counts are those of kArrays' arrays");
  size_t offsets[NUM_ARRAYS];
  uint64_t total = 0;
  p.count[COUNT_IO] = p.count[LIST_ARG_NODES] + p.count[LIST_HEADS];
  for (size_t i = 0; i < NUM_ARRAYS; i++) {
    uint32_t count = p.count[kArrays[i].count];
    out->counts[i] = count;
    offsets[i] = (size_t)total;
    total += align8((uint64_t)kArrays[i].size * count);
  }
  void* block; /* set when the allocation succeeds (only then is it read) */
  if ((size_t)total != total ||
      (rc = utvm_platform_alloc((size_t)total, &block)) != 0) {
    return utvm_fail(kTvmErrorPlatformNoMemory, "out of memory: the graph's tables need %llu bytes",
                     (unsigned long long)total);
  }
  memset(block, 0, (size_t)total);
  for (size_t i = 0; i < NUM_ARRAYS; i++) {
    uint8_t* array = (uint8_t*)block + offsets[i];
    memcpy((uint8_t*)out + offsetof(graph_t, nodes) + i * sizeof(array), &array, sizeof(array));
  }
  out->block = block;

  p.j.pos = 0; /* the same text again */
  p.fill = true;
  rc = parse_document(&p);
  if (rc == 0) rc = validate(out);
  if (rc != 0) graph_free(block);
  return rc;
}
