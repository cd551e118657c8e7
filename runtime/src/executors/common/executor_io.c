/* The inputs and outputs both executors keep (executor_io.h). */
#include "executor_io.h"

#include <string.h>
#include <utvm/error.h>

#if UTVM_ERROR_MESSAGES
const char utvm_executor_io_kinds[16] = "input\0\0\0output";
#endif

TVMNDArray* utvm_executor_io_array(const utvm_executor_io_t* io, int index, bool output) {
  uint32_t n = io->counts[output]; /* num_outputs or num_inputs */
  if ((uint32_t)index >= n) { /* negative indices too */
    utvm_fail(kTvmErrorExecutorModuleNoSuchInput, "%s index %d outside 0..%ld",
              UTVM_EXECUTOR_IO_KIND(output), index, (long)n - 1);
    return NULL;
  }
  return io->arrays[utvm_executor_io_place(io, output, (uint32_t)index)];
}

int utvm_executor_io_input_index(const utvm_executor_io_t* io, const char* name) {
  for (uint32_t i = 0; i < io->num_inputs; i++) {
    if (strcmp(io->name(io, i), name) == 0) return (int)i;
  }
  return -utvm_fail(kTvmErrorExecutorModuleNoSuchInput, "the %s has no input named %s", io->noun,
                    name);
}

int utvm_executor_io_copy(const utvm_executor_io_t* io, int index, bool output,
                          DLTensor* theirs) {
  TVMNDArray* arr = utvm_executor_io_array(io, index, output);
  if (arr == NULL) return kTvmErrorExecutorModuleNoSuchInput;
  DLTensor* ours = &arr->dl_tensor;
#if UTVM_ERROR_MESSAGES /* only messages name the tensor */
  const char* what = io->name(io, utvm_executor_io_place(io, output, (uint32_t)index));
#else
  const char* what = NULL;
#endif
  int rc = utvm_dltensor_check_same_layout(ours, theirs, what);
  if (rc != 0) return rc;
  if (theirs->data == NULL && utvm_dltensor_nbytes(theirs) != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: the tensor has no data", what);
  }
  return TVMDeviceCopyDataFromTo(output ? ours : theirs, output ? theirs : ours, NULL);
}

int utvm_executor_io_free(utvm_executor_io_t* io) {
  if (io == NULL) return 0;
  int rc = 0;
  for (uint32_t i = 0; i < io->num_inputs + io->num_outputs; i++) { /* arrays: never NULL */
    TVMNDArray* arr = io->arrays[i];
    if (arr == NULL) continue;
    /* A host may still hold this array: let it free it, and make stale use fail cleanly. */
    arr->pinned = false;
    if (!arr->owns_data && arr->reference_count > 1) arr->dl_tensor.data = NULL;
    int failed = utvm_ndarray_release(arr);
    if (failed != 0) rc = failed; /* the code of the last message */
  }
  int freed = utvm_platform_free(io); /* with the executor's tables */
  return rc != 0 ? rc : freed;
}
