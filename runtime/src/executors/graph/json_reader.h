/*
 * A small, strict, bounded JSON reader over a buffer: no allocation, cursor based.
 * Every error records the byte offset and what was expected (via utvm_fail).
 */
#ifndef UTVM_GRAPH_JSON_READER_H_
#define UTVM_GRAPH_JSON_READER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char* buf;
  size_t len;
  size_t pos;
} json_reader_t;

/* Each returns 0 or an error code with a message naming the offset. */
int json_expect(json_reader_t* r, char c);
/* Reads a string into out (NUL-terminated, at most out_size - 1 bytes). */
int json_read_string(json_reader_t* r, char* out, size_t out_size);
int json_read_int(json_reader_t* r, int64_t* out);
/* Skips any value, nesting at most 32 deep. */
int json_skip_value(json_reader_t* r);
/* Counts the elements of the array starting at the cursor without consuming it. */
int json_count_array(json_reader_t* r, size_t* out);
/* Iteration helpers: after '[' or '{', json_next returns 1 while another element follows
 * (consuming the ',' between elements), 0 at the closing bracket (consumed). */
int json_next(json_reader_t* r, char close, bool* first, bool* more);

#endif /* UTVM_GRAPH_JSON_READER_H_ */
