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

/* Dispatch on the number of macro arguments (format string included: 1..7, and 8 where a
 * code comes first among them). */
#define UTVM_MSG_N_(...) UTVM_MSG_N__(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, ~)
#define UTVM_MSG_N__(a1, a2, a3, a4, a5, a6, a7, a8, n, ...) n
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

#define UTVM_MSG_CLASSES_(...) \
  UTVM_MSG_CAT_(UTVM_MSG_D, UTVM_MSG_CAT_(UTVM_MSG_N_(__VA_ARGS__), _))(__VA_ARGS__)
#define UTVM_MSG_WORD_(...)                                              \
  ((UTVM_MSG_HASH_(UTVM_MSG_FMT_(__VA_ARGS__)) & UTVM_MSG_HASH_BITS) | \
   UTVM_MSG_CLASSES_(__VA_ARGS__))
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

/* The plain call, the word a literal; both calls are written and the compiler keeps the one
 * the code's constness selects. */
#define UTVM_FAIL_REF_CALL_(code, ...)                                                      \
  (UTVM_MSG_CODE_FITS_(code)                                                                \
       ? utvm_fail_ref(UTVM_MSG_WORD_(__VA_ARGS__) | UTVM_MSG_CODE_(code)                   \
                       UTVM_MSG_ARGS_(__VA_ARGS__))                                         \
       : utvm_fail_ref(UTVM_MSG_WORD_(__VA_ARGS__), (int)(code) UTVM_MSG_ARGS_(__VA_ARGS__)))

#if defined(__thumb2__) && defined(__OPTIMIZE__) && !defined(__clang__) && \
    !defined(UTVM_MSG_NO_INLINE_WORD)
/* Thumb-2 with GCC: the word follows the call in the code (bl, then the word as two
 * halfwords: 8 bytes) instead of sitting in a literal pool (ldr, literal, bl: 10 bytes), and
 * up to four 32-bit arguments travel in r0..r3 (the plain call has three registers left).
 * utvm_fail_ref_inline (error.c) reads the word at its return address, calls utvm_fail_ref
 * and returns past the word. A code that is not a constant 0xA0B travels first among the
 * arguments, as in the plain call (then at most three more); sites with a 64-bit argument
 * or more arguments keep the plain call. tests/runtime/test_message_sites_thumb.py
 * checks the words, tests/python/west/test_board_messages.py runs them. */
int utvm_fail_ref_inline(void);
/* Every argument is evaluated into a temporary before any register variable is set: an
 * argument that calls a function (or a libgcc helper) would otherwise clobber the argument
 * registers already set (GCC keeps a register variable in its register only at the asm). */
#define UTVM_MSG_V_(x) ((uint32_t)(uintptr_t)(x))
#define UTVM_MSG_T1_(f, a, ...) uint32_t utvm_a0_ = UTVM_MSG_V_(a);
#define UTVM_MSG_T2_(f, a, b, ...) UTVM_MSG_T1_(f, a) uint32_t utvm_a1_ = UTVM_MSG_V_(b);
#define UTVM_MSG_T3_(f, a, b, c, ...) UTVM_MSG_T2_(f, a, b) uint32_t utvm_a2_ = UTVM_MSG_V_(c);
#define UTVM_MSG_T4_(f, a, b, c, d, ...) \
  UTVM_MSG_T3_(f, a, b, c) uint32_t utvm_a3_ = UTVM_MSG_V_(d);
#define UTVM_MSG_P1_ register uint32_t utvm_r0_ __asm__("r0") = utvm_a0_;
#define UTVM_MSG_P2_ UTVM_MSG_P1_ register uint32_t utvm_r1_ __asm__("r1") = utvm_a1_;
#define UTVM_MSG_P3_ UTVM_MSG_P2_ register uint32_t utvm_r2_ __asm__("r2") = utvm_a2_;
#define UTVM_MSG_P4_ UTVM_MSG_P3_ register uint32_t utvm_r3_ __asm__("r3") = utvm_a3_;
#define UTVM_MSG_R1_(...) UTVM_MSG_T1_(__VA_ARGS__) UTVM_MSG_P1_
#define UTVM_MSG_R2_(...) UTVM_MSG_T2_(__VA_ARGS__) UTVM_MSG_P2_
#define UTVM_MSG_R3_(...) UTVM_MSG_T3_(__VA_ARGS__) UTVM_MSG_P3_
#define UTVM_MSG_R4_(...) UTVM_MSG_T4_(__VA_ARGS__) UTVM_MSG_P4_
/* By the macro's argument count (the format and 0..7 arguments): the registers that carry
 * arguments (REGS), the asm's operands (OUT: each argument register, which the call may
 * change) and the argument registers the call clobbers besides (CLOB). Six to eight are
 * never chosen; they only need to expand. A site without arguments only reads r0 back (the
 * code utvm_fail_ref returns): its operand is output-only and needs no value. */
#define UTVM_MSG_REGS1_(f) register uint32_t utvm_r0_ __asm__("r0");
#define UTVM_MSG_REGS2_ UTVM_MSG_R1_
#define UTVM_MSG_REGS3_ UTVM_MSG_R2_
#define UTVM_MSG_REGS4_ UTVM_MSG_R3_
#define UTVM_MSG_REGS5_ UTVM_MSG_R4_
#define UTVM_MSG_REGS6_ UTVM_MSG_R4_
#define UTVM_MSG_REGS7_ UTVM_MSG_R4_
#define UTVM_MSG_REGS8_ UTVM_MSG_R4_
#define UTVM_MSG_OUT1_ "=r"(utvm_r0_)
#define UTVM_MSG_OUT2_ "+r"(utvm_r0_)
#define UTVM_MSG_OUT3_ UTVM_MSG_OUT2_, "+r"(utvm_r1_)
#define UTVM_MSG_OUT4_ UTVM_MSG_OUT3_, "+r"(utvm_r2_)
#define UTVM_MSG_OUT5_ UTVM_MSG_OUT4_, "+r"(utvm_r3_)
#define UTVM_MSG_OUT6_ UTVM_MSG_OUT5_
#define UTVM_MSG_OUT7_ UTVM_MSG_OUT5_
#define UTVM_MSG_OUT8_ UTVM_MSG_OUT5_
#define UTVM_MSG_CLOB1_ "r1", "r2", "r3",
#define UTVM_MSG_CLOB2_ "r1", "r2", "r3",
#define UTVM_MSG_CLOB3_ "r2", "r3",
#define UTVM_MSG_CLOB4_ "r3",
#define UTVM_MSG_CLOB5_
#define UTVM_MSG_CLOB6_
#define UTVM_MSG_CLOB7_
#define UTVM_MSG_CLOB8_
#define UTVM_MSG_BY_N_(prefix, ...) \
  UTVM_MSG_CAT_(prefix, UTVM_MSG_CAT_(UTVM_MSG_N_(__VA_ARGS__), _))
/* With an FPU (hard or softfp float ABI) the call may change the caller-saved s0..s15. */
#if defined(__ARM_FP) && !defined(__SOFTFP__)
#define UTVM_MSG_FP_CLOB_ "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", \
    "s11", "s12", "s13", "s14", "s15",
#else
#define UTVM_MSG_FP_CLOB_
#endif
/* No 64-bit argument: no class is 2 (0b10: bit 1 set, bit 0 clear). */
#define UTVM_MSG_ALL_32_(classes) ((((classes) >> 1) & ~(classes) & 0x555u) == 0)
/* The word is "i": a constant the assembler writes. It carries the code only when that is a
 * constant 0xA0B; the ternary in UTVM_FAIL_REF_INLINE_ only keeps the operand constant in
 * the branch GCC drops for any other code. */
#define UTVM_FAIL_REF_INLINE_AT_(word, ...)                                                 \
  __extension__({                                                                         \
    UTVM_MSG_BY_N_(UTVM_MSG_REGS, __VA_ARGS__)(__VA_ARGS__)                                \
    __asm__ volatile("bl utvm_fail_ref_inline\n\t"                                         \
                     ".hword (%c[w]) & 0xffff, ((%c[w]) >> 16) & 0xffff"                   \
                     : UTVM_MSG_BY_N_(UTVM_MSG_OUT, __VA_ARGS__)                          \
                     : [w] "i"(word)                                                      \
                     : UTVM_MSG_BY_N_(UTVM_MSG_CLOB, __VA_ARGS__) UTVM_MSG_FP_CLOB_        \
                       "r12", "lr", "cc", "memory");                                      \
    (int)utvm_r0_;                                                                        \
  })
/* A constant code 0xA0B travels in the word; any other code comes first among the
 * arguments, as in the plain call. */
#define UTVM_FAIL_REF_INLINE_(code, ...)                                                    \
  UTVM_FAIL_REF_INLINE_AT_(UTVM_MSG_WORD_(__VA_ARGS__) |                                   \
                               UTVM_MSG_CODE_(UTVM_MSG_CODE_FITS_(code) ? (code) : 0),    \
                           __VA_ARGS__)
#define UTVM_FAIL_REF_INLINE_CODE_ARG_(code, ...)                                           \
  UTVM_FAIL_REF_INLINE_AT_(UTVM_MSG_WORD_(__VA_ARGS__), UTVM_MSG_FMT_(__VA_ARGS__),        \
                           (int)(code) UTVM_MSG_ARGS_(__VA_ARGS__))
#define UTVM_FAIL_REF_(code, ...)                                                            \
  __extension__({                                                                            \
    UTVM_MSG_RECORD_(code, __VA_ARGS__)                                                      \
    __builtin_choose_expr(                                                                   \
        UTVM_MSG_N_(__VA_ARGS__) <= 5 && UTVM_MSG_ALL_32_(UTVM_MSG_CLASSES_(__VA_ARGS__)),   \
        UTVM_MSG_CODE_FITS_(code)     ? UTVM_FAIL_REF_INLINE_(code, __VA_ARGS__)             \
        : UTVM_MSG_N_(__VA_ARGS__) <= 4 ? UTVM_FAIL_REF_INLINE_CODE_ARG_(code, __VA_ARGS__)    \
                                        : UTVM_FAIL_REF_CALL_(code, __VA_ARGS__),              \
        UTVM_FAIL_REF_CALL_(code, __VA_ARGS__));                                             \
  })
#else
#define UTVM_FAIL_REF_(code, ...)               \
  __extension__({                               \
    UTVM_MSG_RECORD_(code, __VA_ARGS__)         \
    UTVM_FAIL_REF_CALL_(code, __VA_ARGS__);     \
  })
#endif

/* The word of a message whose arguments a shared helper passes to utvm_fail_ref() (as
 * GRAPH_JSON_FAIL_AT in executors/graph/graph_json.h does); `code` is a constant of the
 * form 0xA0B. */
#define UTVM_MSG_WORD_OF_(code, ...)                                   \
  __extension__({                                                      \
    UTVM_MSG_RECORD_(code, __VA_ARGS__)                                \
    (uint32_t)(UTVM_MSG_WORD_(__VA_ARGS__) | UTVM_MSG_CODE_(code));    \
  })

#endif /* UTVM_ERROR_REF_H_ */
