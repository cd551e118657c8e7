/* Strict, bounded JSON reading for graph JSON (see graph_json.h). */
#include "graph_json.h"

#include <string.h>
#include <utvm/error.h>

#define INVALID kTvmErrorFunctionCallInvalidArg
#define UL(v) ((unsigned long)(v))

#if UTVM_ERROR_MESSAGES && UTVM_ERROR_MESSAGE_TEXT
int graph_json_expected(const graph_json_t* j, const char* expected, const char* what) {
  return utvm_fail(INVALID, "graph JSON: byte %lu: expected %s%s%s", UL(j->pos), expected,
                   graph_json_for(what), what);
}
#endif

#if UTVM_ERROR_MESSAGES && !UTVM_ERROR_MESSAGE_TEXT
int graph_json_fail_at(uint32_t word, size_t pos, const char* what) {
  return utvm_fail_ref(word, UL(pos), graph_json_for(what), what);
}
#endif

/* The character at the cursor, '\0' at the end of the text. */
static char at(const graph_json_t* j) { return j->pos < j->len ? j->text[j->pos] : '\0'; }

/* Skips white space; returns the next character ('\0' at the end). */
static char peek(graph_json_t* j) {
  char c;
  while ((c = at(j)) == ' ' || c == '\n' || c == '\r' || c == '\t') j->pos++;
  return c;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

int graph_json_char(graph_json_t* j, char c, const char* what) {
  if (peek(j) == c) {
    j->pos++;
    return 0;
  }
  return utvm_fail(INVALID, "graph JSON: byte %lu: expected '%c'%s%s", UL(j->pos), c,
                   graph_json_for(what), what);
}

int graph_json_enter(graph_json_t* j, char open, graph_json_iter_t* it, const char* what) {
  it->close = (char)(open + 2); /* ']' or '}' */
  it->started = false;
  return graph_json_char(j, open, what);
}

int graph_json_more(graph_json_t* j, graph_json_iter_t* it) {
  char c = peek(j);
  if (c == it->close) {
    j->pos++;
    return 0;
  }
  if (it->started) {
    if (c != ',') {
      return utvm_fail(INVALID, "graph JSON: byte %lu: expected ',' or '%c'", UL(j->pos),
                       it->close);
    }
    j->pos++;
  }
  it->started = true;
  return GRAPH_JSON_MORE;
}

/* The code point of an escape; the cursor is after the backslash. 0 means an error. */
static uint32_t read_escape(graph_json_t* j, int* rc, const char* what) {
  /* Each escape letter, then what it means. The text's end ('\0') matches none. */
  static const char kEscapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
  char e = at(j);
  j->pos++;
  for (const char* k = kEscapes; *k != '\0'; k += 2) {
    if (*k == e) return (uint8_t)k[1];
  }
  if (e != 'u') {
    j->pos--;
    *rc = GRAPH_JSON_EXPECTED(j, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", what);
    return 0;
  }
  uint32_t cp = 0;
  for (int i = 0; i < 4; i++, j->pos++) {
    /* A digit, or a letter a-f in either case (| 0x20 lowers it). */
    uint32_t c = (uint8_t)at(j), h = c - '0';
    if (h > 9 && (h = (c | 0x20) - 'a' + 10) - 10 > 5) {
      *rc = GRAPH_JSON_EXPECTED(j, "four hex digits after \\u", what);
      return 0;
    }
    cp = cp << 4 | h;
  }
  if (cp == 0) *rc = GRAPH_JSON_EXPECTED(j, "a character other than \\u0000", what);
  return cp;
}

/* out_size 0 skips the string. A string longer than out_size - 1 is an error, but for an
 * object key (what NULL, one argument less than a flag): "" is stored. The text's bytes are
 * stored as they are, code points from escapes as UTF-8. */
int graph_json_string(graph_json_t* j, char* out, size_t out_size, const char* what) {
  bool long_ok = what == NULL;
  if (long_ok) what = GRAPH_JSON_WHAT("an object key");
  if (peek(j) != '"') return GRAPH_JSON_EXPECTED(j, "a string", what);
  /* n: bytes stored; out_size once nothing more is (a skipped or too long string). */
  size_t start = j->pos++, n = 0;
  int rc = 0;
  while (j->pos < j->len) {
    uint32_t cp = (uint8_t)j->text[j->pos];
    if (cp == '"') {
      j->pos++;
      if (out_size != 0) out[n < out_size ? n : 0] = '\0';
      return 0;
    }
    if (cp < 0x20) return GRAPH_JSON_EXPECTED(j, "'\"' (control characters must be escaped)", what);
    j->pos++;
    /* Bytes of the text (UTF-8 already) are stored as they are; an escape's code point
     * takes 1 to 3 bytes of UTF-8. */
    size_t bytes = 1;
    if (cp == '\\') {
      if ((cp = read_escape(j, &rc, what)) == 0) return rc;
      bytes = 1 + (cp >= 0x80) + (cp >= 0x800);
    }
    if (n >= out_size) continue;
    if (n + bytes >= out_size) {
      if (!long_ok) {
        return utvm_fail(INVALID, "graph JSON: byte %lu: %s is longer than %lu bytes", UL(start),
                         what, UL(out_size - 1));
      }
      n = out_size;
      continue;
    }
    /* UTF-8: continuation bytes of 6 bits each, lowest last, then the lead byte. */
    static const uint8_t kLead[] = {0, 0, 0xC0, 0xE0};
    for (size_t i = bytes; --i > 0; cp >>= 6) out[n + i] = (char)(0x80 | (cp & 0x3F));
    out[n] = (char)(kLead[bytes] | cp);
    n += bytes;
  }
  return GRAPH_JSON_FAIL_AT(start, what, "unterminated string");
}

int graph_json_key(graph_json_t* j, char* key, size_t key_size) {
  int rc = graph_json_string(j, key, key_size, NULL);
  return rc != 0 ? rc : graph_json_char(j, ':', GRAPH_JSON_WHAT("an object key"));
}

int graph_json_uint(graph_json_t* j, bool wide, void* out, const char* what) {
  char c = peek(j);
  if (!is_digit(c)) {
    return c == '-' ? GRAPH_JSON_EXPECTED(j, "a non-negative integer", what)
                    : GRAPH_JSON_EXPECTED(j, "an integer", what);
  }
  size_t start = j->pos;
  uint64_t v = 0;
  while (is_digit(c = at(j))) {
    /* A 0 first (not a running value that wrapped to 0 past 19 digits). */
    if (v == 0 && j->pos == start + 1) return GRAPH_JSON_EXPECTED(j, "no leading zeros", what);
    v = v * 10 + (uint64_t)(c - '0');
    j->pos++;
  }
  /* 19 digits (below 10^19 < 2^64) cannot wrap 64 bits, and more are over any max: one
   * check after the digits, no 64-bit division (__aeabi_uldivmod). */
  uint64_t max = wide ? INT64_MAX : INT32_MAX;
  if (j->pos - start > 19 || v > max) {
    return utvm_fail(INVALID, "graph JSON: byte %lu: expected an integer up to %llu for %s",
                     UL(start), (unsigned long long)max, what);
  }
  if (c == '.' || c == 'e' || c == 'E') {
    return GRAPH_JSON_EXPECTED(j, "an integer (not a fraction or exponent)", what);
  }
  if (wide) {
    *(uint64_t*)out = v;
  } else {
    *(uint32_t*)out = (uint32_t)v;
  }
  return 0;
}

/* Consumes one or more digits; false if there is none. */
static bool skip_digits(graph_json_t* j) {
  size_t start = j->pos;
  while (is_digit(at(j))) j->pos++;
  return j->pos > start;
}

/* Consumes c if it comes next. */
static bool accept(graph_json_t* j, char c) {
  bool next = at(j) == c;
  j->pos += next;
  return next;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int skip_number(graph_json_t* j) {
  accept(j, '-');
  if (!accept(j, '0') && !skip_digits(j)) return GRAPH_JSON_EXPECTED_VALUE(j, "a digit");
  if (accept(j, '.') && !skip_digits(j)) return GRAPH_JSON_EXPECTED_VALUE(j, "a digit after '.'");
  if ((at(j) | 0x20) == 'e') { /* 'e' or 'E' (| 0x20 lowers it) */
    j->pos++;
    if (!accept(j, '+')) accept(j, '-');
    if (!skip_digits(j)) return GRAPH_JSON_EXPECTED_VALUE(j, "a digit in the exponent");
  }
  return 0;
}

static int skip_scalar(graph_json_t* j, char c) {
  if (c == '"') return graph_json_string(j, NULL, 0, "");
  if (c == '-' || is_digit(c)) return skip_number(j);
  static const char kWords[] = "true\0false\0null";
  for (const char* w = kWords; w < kWords + sizeof(kWords); w += strlen(w) + 1) {
    size_t n = strlen(w);
    if (j->len - j->pos >= n && memcmp(j->text + j->pos, w, n) == 0) {
      j->pos += n;
      return 0;
    }
  }
  return GRAPH_JSON_EXPECTED_VALUE(j, "a value");
}

/* Iterative, so that hostile nesting costs no stack: `objects` is a stack of bits, the
 * lowest for the innermost container, set for an object (else an array); `it` walks the
 * innermost one (every container further out has had an element, so it needs a ',' before
 * the next). */
int graph_json_skip(graph_json_t* j) {
  uint32_t objects = 0, depth = 0;
  graph_json_iter_t it; /* set by the first container */
  int rc = 0;
  for (;;) {
    char c = peek(j);
    if (c == '[' || c == '{') {
      if (depth == GRAPH_JSON_MAX_DEPTH) {
        return utvm_fail(INVALID, "graph JSON: byte %lu: nested deeper than %d levels", UL(j->pos),
                         GRAPH_JSON_MAX_DEPTH);
      }
      j->pos++;
      objects = objects << 1 | (uint32_t)(c >> 5 & 1); /* '{' is 0x7b, '[' 0x5b */
      depth++;
      it.close = (char)(c + 2); /* ']' or '}' */
      it.started = false;
    } else if ((rc = skip_scalar(j, c)) != 0 || depth == 0) {
      return rc;
    }
    /* Close the containers that end here, then go on to the next element. */
    while ((rc = graph_json_more(j, &it)) != GRAPH_JSON_MORE) {
      if (rc != 0) return rc;
      if (--depth == 0) return 0;
      objects >>= 1;
      it.close = (objects & 1) != 0 ? '}' : ']';
      it.started = true;
    }
    if (it.close == '}' && (rc = graph_json_key(j, NULL, 0)) != 0) return rc;
  }
}

int graph_json_finish(graph_json_t* j) {
  return peek(j) == '\0' ? 0 : GRAPH_JSON_EXPECTED_VALUE(j, "the end of the graph JSON");
}
