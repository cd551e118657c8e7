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
/* The reference form of a message (utvm/error_ref.h), formatted by the platform, as the
 * text form and codes only are. */

/* Appends to message[at..]; returns the new end (never past the NUL of a full buffer). */
static size_t append(char* message, size_t at, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  at += TVMPlatformFormatMessage(message + at, UTVM_ERROR_MESSAGE_SIZE - at, fmt, args);
  va_end(args);
  /* A formatter may return the length it would have written (vsnprintf does): stay inside. */
  return at < UTVM_ERROR_MESSAGE_SIZE ? at : UTVM_ERROR_MESSAGE_SIZE - 1;
}

/* `used`: with LTO, the inline sites' only way here is utvm_fail_ref_inline's asm. */
__attribute__((used)) int utvm_fail_ref(uint32_t word, ...) {
  /* Written aside first: an argument may be TVMGetLastError() itself. */
  char message[UTVM_ERROR_MESSAGE_SIZE];
  va_list args;
  va_start(args, word);
  uint32_t packed = (word >> UTVM_MSG_CODE_SHIFT) & 0xff;
  int code = packed != 0 ? (int)(((packed & 0xf0) << 4) | (packed & 0xf)) : va_arg(args, int);
  size_t at = append(message, 0, "error 0x%x #%08lx", (unsigned)code, (unsigned long)word);
  for (uint32_t classes = word & UTVM_MSG_ARG_BITS; classes != 0; classes >>= 2) {
    if ((classes & 3) == 1) {
      at = append(message, at, " %lx", (unsigned long)va_arg(args, uint32_t));
    } else if ((classes & 3) == 2) {
      uint64_t v = va_arg(args, uint64_t);
      unsigned long high = (unsigned long)(v >> 32), low = (unsigned long)(uint32_t)v;
      at = high != 0 ? append(message, at, " %lx%08lx", high, low) : append(message, at, " %lx", low);
    } else {
      const char* s = va_arg(args, const char*);
      if (s == NULL) s = "(null)";
      at = append(message, at, " %x:%s", (unsigned)strlen(s), s);
    }
  }
  va_end(args);
  memcpy(last_error, message, at + 1);
  return code;
}

/* Defined on every Thumb-2 build, whatever it optimizes (sites compiled with other flags may
 * use it); its own section lets the linker drop it where nothing does. */
#if defined(__thumb2__) && !defined(UTVM_MSG_NO_INLINE_WORD)
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
    /* GCC sees no call in a site's asm, so sp may be only 4-aligned here: realign it to 8
     * for utvm_fail_ref (AAPCS), keeping the caller's in r4. */
    "  push {r4, lr}\n"
    "  mov r4, sp\n"
    "  mov r12, sp\n"
    "  bic r12, r12, #7\n"
    "  mov sp, r12\n"
    "  sub sp, #8\n"
    "  str r3, [sp]\n" /* the fourth argument, where a variadic callee reads it */
    "  mov r3, r2\n"
    "  mov r2, r1\n"
    "  mov r1, r0\n"
    "  ldrh r0, [lr, #-1]\n" /* lr has the Thumb bit: the word is at lr - 1 */
    "  ldrh r12, [lr, #1]\n"
    "  orr r0, r0, r12, lsl #16\n"
    "  bl utvm_fail_ref\n"
    "  mov sp, r4\n"
    "  pop {r4, lr}\n"
    "  add lr, lr, #4\n" /* past the word */
    "  bx lr\n"
    "  .size utvm_fail_ref_inline, . - utvm_fail_ref_inline\n"
    "  .popsection\n");
#endif
#else
int utvm_fail_code(int code) {
  TVMAPIErrorf("error 0x%x", (unsigned)code);
  return code;
}
#endif
