/* TVM dtype strings ("int8", "float32x4", "bool", "handle") to DLDataType and back. */
#include <stdio.h>
#include <string.h>
#include <utvm/error.h>
#include <utvm/ndarray.h>

/* Type names by DLDataTypeCode, for parsing and printing. */
_Static_assert(sizeof(DLDataType) == 4, "DLDataType is code, bits, lanes without padding");

/* Fixed width, no table of pointers; the last name is that of every other code. */
static const char kNames[][8] = {"int",    "uint",    "float",  "handle",
                                 "bfloat", "complex", "unknown" /* any other code */};
#define UNKNOWN_CODE 6

/* s past `prefix`, or NULL when s does not start with it. */
static const char* skip_prefix(const char* s, const char* prefix) {
  while (*prefix != '\0') {
    if (*s++ != *prefix++) return NULL;
  }
  return s;
}

/* The decimal number at *p, which it moves past the digits: 0 without digits, and 65536 for
 * any number above 65535 (no caller takes one, and it cannot overflow). One copy for its two
 * callers. */
__attribute__((noinline)) static unsigned long parse_uint(const char** p) {
  unsigned long v = 0;
  for (const char* q = *p; *q >= '0' && *q <= '9'; *p = ++q) {
    v = v * 10 + (unsigned long)(*q - '0');
    if (v > 65535) v = 65536;
  }
  return v;
}

int utvm_dtype_parse(const char* s, DLDataType* out) {
  DLDataType t = {kDLOpaqueHandle, 0, 0}; /* TVM's parser maps "" to an opaque handle */
  if (*s == '\0') goto done;
  if (strcmp(s, "bool") == 0) {
    t = (DLDataType){kDLUInt, 1, 1};
    goto done;
  }
  /* int, uint, float, handle, bfloat: no name is a prefix of another */
  const char* p;
  uint8_t code = kDLInt;
  while ((p = skip_prefix(s, kNames[code])) == NULL) {
    if (++code > kDLBfloat) goto unknown;
  }
  unsigned long bits = 32, lanes = 1;
  if (code == kDLOpaqueHandle) {
    if (*p != '\0') goto unknown; /* only "handle" itself */
    bits = 64;
  }
  if (*p >= '0' && *p <= '9' && (bits = parse_uint(&p)) > 255) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "bad bit width in dtype \"%s\"", s);
  }
  if (*p == 'x') {
    p++;
    lanes = parse_uint(&p); /* 0 without digits */
    if (lanes - 1 >= 65535) { /* 0 wraps */
      return utvm_fail(kTvmErrorFunctionCallInvalidArg, "bad lanes in dtype \"%s\"", s);
    }
  }
  if (*p != '\0' || bits == 0) {
  unknown:
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "unknown dtype \"%s\"", s);
  }
  t = (DLDataType){code, (uint8_t)bits, (uint16_t)lanes};
done:
  *out = t;
  return 0;
}

const char* utvm_dtype_str(DLDataType t, char buf[UTVM_DTYPE_STR_SIZE]) {
  unsigned code = t.code, bits = t.bits, lanes = t.lanes;
  const char* name = kNames[code < UNKNOWN_CODE ? code : UNKNOWN_CODE];
  /* One format: "x1" (and the bits of "bool1x1") are cut off after, where they fit. */
  size_t cut = lanes == 1 ? 2 : 0;
  if (utvm_dtype_equal(t, (DLDataType){kDLUInt, 1, 1})) name = "bool", cut = 3;
  size_t len = (size_t)snprintf(buf, UTVM_DTYPE_STR_SIZE, "%s%ux%u", name, bits, lanes);
  if (len < UTVM_DTYPE_STR_SIZE) buf[len - cut] = '\0';
  return buf;
}
