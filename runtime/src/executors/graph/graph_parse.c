/*
 * Graph JSON -> graph_t (graph_model.h). Two passes over the text: the first only
 * counts, the second fills arrays carved out of one allocation that the first sized.
 * Keys may come in any order; unknown keys are skipped (TVM itself rejects some).
 */
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>

#include "graph_model.h"
#include "json_reader.h"

#define KEY_LEN 32

typedef struct {
  json_reader_t r;
  graph_t* g;          /* arrays are NULL during the counting pass */
  bool fill;
  TVMModuleHandle module;
  uint32_t n_dltype, n_storage, n_shape, n_row_ptr;
} parser_t;

#define invalid(...) utvm_fail(kTvmErrorFunctionCallInvalidArg, __VA_ARGS__)
#define UL(v) ((unsigned long)(v))

static int read_key(parser_t* p, char* key) {
  int rc = json_read_string(&p->r, key, KEY_LEN);
  return rc != 0 ? rc : json_expect(&p->r, ':');
}

static int read_u32(parser_t* p, uint32_t* out) {
  int64_t v;
  int rc = json_read_int(&p->r, &v);
  if (rc != 0) return rc;
  if (v < 0 || v > INT32_MAX) {
    return invalid("graph JSON: %lld is out of range at byte %lu", (long long)v, UL(p->r.pos));
  }
  *out = (uint32_t)v;
  return 0;
}

/* [node_id, output_index] or [node_id, output_index, version] */
static int read_ref(parser_t* p, graph_ref_t* out) {
  uint32_t version;
  int rc = json_expect(&p->r, '[');
  if (rc == 0) rc = read_u32(p, &out->node);
  if (rc == 0) rc = json_expect(&p->r, ',');
  if (rc == 0) rc = read_u32(p, &out->index);
  json_reader_t probe = p->r;
  if (rc == 0 && json_expect(&probe, ',') == 0) {
    p->r = probe;
    rc = read_u32(p, &version);
  }
  return rc != 0 ? rc : json_expect(&p->r, ']');
}

static uint32_t parse_small_uint(const char* s, bool* ok) {
  uint32_t v = 0;
  *ok = *s != '\0';
  for (; *s && *ok; s++) {
    *ok = *s >= '0' && *s <= '9' && v < 100000;
    v = v * 10 + (uint32_t)(*s - '0');
  }
  return v;
}

/* "attrs" of a node: string values; we need func_name and num_outputs. */
static int parse_node_attrs(parser_t* p, graph_node_t* node, char* func_name) {
  int rc = json_expect(&p->r, '{');
  bool first = true, more, ok;
  char key[KEY_LEN], value[24];
  while (rc == 0 && (rc = json_next(&p->r, '}', &first, &more)) == 0 && more) {
    if ((rc = read_key(p, key)) != 0) break;
    if (strcmp(key, "func_name") == 0) {
      rc = json_read_string(&p->r, func_name, UTVM_MAX_NAME_LEN);
    } else if (strcmp(key, "num_outputs") == 0) {
      rc = json_read_string(&p->r, value, sizeof(value));
      if (rc == 0) node->num_outputs = parse_small_uint(value, &ok);
      if (rc == 0 && (!ok || node->num_outputs == 0)) {
        return invalid("graph JSON: bad num_outputs at byte %lu", UL(p->r.pos));
      }
    } else {
      rc = json_skip_value(&p->r);
    }
  }
  return rc;
}

static int resolve_op(parser_t* p, graph_node_t* node, const char* name, const char* func_name) {
  if (strcmp(func_name, "__nop") == 0) {
    node->kind = GRAPH_OP_NOP;
    return 0;
  }
  if (strcmp(func_name, "__copy") == 0) {
    node->kind = GRAPH_OP_COPY;
    return 0;
  }
  if (func_name[0] == '\0') {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "graph node %s has no func_name", name);
  }
  if (TVMModGetFunction(p->module, func_name, 1, &node->func) != 0) {
    return utvm_fail(kTvmErrorFunctionNameNotFound,
                     "graph node %s calls %s, which the model library does not have "
                     "(was the graph built with this library?)", name, func_name);
  }
  return 0;
}

static int parse_node(parser_t* p, uint32_t index) {
  graph_t* g = p->g;
  graph_node_t node = {GRAPH_OP_NULL, g->num_inputs_total, 0, 1, UINT32_MAX, NULL};
  char key[KEY_LEN], op[16] = "", name[UTVM_MAX_NAME_LEN] = "", func_name[UTVM_MAX_NAME_LEN] = "";
  bool first = true, more;
  int rc = json_expect(&p->r, '{');
  while (rc == 0 && (rc = json_next(&p->r, '}', &first, &more)) == 0 && more) {
    if ((rc = read_key(p, key)) != 0) break;
    if (strcmp(key, "op") == 0) {
      rc = json_read_string(&p->r, op, sizeof(op));
    } else if (strcmp(key, "name") == 0) {
      rc = json_read_string(&p->r, name, sizeof(name));
    } else if (strcmp(key, "inputs") == 0) {
      bool first_in = true, more_in;
      rc = json_expect(&p->r, '[');
      while (rc == 0 && (rc = json_next(&p->r, ']', &first_in, &more_in)) == 0 && more_in) {
        graph_ref_t ref;
        rc = read_ref(p, &ref);
        if (rc == 0 && p->fill) g->inputs[node.first_input + node.num_inputs] = ref;
        node.num_inputs++;
      }
    } else if (strcmp(key, "attrs") == 0 || strcmp(key, "attr") == 0) {
      rc = parse_node_attrs(p, &node, func_name);
    } else {
      rc = json_skip_value(&p->r);
    }
  }
  if (rc != 0) return rc;
  if (strcmp(op, "null") == 0) {
    node.num_outputs = 1;
    node.name_offset = g->names_bytes;
    size_t n = strlen(name) + 1;
    if (p->fill) memcpy(g->names + g->names_bytes, name, n);
    g->names_bytes += (uint32_t)n;
  } else if (strcmp(op, "tvm_op") == 0) {
    node.kind = GRAPH_OP_TVM;
    if (p->fill && (rc = resolve_op(p, &node, name, func_name)) != 0) return rc;
  } else {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "graph node %lu (%s): op \"%s\" is neither \"null\" nor \"tvm_op\"",
                     (unsigned long)index, name, op);
  }
  g->num_inputs_total += node.num_inputs;
  if (p->fill) g->nodes[index] = node;
  return 0;
}

/* An array of elements, each parsed by `element(p, i)`; returns the count in *count. */
static int parse_array(parser_t* p, uint32_t* count, int (*element)(parser_t*, uint32_t)) {
  bool first = true, more;
  uint32_t n = 0;
  int rc = json_expect(&p->r, '[');
  while (rc == 0 && (rc = json_next(&p->r, ']', &first, &more)) == 0 && more) {
    rc = element(p, n++);
  }
  *count = n;
  return rc;
}

static int arg_node_element(parser_t* p, uint32_t i) {
  uint32_t v;
  int rc = read_u32(p, &v);
  if (rc == 0 && p->fill) p->g->arg_nodes[i] = v;
  return rc;
}

static int head_element(parser_t* p, uint32_t i) {
  graph_ref_t ref;
  int rc = read_ref(p, &ref);
  if (rc == 0 && p->fill) p->g->heads[i] = ref;
  return rc;
}

static int row_ptr_element(parser_t* p, uint32_t i) {
  uint32_t v;
  int rc = read_u32(p, &v);
  if (rc == 0 && p->fill) p->g->row_ptr[i] = v;
  return rc;
}

static int dltype_element(parser_t* p, uint32_t i) {
  char s[16];
  int rc = json_read_string(&p->r, s, sizeof(s));
  if (rc == 0 && p->fill) rc = utvm_dtype_parse(s, &p->g->entries[i].dtype);
  return rc;
}

static int storage_element(parser_t* p, uint32_t i) {
  uint32_t v;
  int rc = read_u32(p, &v);
  if (rc == 0 && p->fill) p->g->entries[i].storage_id = (int32_t)v;
  return rc;
}

static int shape_element(parser_t* p, uint32_t i) {
  bool first = true, more;
  int32_t ndim = 0;
  int rc = json_expect(&p->r, '[');
  while (rc == 0 && (rc = json_next(&p->r, ']', &first, &more)) == 0 && more) {
    int64_t d;
    if ((rc = json_read_int(&p->r, &d)) != 0) break;
    if (d < 0 || ndim == UTVM_MAX_NDIM) {
      return invalid("graph JSON: shape of entry %lu is negative or has more than %d dimensions",
                     UL(i), UTVM_MAX_NDIM);
    }
    if (p->fill) p->g->entries[i].shape[ndim] = d;
    ndim++;
  }
  if (rc == 0 && p->fill) p->g->entries[i].ndim = ndim;
  return rc;
}

/* "attrs": {"dltype": ["list_str", [...]], "storage_id": ["list_int", [...]], ...} */
static int parse_graph_attrs(parser_t* p) {
  bool first = true, more;
  char key[KEY_LEN], type[16];
  int rc = json_expect(&p->r, '{');
  while (rc == 0 && (rc = json_next(&p->r, '}', &first, &more)) == 0 && more) {
    if ((rc = read_key(p, key)) != 0) break;
    uint32_t* count = NULL;
    int (*element)(parser_t*, uint32_t) = NULL;
    if (strcmp(key, "dltype") == 0) {
      count = &p->n_dltype, element = dltype_element;
    } else if (strcmp(key, "storage_id") == 0) {
      count = &p->n_storage, element = storage_element;
    } else if (strcmp(key, "shape") == 0) {
      count = &p->n_shape, element = shape_element;
    }
    if (element == NULL) {
      rc = json_skip_value(&p->r);
      continue;
    }
    rc = json_expect(&p->r, '[');
    if (rc == 0) rc = json_read_string(&p->r, type, sizeof(type));
    if (rc == 0) rc = json_expect(&p->r, ',');
    if (rc == 0) rc = parse_array(p, count, element);
    if (rc == 0) rc = json_expect(&p->r, ']');
  }
  return rc;
}

static int parse_document(parser_t* p) {
  graph_t* g = p->g;
  bool first = true, more;
  char key[KEY_LEN];
  uint32_t num_nodes = 0;
  g->num_inputs_total = 0;
  g->names_bytes = 0;
  int rc = json_expect(&p->r, '{');
  while (rc == 0 && (rc = json_next(&p->r, '}', &first, &more)) == 0 && more) {
    if ((rc = read_key(p, key)) != 0) break;
    if (strcmp(key, "nodes") == 0) {
      rc = parse_array(p, &num_nodes, parse_node);
    } else if (strcmp(key, "arg_nodes") == 0) {
      rc = parse_array(p, &g->num_arg_nodes, arg_node_element);
    } else if (strcmp(key, "heads") == 0) {
      rc = parse_array(p, &g->num_heads, head_element);
    } else if (strcmp(key, "node_row_ptr") == 0) {
      rc = parse_array(p, &p->n_row_ptr, row_ptr_element);
    } else if (strcmp(key, "attrs") == 0) {
      rc = parse_graph_attrs(p);
    } else {
      rc = json_skip_value(&p->r);
    }
  }
  if (rc != 0) return rc;
  g->num_nodes = num_nodes;
  g->num_entries = p->n_storage;
  if (p->n_dltype != p->n_storage || p->n_shape != p->n_storage) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "graph JSON: attrs have %lu dltype, %lu storage_id and %lu shape entries",
                     (unsigned long)p->n_dltype, (unsigned long)p->n_storage, (unsigned long)p->n_shape);
  }
  if (num_nodes == 0 || p->n_row_ptr != num_nodes + 1) {
    return invalid("graph JSON: %lu nodes need a node_row_ptr of %lu items", UL(num_nodes),
                   UL(num_nodes) + 1);
  }
  return 0;
}

/* Consistency of what pass 2 filled: every index in range, outputs where rows say. */
static int validate(const graph_t* g) {
  if (g->row_ptr[0] != 0 || g->row_ptr[g->num_nodes] != g->num_entries) {
    return invalid("graph JSON: node_row_ptr must run from 0 to the %lu entries", UL(g->num_entries));
  }
  for (uint32_t n = 0; n < g->num_nodes; n++) {
    const graph_node_t* node = &g->nodes[n];
    if (g->row_ptr[n + 1] < g->row_ptr[n] || g->row_ptr[n + 1] - g->row_ptr[n] != node->num_outputs) {
      return invalid("graph JSON: node_row_ptr disagrees with node %lu's %lu outputs", UL(n),
                     UL(node->num_outputs));
    }
    if (node->num_inputs + node->num_outputs > UTVM_MAX_ARGS) {
      return invalid("graph JSON: node %lu has more arguments than UTVM_MAX_ARGS (%d)", UL(n),
                     UTVM_MAX_ARGS);
    }
    for (uint32_t k = 0; k < node->num_inputs; k++) {
      graph_ref_t ref = g->inputs[node->first_input + k];
      if (ref.node >= n || ref.index >= g->nodes[ref.node].num_outputs) {
        return invalid("graph JSON: node %lu reads node %lu, which is not an earlier node's output",
                       UL(n), UL(ref.node));
      }
    }
  }
  for (uint32_t i = 0; i < g->num_arg_nodes; i++) {
    if (g->arg_nodes[i] >= g->num_nodes || g->nodes[g->arg_nodes[i]].kind != GRAPH_OP_NULL) {
      return invalid("graph JSON: arg_nodes[%lu] = %lu is not an input node", UL(i),
                     UL(g->arg_nodes[i]));
    }
  }
  for (uint32_t i = 0; i < g->num_heads; i++) {
    if (g->heads[i].node >= g->num_nodes || g->heads[i].index >= g->nodes[g->heads[i].node].num_outputs) {
      return invalid("graph JSON: heads[%lu] names node %lu, which has no such output", UL(i),
                     UL(g->heads[i].node));
    }
  }
  for (uint32_t e = 0; e < g->num_entries; e++) {
    if ((uint32_t)g->entries[e].storage_id >= g->num_entries) {
      return invalid("graph JSON: storage_id of entry %lu is %ld, out of range", UL(e),
                     (long)g->entries[e].storage_id);
    }
  }
  return 0;
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

int graph_parse(const char* json, size_t len, TVMModuleHandle module, graph_t* out, void** block) {
  parser_t p = {{json, len, 0}, out, false, module, 0, 0, 0, 0};
  memset(out, 0, sizeof(*out));
  int rc = parse_document(&p);
  if (rc != 0) return rc;

  size_t sizes[] = {
      align8(sizeof(graph_node_t) * out->num_nodes), align8(sizeof(graph_ref_t) * out->num_inputs_total),
      align8(sizeof(uint32_t) * out->num_arg_nodes), align8(sizeof(graph_ref_t) * out->num_heads),
      align8(sizeof(uint32_t) * (out->num_nodes + 1)), align8(sizeof(graph_entry_t) * out->num_entries),
      align8(out->names_bytes)};
  size_t total = 0;
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) total += sizes[i];
  DLDevice cpu = {kDLCPU, 0};
  void* mem;
  if ((rc = TVMPlatformMemoryAllocate(total, cpu, &mem)) != 0) {
    return utvm_fail(rc, "out of memory: the graph needs %lu bytes", (unsigned long)total);
  }
  memset(mem, 0, total);
  uint8_t* cursor = mem;
  out->nodes = (graph_node_t*)cursor, cursor += sizes[0];
  out->inputs = (graph_ref_t*)cursor, cursor += sizes[1];
  out->arg_nodes = (uint32_t*)cursor, cursor += sizes[2];
  out->heads = (graph_ref_t*)cursor, cursor += sizes[3];
  out->row_ptr = (uint32_t*)cursor, cursor += sizes[4];
  out->entries = (graph_entry_t*)cursor, cursor += sizes[5];
  out->names = (char*)cursor;

  p.r.pos = 0;
  p.fill = true;
  rc = parse_document(&p);
  if (rc == 0) rc = validate(out);
  if (rc != 0) {
    TVMPlatformMemoryFree(mem, cpu);
    memset(out, 0, sizeof(*out));
    return rc;
  }
  *block = mem;
  return 0;
}
