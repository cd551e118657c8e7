/*
 * A graph JSON whose entries' table needs 4 GiB and a few bytes, for a 32-bit build: the
 * parser must refuse it as out of memory, not lay the tables out in a block the size wraps
 * to. About 12 bytes of JSON per entry (its dltype, storage_id and shape), so the document
 * is some 560 MB: too big for the sanitizer builds of tests/runtime/c.
 * Prints the parse's code and message; tests/runtime/test_graph_tables_past_4gib.py checks
 * them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utvm/memory.h>
#include <utvm/runtime.h>

#include "graph_model.h"

static uint8_t arena[1 << 20];

/* n copies of `item` (its last comma turned into the list's end) after `head`. */
static char* put_list(char* w, const char* head, const char* item, size_t n) {
  size_t len = strlen(item);
  w += sprintf(w, "%s", head);
  for (size_t i = 0; i < n; i++, w += len) memcpy(w, item, len);
  w[-1] = ']';
  return w;
}

int main(void) {
  /* The smallest count whose table passes 2^32 bytes: it would wrap to fewer bytes than
   * one entry. */
  size_t n = (size_t)((1ull << 32) / sizeof(graph_entry_t) + 1);
  char* json = malloc(256 + n * 12);
  if (json == NULL) {
    printf("SKIP: no %lu MB for the JSON\n", (unsigned long)(n * 12 >> 20));
    return 0;
  }
  char* w = json + sprintf(json, "{\"nodes\":[],\"arg_nodes\":[],\"heads\":[],\"node_row_ptr\":[0],"
                                 "\"attrs\":{");
  w = put_list(w, "\"dltype\":[\"list_str\",[", "\"int8\",", n);
  w = put_list(w, "],\"storage_id\":[\"list_int\",[", "0,", n);
  w = put_list(w, "],\"shape\":[\"list_shape\",[", "[],", n);
  strcpy(w, "]}}");
  if (TVMInitializeRuntime() != 0 || utvm_heap_init(arena, sizeof(arena)) != 0) return 1;
  graph_t g;
  int rc = graph_parse(json, strlen(json), NULL, &g);
  printf("entries %lu of %lu bytes: 0x%x %s\n", (unsigned long)n,
         (unsigned long)sizeof(graph_entry_t), (unsigned)rc, TVMGetLastError());
  free(json);
  return 0;
}
