/* TVM dtype strings ("int8", "float32x4", "bool", "handle") to DLDataType and back. */
#include <stdio.h>
#include <string.h>
#include <utvm/error.h>
#include <utvm/ndarray.h>

static bool parse_uint(const char** s, unsigned long max, unsigned long* out) {
  const char* p = *s;
  unsigned long v = 0;
  if (*p < '0' || *p > '9') return false;
  while (*p >= '0' && *p <= '9') {
    v = v * 10 + (unsigned long)(*p - '0');
    if (v > max) return false;
    p++;
  }
  *s = p;
  *out = v;
  return true;
}

int utvm_dtype_parse(const char* s, DLDataType* out) {
  static const struct {
    const char* prefix;
    uint8_t code;
  } kinds[] = {{"bfloat", kDLBfloat}, {"float", kDLFloat}, {"uint", kDLUInt}, {"int", kDLInt}};
  DLDataType t = {kDLOpaqueHandle, 0, 0};
  const char* p = s;
  if (*s == '\0') {
    *out = t; /* TVM's parser maps "" to an opaque handle */
    return 0;
  }
  if (strcmp(s, "bool") == 0) {
    *out = (DLDataType){kDLUInt, 1, 1};
    return 0;
  }
  if (strcmp(s, "handle") == 0) {
    *out = (DLDataType){kDLOpaqueHandle, 64, 1};
    return 0;
  }
  size_t i;
  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    size_t n = strlen(kinds[i].prefix);
    if (strncmp(s, kinds[i].prefix, n) == 0) {
      t.code = kinds[i].code;
      p = s + n;
      break;
    }
  }
  if (i == sizeof(kinds) / sizeof(kinds[0])) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "unknown dtype \"%s\"", s);
  }
  unsigned long bits = 32, lanes = 1;
  if (*p >= '0' && *p <= '9' && !parse_uint(&p, 255, &bits)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "bad bit width in dtype \"%s\"", s);
  }
  if (*p == 'x') {
    p++;
    if (!parse_uint(&p, 65535, &lanes) || lanes == 0) {
      return utvm_fail(kTvmErrorFunctionCallInvalidArg, "bad lanes in dtype \"%s\"", s);
    }
  }
  if (*p != '\0' || bits == 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "unknown dtype \"%s\"", s);
  }
  t.bits = (uint8_t)bits;
  t.lanes = (uint16_t)lanes;
  *out = t;
  return 0;
}

bool utvm_dtype_equal(DLDataType a, DLDataType b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

const char* utvm_dtype_str(DLDataType t, char* buf, size_t buf_size) {
  static const char* names[] = {"int", "uint", "float", "handle", "bfloat", "complex"};
  const char* name = t.code < sizeof(names) / sizeof(names[0]) ? names[t.code] : "unknown";
  if (t.code == kDLUInt && t.bits == 1 && t.lanes == 1) {
    snprintf(buf, buf_size, "bool");
  } else if (t.lanes == 1) {
    snprintf(buf, buf_size, "%s%u", name, (unsigned)t.bits);
  } else {
    snprintf(buf, buf_size, "%s%ux%u", name, (unsigned)t.bits, (unsigned)t.lanes);
  }
  return buf;
}
