/* Strict bounded JSON reading for graph JSON (see json_reader.h). */
#include "json_reader.h"

#include <string.h>
#include <utvm/error.h>

#define MAX_DEPTH 32

static void skip_space(json_reader_t* r) {
  while (r->pos < r->len) {
    char c = r->buf[r->pos];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
    r->pos++;
  }
}

static int syntax(json_reader_t* r, const char* expected) {
  return utvm_fail(kTvmErrorFunctionCallInvalidArg, "graph JSON: %s expected at byte %lu",
                   expected, (unsigned long)r->pos);
}

int json_expect(json_reader_t* r, char c) {
  skip_space(r);
  if (r->pos >= r->len || r->buf[r->pos] != c) {
    char what[4] = {'\'', c, '\'', '\0'};
    return syntax(r, what);
  }
  r->pos++;
  return 0;
}

int json_read_string(json_reader_t* r, char* out, size_t out_size) {
  int rc = json_expect(r, '"');
  if (rc != 0) return syntax(r, "a string");
  size_t n = 0;
  while (r->pos < r->len) {
    char c = r->buf[r->pos++];
    if (c == '"') {
      if (out != NULL) out[n] = '\0';
      return 0;
    }
    if ((unsigned char)c < 0x20) break;
    if (c == '\\') {
      if (r->pos >= r->len) break;
      char e = r->buf[r->pos++];
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      const char* k = strchr(from, e);
      if (e == 'u') {
        /* \uXXXX: kept as '?'; graph names are ASCII identifiers. */
        for (int i = 0; i < 4; i++, r->pos++) {
          char h = r->pos < r->len ? r->buf[r->pos] : 0;
          if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) {
            return syntax(r, "four hex digits after \\u");
          }
        }
        c = '?';
      } else if (e == '\0' || k == NULL) {
        return syntax(r, "a valid escape");
      } else {
        c = to[k - from];
      }
    }
    if (out != NULL) {
      if (n + 1 >= out_size) {
        return utvm_fail(kTvmErrorBufferTooSmall,
                         "graph JSON: string at byte %lu is longer than %lu characters",
                         (unsigned long)r->pos, (unsigned long)out_size - 1);
      }
      out[n] = c;
    }
    n++;
  }
  return syntax(r, "a closing '\"'");
}

int json_read_int(json_reader_t* r, int64_t* out) {
  skip_space(r);
  bool negative = r->pos < r->len && r->buf[r->pos] == '-';
  if (negative) r->pos++;
  size_t start = r->pos;
  uint64_t v = 0;
  while (r->pos < r->len && r->buf[r->pos] >= '0' && r->buf[r->pos] <= '9') {
    if (v > (uint64_t)INT64_MAX / 10) return syntax(r, "an integer that fits in 64 bits");
    v = v * 10 + (uint64_t)(r->buf[r->pos++] - '0');
  }
  if (r->pos == start || v > (uint64_t)INT64_MAX) return syntax(r, "an integer");
  if (r->pos < r->len && (r->buf[r->pos] == '.' || r->buf[r->pos] == 'e' || r->buf[r->pos] == 'E')) {
    return syntax(r, "an integer (not a fraction)");
  }
  *out = negative ? -(int64_t)v : (int64_t)v;
  return 0;
}

static int skip_depth(json_reader_t* r, int depth) {
  if (depth > MAX_DEPTH) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "graph JSON: nesting deeper than %d at byte %lu", MAX_DEPTH, (unsigned long)r->pos);
  }
  skip_space(r);
  if (r->pos >= r->len) return syntax(r, "a value");
  char c = r->buf[r->pos];
  if (c == '"') return json_read_string(r, NULL, 0);
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    r->pos++;
    bool first = true, more;
    int rc;
    while ((rc = json_next(r, close, &first, &more)) == 0 && more) {
      if (close == '}') {
        if ((rc = json_read_string(r, NULL, 0)) != 0 || (rc = json_expect(r, ':')) != 0) return rc;
      }
      if ((rc = skip_depth(r, depth + 1)) != 0) return rc;
    }
    return rc;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    /* Any number: digits, sign, fraction, exponent. */
    while (r->pos < r->len && strchr("+-.eE0123456789", r->buf[r->pos]) != NULL && r->buf[r->pos]) r->pos++;
    return 0;
  }
  static const char* const words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if (r->len - r->pos >= n && memcmp(r->buf + r->pos, words[i], n) == 0) {
      r->pos += n;
      return 0;
    }
  }
  return syntax(r, "a value");
}

int json_skip_value(json_reader_t* r) { return skip_depth(r, 0); }

int json_count_array(json_reader_t* r, size_t* out) {
  json_reader_t probe = *r;
  int rc = json_expect(&probe, '[');
  if (rc != 0) return rc;
  bool first = true, more;
  size_t n = 0;
  while ((rc = json_next(&probe, ']', &first, &more)) == 0 && more) {
    if ((rc = skip_depth(&probe, 1)) != 0) return rc;
    n++;
  }
  *out = n;
  return rc;
}

int json_next(json_reader_t* r, char close, bool* first, bool* more) {
  skip_space(r);
  if (r->pos < r->len && r->buf[r->pos] == close) {
    r->pos++;
    *more = false;
    return 0;
  }
  if (!*first) {
    int rc = json_expect(r, ',');
    if (rc != 0) return syntax(r, close == ']' ? "',' or ']'" : "',' or '}'");
  }
  *first = false;
  *more = true;
  skip_space(r);
  if (r->pos >= r->len) return syntax(r, "a value");
  return 0;
}
