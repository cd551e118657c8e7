/*
 * What the AOT and graph executors share about their inputs and outputs: one pinned
 * NDArray each (inputs, then outputs), their names, and the checked lookups and copies
 * both executors and the executor modules make with them.
 */
#ifndef UTVM_EXECUTOR_IO_H_
#define UTVM_EXECUTOR_IO_H_

#include <stdbool.h>
#include <stdint.h>
#include <utvm/ndarray.h>

typedef struct utvm_executor_io utvm_executor_io_t;

/* A word only messages show (an io's noun, an executor module's kind): NULL without messages
 * (UTVM_ERROR_MESSAGES=0), and no text kept. */
#if UTVM_ERROR_MESSAGES
#define UTVM_EXECUTOR_WORD(text) (text)
#else
#define UTVM_EXECUTOR_WORD(text) NULL
#endif

/* "input" or "output" for an io's messages (`output` 0 or 1): one copy of both words, 8
 * bytes apart, for the executors' two messages that name the kind (executor_io.c). Only
 * message arguments use it, which codes-only builds do not evaluate. */
extern const char utvm_executor_io_kinds[16];
#define UTVM_EXECUTOR_IO_KIND(output) (&utvm_executor_io_kinds[8 * (uint32_t)(output)])

/* The first member of each executor, so an executor pointer is its io. */
struct utvm_executor_io {
  TVMNDArray** arrays; /* num_inputs + num_outputs, each NULL until created; in memory the
                        * executor owns (its own allocation, or its graph's tables) */
  union {
    struct {
      uint32_t num_inputs;
      uint32_t num_outputs;
    };
    uint32_t counts[2]; /* the two, indexed by `output` (and in get_num_* order) */
  };
  /* The name of array i (inputs, then outputs) that messages give and inputs are found by. */
  const char* (*name)(const utvm_executor_io_t* io, uint32_t i);
  const char* noun; /* for messages: "the <noun> has no input named x" (UTVM_EXECUTOR_WORD) */
};

/* Where input or output `index` sits in io->arrays: the outputs follow the inputs (a
 * multiply by 0 or 1, no branch). */
static inline uint32_t utvm_executor_io_place(const utvm_executor_io_t* io, bool output,
                                              uint32_t index) {
  return (uint32_t)output * io->num_inputs + index;
}

/* Input or output `index` (NULL and a message when out of range). */
TVMNDArray* utvm_executor_io_array(const utvm_executor_io_t* io, int index, bool output);
/* Index of the input called `name`, or -kTvmErrorExecutorModuleNoSuchInput with a message. */
int utvm_executor_io_input_index(const utvm_executor_io_t* io, const char* name);
/* Copies `theirs` into input `index`, or output `index` into `theirs`, once its dtype, shape
 * and data are checked. */
int utvm_executor_io_copy(const utvm_executor_io_t* io, int index, bool output,
                          DLTensor* theirs);
/* Frees the executor `io` is the first member of (one TVMPlatformMemoryAllocate block; NULL
 * is fine) after it unpins and releases the arrays: a view a host still holds loses its data
 * (it points into the executor's storage) and stays a handle the host frees. When a
 * release fails, the others still happen and its error code is returned. */
int utvm_executor_io_free(utvm_executor_io_t* io);

#endif /* UTVM_EXECUTOR_IO_H_ */
