/* The last error message, as TVMGetLastError() reports it. */
#include <stdarg.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/runtime.h>

static char last_error[UTVM_ERROR_MESSAGE_SIZE];

void TVMAPISetLastError(const char* msg) {
  size_t n = strlen(msg);
  if (n >= sizeof(last_error)) n = sizeof(last_error) - 1;
  memcpy(last_error, msg, n);
  last_error[n] = '\0';
}

static void set_last_error_v(const char* fmt, va_list args) {
  /* Format aside first: callers often pass TVMGetLastError() itself as an argument. */
  char message[UTVM_ERROR_MESSAGE_SIZE];
  size_t n = TVMPlatformFormatMessage(message, sizeof(message), fmt, args);
  if (n >= sizeof(message)) n = sizeof(message) - 1;
  memcpy(last_error, message, n);
  last_error[n] = '\0';
}

int TVMAPIErrorf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_last_error_v(fmt, args);
  va_end(args);
  return -1;
}

const char* TVMGetLastError(void) { return last_error; }

#if UTVM_ERROR_MESSAGES && UTVM_ERROR_MESSAGE_TEXT
int utvm_fail(int code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_last_error_v(fmt, args);
  va_end(args);
  return code;
}
#elif UTVM_ERROR_MESSAGES
/* The reference form of a message (utvm/error_ref.h), written without printf. */
typedef struct {
  char* at;
  char* end; /* one before the buffer's end: room for the NUL */
} ref_writer_t;

static void put_char(ref_writer_t* w, char c) {
  if (w->at < w->end) *w->at++ = c;
}

/* v in hex, at least `digits` digits. */
static void put_hex(ref_writer_t* w, uint32_t v, int digits) {
  int n = 8;
  while (n > digits && (v >> (4 * (n - 1))) == 0) n--;
  while (n-- > 0) put_char(w, "0123456789abcdef"[(v >> (4 * n)) & 0xf]);
}

/* `used`: with LTO, the inline sites' only way here is utvm_fail_ref_inline's asm. */
__attribute__((used)) int utvm_fail_ref(uint32_t word, ...) {
  /* Written aside first: an argument may be TVMGetLastError() itself. */
  char message[UTVM_ERROR_MESSAGE_SIZE];
  ref_writer_t w = {message, message + sizeof(message) - 1};
  va_list args;
  va_start(args, word);
  uint32_t packed = (word >> UTVM_MSG_CODE_SHIFT) & 0xff;
  int code = packed != 0 ? (int)(((packed & 0xf0) << 4) | (packed & 0xf)) : va_arg(args, int);
  const char* head = "error 0x";
  while (*head != '\0') put_char(&w, *head++);
  put_hex(&w, (uint32_t)code, 1);
  put_char(&w, ' ');
  put_char(&w, '#');
  put_hex(&w, word, 8);
  for (uint32_t classes = word & UTVM_MSG_ARG_BITS; classes != 0; classes >>= 2) {
    put_char(&w, ' ');
    if ((classes & 3) == 1) {
      put_hex(&w, va_arg(args, uint32_t), 1);
    } else if ((classes & 3) == 2) {
      uint64_t v = va_arg(args, uint64_t);
      uint32_t high = (uint32_t)(v >> 32);
      if (high != 0) put_hex(&w, high, 1);
      put_hex(&w, (uint32_t)v, high != 0 ? 8 : 1);
    } else {
      const char* s = va_arg(args, const char*);
      if (s == NULL) s = "(null)";
      put_hex(&w, (uint32_t)strlen(s), 1);
      put_char(&w, ':');
      while (*s != '\0') put_char(&w, *s++);
    }
  }
  va_end(args);
  *w.at = '\0';
  memcpy(last_error, message, (size_t)(w.at - message) + 1);
  return code;
}

#if defined(__thumb2__) && defined(__OPTIMIZE__) && !defined(UTVM_MSG_NO_INLINE_WORD)
/* The sites of utvm/error_ref.h's inline form call here with up to four 32-bit arguments in
 * r0..r3 and the word in the two halfwords after their bl. This passes them on to
 * utvm_fail_ref (word first, the fourth argument on the stack) and returns past the word. */
__asm__(
    "  .pushsection .text.utvm_fail_ref_inline, \"ax\", %progbits\n"
    "  .thumb\n"
    "  .syntax unified\n"
    "  .global utvm_fail_ref_inline\n"
    "  .type utvm_fail_ref_inline, %function\n"
    "  .thumb_func\n"
    "utvm_fail_ref_inline:\n"
    "  push {r3, lr}\n" /* the fourth argument, where a variadic callee reads it; sp stays 8-aligned */
    "  mov r3, r2\n"
    "  mov r2, r1\n"
    "  mov r1, r0\n"
    "  ldrh r0, [lr, #-1]\n" /* lr has the Thumb bit: the word is at lr - 1 */
    "  ldrh r12, [lr, #1]\n"
    "  orr r0, r0, r12, lsl #16\n"
    "  bl utvm_fail_ref\n"
    "  pop {r1, r2}\n"
    "  adds r2, #4\n"
    "  bx r2\n"
    "  .size utvm_fail_ref_inline, . - utvm_fail_ref_inline\n"
    "  .popsection\n");
#endif
#else
int utvm_fail_code(int code) {
  TVMAPIErrorf("error 0x%x", (unsigned)code);
  return code;
}
#endif
