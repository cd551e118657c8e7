/*
 * A small strict JSON reader for graph JSON: a cursor over the text, no allocation,
 * no recursion. The caller walks the structure it expects; anything else is an error
 * (kTvmErrorFunctionCallInvalidArg) whose message gives the byte offset and what was
 * expected there, e.g. "graph JSON: byte 812: expected an integer (storage_id)".
 *
 * Arrays and objects are walked with an iterator:
 *
 *   graph_json_iter_t it;
 *   int rc = graph_json_enter(j, '[', &it, "the nodes array");
 *   while (rc == 0 && (rc = graph_json_more(j, &it)) == GRAPH_JSON_MORE) rc = read_one(j);
 *
 * and, for objects, graph_json_key() after each graph_json_more().
 */
#ifndef UTVM_GRAPH_JSON_H_
#define UTVM_GRAPH_JSON_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <utvm/error.h>

typedef struct {
  const char* text;
  size_t len; /* the text ends here or at its first NUL byte, whichever comes first */
  size_t pos;
} graph_json_t;

typedef struct {
  char close;   /* ']' or '}' */
  bool started; /* an element was read, so the next one needs a ',' */
} graph_json_iter_t;

/* Deepest nesting graph_json_skip() accepts (graph JSON itself needs 5 levels). */
#define GRAPH_JSON_MAX_DEPTH 32

/* A reader at the start of text (len bytes, or up to its first NUL). Inline: one caller. */
static inline void graph_json_init(graph_json_t* j, const char* text, size_t len) {
  const char* nul = text != NULL ? memchr(text, '\0', len) : NULL;
  j->text = text;
  j->len = text == NULL ? 0 : nul != NULL ? (size_t)(nul - text) : len;
  j->pos = 0;
}

/* `what` a reader is given: the name of what it reads, for its messages. Without messages
 * (UTVM_ERROR_MESSAGES=0) no name is kept. */
#if UTVM_ERROR_MESSAGES
#define GRAPH_JSON_WHAT(what) (what)
#else
#define GRAPH_JSON_WHAT(what) ""
#endif

/* " for " before a non-empty what, else "" (its end: one string, one address to load). */
static inline const char* graph_json_for(const char* what) {
  static const char kFor[] = " for ";
  return kFor + (what[0] != '\0' ? 0 : sizeof(kFor) - 1);
}

/* Failures at a byte, each returning kTvmErrorFunctionCallInvalidArg:
 *   GRAPH_JSON_EXPECTED(j, expected, what)  "graph JSON: byte <pos>: expected <expected>[ for
 *                                           <what>]" (what may be "")
 *   GRAPH_JSON_EXPECTED_VALUE(j, expected)  "graph JSON: byte <pos>: expected <expected>"
 *   GRAPH_JSON_FAIL_AT(pos, what, text)     "graph JSON: byte <pos>: <text>[ for <what>]"
 * `expected` and `text` are literals: with messages by reference they join the message's
 * format string, so their text stays out of the image (without messages only the code is
 * left); with text on the device one format serves all. */
#if UTVM_ERROR_MESSAGES && !UTVM_ERROR_MESSAGE_TEXT
/* "graph JSON: byte <pos>: <text>[ for <what>]". A site only names its message and
 * graph_json_fail_at() passes the arguments, so it costs about what a bare code does. */
#define GRAPH_JSON_FAIL_AT(pos, what, text)                                                \
  graph_json_fail_at(UTVM_MSG_WORD_OF_(kTvmErrorFunctionCallInvalidArg,                  \
                                       "graph JSON: byte %lu: " text "%s%s", 0ul, "", ""), \
                     (pos), (what))
#else
#define GRAPH_JSON_FAIL_AT(pos, what, text)                                                \
  utvm_fail(kTvmErrorFunctionCallInvalidArg, "graph JSON: byte %lu: " text "%s%s",        \
            (unsigned long)(pos), graph_json_for(what), (what))
#endif
#if !(UTVM_ERROR_MESSAGES && UTVM_ERROR_MESSAGE_TEXT)
#define GRAPH_JSON_EXPECTED(j, expected, what) GRAPH_JSON_FAIL_AT((j)->pos, what, "expected " expected)
/* A plain message, the position its only argument: by reference, the site passes it in r0
 * and its word after the call (utvm/error_ref.h), fewer bytes than graph_json_fail_at(). */
#define GRAPH_JSON_EXPECTED_VALUE(j, expected)                                       \
  utvm_fail(kTvmErrorFunctionCallInvalidArg, "graph JSON: byte %lu: expected " expected, \
            (unsigned long)(j)->pos)
#else
int graph_json_expected(const graph_json_t* j, const char* expected, const char* what);
#define GRAPH_JSON_EXPECTED(j, expected, what) graph_json_expected((j), (expected), (what))
#define GRAPH_JSON_EXPECTED_VALUE(j, expected) graph_json_expected((j), (expected), "")
#endif

/* Fails with the message `word`, whose arguments are (some of) pos, " for " (or "" when
 * what is "") and what. */
int graph_json_fail_at(uint32_t word, size_t pos, const char* what);

/* Consumes the character c, which must come next (after white space); `what` names what
 * is being read, for the message ("expected ':' for ..."). */
int graph_json_char(graph_json_t* j, char c, const char* what);

/* Consumes `open` ('[' or '{') and starts an iterator over its elements. */
int graph_json_enter(graph_json_t* j, char open, graph_json_iter_t* it, const char* what);

/* GRAPH_JSON_MORE when another element follows (its separating ',' consumed), 0 at the
 * closing bracket (consumed), else an error code (never negative). */
#define GRAPH_JSON_MORE (-1)
int graph_json_more(graph_json_t* j, graph_json_iter_t* it);

/* Reads an object key and its ':' into key (at most key_size - 1 bytes; longer keys are
 * read but stored as "" so that the caller skips them as unknown). */
int graph_json_key(graph_json_t* j, char* key, size_t key_size);

/* Reads a string into out (NUL-terminated, at most out_size - 1 bytes, else an error).
 * out may be NULL (out_size 0) to check and skip the string. \u0000 is refused (it would
 * cut a name). what NULL reads an object key: a longer one is stored as "" (see
 * graph_json_key). */
int graph_json_string(graph_json_t* j, char* out, size_t out_size, const char* what);

/* Reads an integer in 0..INT32_MAX into a uint32_t, or when wide in 0..INT64_MAX into a
 * uint64_t; fractions, exponents and leading zeros are errors. */
int graph_json_uint(graph_json_t* j, bool wide, void* out, const char* what);

/* Checks and skips any value (nesting at most GRAPH_JSON_MAX_DEPTH deep). */
int graph_json_skip(graph_json_t* j);

/* Checks that only white space is left. */
int graph_json_finish(graph_json_t* j);

#endif /* UTVM_GRAPH_JSON_H_ */
