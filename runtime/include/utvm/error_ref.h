/*
 * Error messages by reference (UTVM_ERROR_MESSAGES=1, UTVM_ERROR_MESSAGE_TEXT=0).
 *
 * Each utvm_fail() site keeps a record in the section .utvm_msgs, which the
 * object file marks as not allocated: the linker keeps it in the ELF, nothing loads it
 * into the device's memory, and the code never refers to it: the code's packed form (bits
 * 19..12 of the id below, UTVM_MSG_VARIABLE_CODE when the code is not a constant) in one
 * byte, then the format string with its NUL. The code passes instead a
 * 32-bit id folded at compile time from the string (utvm/message_hash.h) whose low 12 bits
 * say how each argument travels (UTVM_MSG_CLASS_). The last error then reads
 *   error 0x<code> #<id> <arg> <arg> ...
 * (integers in hex, strings as <hex length>:<bytes>) and the host, which reads .utvm_msgs
 * from the firmware's ELF, prints it as the device would have formatted it. Without the
 * ELF the code and the id are still there, and the id is stable across builds.
 */
#ifndef UTVM_ERROR_REF_H_
#define UTVM_ERROR_REF_H_

#include <stdint.h>
#include <utvm/message_hash.h>

/* Records the message `word` names, with its code and the arguments its low bits describe,
 * as the last error; returns the code. The word's bits:
 *   31..20 the message's hash (utvm/message_hash.h), high 12 bits
 *   19..12 the code 0xA0B as 0xAB, or 0 when the code does not fit: then it comes first
 *          among the arguments, as an int
 *   11..0  2 bits per argument, the first lowest (UTVM_MSG_CLASS_)
 * One word, so most sites load a single constant. */
int utvm_fail_ref(uint32_t word, ...);

#define UTVM_MSG_ARG_BITS 0xfffu
#define UTVM_MSG_CODE_SHIFT 12
#define UTVM_MSG_HASH_BITS 0xfff00000u

/* A code of the form 0xA0B, A and B in 1..15 and 0..15, known at compile time. */
#define UTVM_MSG_CODE_FITS_(c) \
  (__builtin_constant_p(c) && ((c) & ~0xf0f) == 0 && (c) != 0 && (c) != 0xf0f)
/* A record's code byte for a code that is not a constant (never 0, so a record starts at
 * the first non-zero byte after padding a compiler may add). */
#define UTVM_MSG_VARIABLE_CODE 0xff
#define UTVM_MSG_CODE_(c) ((uint32_t)((((c) >> 4) & 0xf0) | ((c) & 0xf)) << UTVM_MSG_CODE_SHIFT)

/* How an argument travels: 1 a 32-bit integer, 2 a 64-bit integer (pointers and longs count
 * by their size), 3 a string. Floating-point arguments do not compile. */
#define UTVM_MSG_CLASS_(x)                                                                \
  _Generic((x), char*: 3u, const char*: 3u, float: utvm_msg_no_float_arguments_,          \
           double: utvm_msg_no_float_arguments_, long double: utvm_msg_no_float_arguments_, \
           default: (sizeof(x) > 4 ? 2u : 1u))
extern const struct utvm_msg_no_float_ { char unused; } utvm_msg_no_float_arguments_;

/* The section's flags are "" (not allocated); the text after the newline comments out the
 * flags GCC appends. Clang quotes section names, so there the records are loaded (host
 * programs only) and kept free of AddressSanitizer's red zones, which would split them. */
#ifdef __clang__
#define UTVM_MSG_SECTION_ ".utvm_msgs"
#define UTVM_MSG_NO_ASAN_ __attribute__((no_sanitize("address")))
#else
#define UTVM_MSG_SECTION_ ".utvm_msgs,\"\",%progbits\n#"
#define UTVM_MSG_NO_ASAN_ /* GCC leaves globals in named sections alone */
#endif

/* Dispatch on the number of macro arguments (format string included: 1..7). */
#define UTVM_MSG_N_(...) UTVM_MSG_N__(__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, ~)
#define UTVM_MSG_N__(a1, a2, a3, a4, a5, a6, a7, n, ...) n
#define UTVM_MSG_CAT_(a, b) UTVM_MSG_CAT__(a, b)
#define UTVM_MSG_CAT__(a, b) a##b
#define UTVM_MSG_FMT_(...) UTVM_MSG_FMT__(__VA_ARGS__, ~)
#define UTVM_MSG_FMT__(f, ...) f

#define UTVM_MSG_C_(x, i) (UTVM_MSG_CLASS_(x) << (2 * (i)))
#define UTVM_MSG_D1_(f) 0u
#define UTVM_MSG_D2_(f, a) UTVM_MSG_C_(a, 0)
#define UTVM_MSG_D3_(f, a, b) (UTVM_MSG_D2_(f, a) | UTVM_MSG_C_(b, 1))
#define UTVM_MSG_D4_(f, a, b, c) (UTVM_MSG_D3_(f, a, b) | UTVM_MSG_C_(c, 2))
#define UTVM_MSG_D5_(f, a, b, c, d) (UTVM_MSG_D4_(f, a, b, c) | UTVM_MSG_C_(d, 3))
#define UTVM_MSG_D6_(f, a, b, c, d, e) (UTVM_MSG_D5_(f, a, b, c, d) | UTVM_MSG_C_(e, 4))
#define UTVM_MSG_D7_(f, a, b, c, d, e, g) (UTVM_MSG_D6_(f, a, b, c, d, e) | UTVM_MSG_C_(g, 5))
#define UTVM_MSG_A1_(f)
#define UTVM_MSG_A2_(f, ...) , __VA_ARGS__
#define UTVM_MSG_A3_ UTVM_MSG_A2_
#define UTVM_MSG_A4_ UTVM_MSG_A2_
#define UTVM_MSG_A5_ UTVM_MSG_A2_
#define UTVM_MSG_A6_ UTVM_MSG_A2_
#define UTVM_MSG_A7_ UTVM_MSG_A2_

#define UTVM_MSG_WORD_(...)                                                            \
  ((UTVM_MSG_HASH_(UTVM_MSG_FMT_(__VA_ARGS__)) & UTVM_MSG_HASH_BITS) |                   \
   UTVM_MSG_CAT_(UTVM_MSG_D, UTVM_MSG_CAT_(UTVM_MSG_N_(__VA_ARGS__), _))(__VA_ARGS__))
#define UTVM_MSG_ARGS_(...) \
  UTVM_MSG_CAT_(UTVM_MSG_A, UTVM_MSG_CAT_(UTVM_MSG_N_(__VA_ARGS__), _))(__VA_ARGS__)

/* The message's record in .utvm_msgs, and the format check of its arguments. */
#define UTVM_MSG_RECORD_(code, ...)                                                         \
    static const struct {                                                                   \
      unsigned char packed_code; /* not `code`: that names the macro parameter */       \
      char fmt[sizeof(UTVM_MSG_FMT_(__VA_ARGS__))];                                         \
    } utvm_msg_ UTVM_MSG_NO_ASAN_                                                           \
        __attribute__((used, aligned(1), section(UTVM_MSG_SECTION_))) = {                   \
        __builtin_constant_p(code) /* a constant here (GCC folds it to 0 for variables) */ \
            ? (UTVM_MSG_CODE_FITS_(code) ? UTVM_MSG_CODE_(code) >> UTVM_MSG_CODE_SHIFT      \
                                         : UTVM_MSG_VARIABLE_CODE)                          \
            : UTVM_MSG_VARIABLE_CODE,                                                       \
        UTVM_MSG_FMT_(__VA_ARGS__)};                                                        \
    (void)sizeof(utvm_fail_unused_(__VA_ARGS__)); /* format-checks the arguments */

/* Both calls are written; the compiler keeps the one the code's constness selects. */
#define UTVM_FAIL_REF_(code, ...)                                                           \
  __extension__({                                                                           \
    UTVM_MSG_RECORD_(code, __VA_ARGS__)                                                     \
    UTVM_MSG_CODE_FITS_(code)                                                               \
        ? utvm_fail_ref(UTVM_MSG_WORD_(__VA_ARGS__) | UTVM_MSG_CODE_(code)                  \
                        UTVM_MSG_ARGS_(__VA_ARGS__))                                        \
        : utvm_fail_ref(UTVM_MSG_WORD_(__VA_ARGS__), (int)(code) UTVM_MSG_ARGS_(__VA_ARGS__)); \
  })

/* The word of a message whose arguments a shared helper passes to utvm_fail_ref() (see
 * UTVM_FAIL_WORD in utvm/error.h); `code` is a constant of the form 0xA0B. */
#define UTVM_MSG_WORD_OF_(code, ...)                                   \
  __extension__({                                                      \
    UTVM_MSG_RECORD_(code, __VA_ARGS__)                                \
    (uint32_t)(UTVM_MSG_WORD_(__VA_ARGS__) | UTVM_MSG_CODE_(code));    \
  })

#endif /* UTVM_ERROR_REF_H_ */
