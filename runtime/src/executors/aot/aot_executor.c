/*
 * AOT executor (packed interface). The model describes itself through
 * tvmgen_<name>_get_c_metadata; the executor owns one NDArray per input and
 * output and calls tvmgen_<name>_run with them.
 */
#include <stdio.h>
#include <string.h>
#include <utvm/aot_executor.h>
#include <utvm/error.h>
#include <utvm/registry.h>

#include "../common/executor_io.h"

struct utvm_aot_executor {
  utvm_executor_io_t io; /* one NDArray per input, then per output */
  const struct TVMMetadata* metadata;
  TVMFunctionHandle run;
  int num_args;         /* tensors + workspace pools, what tvmgen_<name>_run is told */
  TVMValue* arg_values; /* num_args + 2: generated main reads one type code past the end */
  int* arg_codes;
};

/* Generated run ignores the workspace-pool arguments (it uses its own static pools), but
 * they still have to be valid tensors. */
static DLTensor unused_pool;

int utvm_aot_executor_release(utvm_aot_executor_t* exec) {
  return utvm_executor_io_free((utvm_executor_io_t*)exec); /* its first member */
}

static int find_metadata(TVMModuleHandle module, const char* module_name,
                         const struct TVMMetadata** out) {
  char name[UTVM_MAX_NAME_LEN];
  int n = snprintf(name, sizeof(name), "tvmgen_%s_get_c_metadata", module_name);
  if (n < 0 || (size_t)n >= sizeof(name)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "module name \"%s\" is too long", module_name);
  }
  TVMFunctionHandle get_metadata;
  if (TVMModGetFunction(module, name, 0, &get_metadata) != 0) {
    return utvm_fail(kTvmErrorFunctionNameNotFound,
                     "%s is not in the module: is this an AOT model built with the packed "
                     "interface and module name \"%s\"?", name, module_name);
  }
  TVMValue ret;
  int ret_code;
  int rc = TVMFuncCall(get_metadata, NULL, NULL, 0, &ret, &ret_code);
  if (rc != 0) return rc;
  const struct TVMMetadata* md = ret.v_handle;
  if (ret_code != kTVMOpaqueHandle || md == NULL) {
    return utvm_fail(kTvmErrorFunctionCallWrongArgType, "%s returned no metadata", name);
  }
  /* Each count in 0..0x7fff and at most 0x7fff tensors: every size below is 32-bit
   * arithmetic. No high bits (negative counts have them), then the low words: with both
   * counts' words in the OR, their sum cannot wrap past the check. */
  uint32_t in = (uint32_t)md->num_inputs, outs = (uint32_t)md->num_outputs;
  if (md->version != TVM_METADATA_VERSION ||
      ((uint64_t)(md->num_inputs | md->num_outputs | md->num_workspace_pools) >> 32) != 0 ||
      ((in + outs) | in | outs | (uint32_t)md->num_workspace_pools) > 0x7fff) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: unsupported metadata (version %lld)",
                     name, (long long)md->version);
  }
  *out = md;
  return 0;
}

/* What the metadata says of io array i (inputs, then outputs). */
__attribute__((noinline)) static const struct TVMTensorInfo* tensor_info(
    const struct TVMMetadata* md, uint32_t i) {
  uint32_t num_inputs = (uint32_t)md->num_inputs;
  return i < num_inputs ? &md->inputs[i] : &md->outputs[i - num_inputs];
}

/* The name of io array i: the metadata's name of that input or output. */
static const char* io_name(const utvm_executor_io_t* io, uint32_t i) {
  return tensor_info(((const utvm_aot_executor_t*)io)->metadata, i)->name;
}

static int make_tensor(const struct TVMTensorInfo* info, TVMNDArray** out) {
  if ((uint64_t)info->num_shape > UTVM_MAX_NDIM) { /* negative ones too */
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "tensor %s has %lld dimensions (max %d)",
                     info->name, (long long)info->num_shape, UTVM_MAX_NDIM);
  }
  return utvm_ndarray_view(NULL, (int32_t)info->num_shape, info->shape, info->dtype, out);
}

int utvm_aot_executor_create(TVMModuleHandle module, DLDevice device, const char* module_name,
                             utvm_aot_executor_t** out) {
  if (device.device_type != kDLCPU || device.device_id != 0) {
    return utvm_fail(kTvmErrorExecutorModuleBadContext, "AOT executor: only cpu(0) is supported");
  }
  const struct TVMMetadata* md = NULL; /* set only on success: a failure's code is not 0 */
  int rc = find_metadata(module, module_name, &md);
  if (md == NULL) return rc;

  char run_name[UTVM_MAX_NAME_LEN];
  int n = snprintf(run_name, sizeof(run_name), "%s_run", md->mod_name);
  if (n < 0 || (size_t)n >= sizeof(run_name)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "model name %s is too long", md->mod_name);
  }
  TVMFunctionHandle run;
  if (TVMModGetFunction(module, run_name, 0, &run) != 0) {
    return utvm_fail(kTvmErrorFunctionNameNotFound, "%s is not in the module", run_name);
  }

  /* The executor and its tables in one allocation: arg_values (8-byte aligned) right after
   * the executor, then the arrays (pointers), then arg_codes. The counts are at most 0x7fff
   * (find_metadata): the size is well below 2^32. */
  uint32_t num_inputs = (uint32_t)md->num_inputs, num_tensors = num_inputs + (uint32_t)md->num_outputs;
  uint32_t num_args = num_tensors + (uint32_t)md->num_workspace_pools;
  size_t header = (sizeof(utvm_aot_executor_t) + 7) & ~(size_t)7;
  size_t total = header + (sizeof(TVMValue) + sizeof(int)) * (num_args + 2) +
                 sizeof(TVMNDArray*) * num_tensors;
  void* mem = NULL;
  if ((rc = utvm_platform_alloc(total, &mem)) != 0) {
    return utvm_fail(rc, "out of memory creating the AOT executor");
  }
  memset(mem, 0, total);
  utvm_aot_executor_t* exec = mem;
  TVMValue* arg_values = (TVMValue*)((uint8_t*)mem + header);
  TVMNDArray** arrays = (TVMNDArray**)(arg_values + num_args + 2);
  int* arg_codes = (int*)(arrays + num_tensors);
  exec->io = (utvm_executor_io_t){
      .arrays = arrays, .num_inputs = num_inputs, .num_outputs = num_tensors - num_inputs,
      .name = io_name, .noun = UTVM_EXECUTOR_WORD("model")};
  exec->metadata = md;
  exec->run = run;
  exec->num_args = (int)num_args;
  exec->arg_values = arg_values;
  exec->arg_codes = arg_codes;
  for (uint32_t i = 0; i < num_args + 2; i++) {
    DLTensor* arg = &unused_pool;
    if (i < num_tensors) {
      rc = make_tensor(tensor_info(md, i), &arrays[i]);
      if (rc != 0) {
        utvm_aot_executor_release(exec);
        return utvm_fail(rc, "creating the AOT executor: %s", TVMGetLastError());
      }
      arrays[i]->pinned = true;
      arg = &arrays[i]->dl_tensor;
    }
    arg_values[i].v_handle = arg;
    arg_codes[i] = kTVMDLTensorHandle;
  }
  *out = exec;
  return 0;
}

const struct TVMMetadata* utvm_aot_executor_metadata(const utvm_aot_executor_t* exec) {
  return exec->metadata;
}

int utvm_aot_executor_num_inputs(const utvm_aot_executor_t* exec) {
  return (int)exec->io.num_inputs;
}

int utvm_aot_executor_num_outputs(const utvm_aot_executor_t* exec) {
  return (int)exec->io.num_outputs;
}

int utvm_aot_executor_input_index(const utvm_aot_executor_t* exec, const char* name) {
  return utvm_executor_io_input_index(&exec->io, name);
}

TVMNDArray* utvm_aot_executor_input(utvm_aot_executor_t* exec, int index) {
  return utvm_executor_io_array(&exec->io, index, false);
}

TVMNDArray* utvm_aot_executor_output(utvm_aot_executor_t* exec, int index) {
  return utvm_executor_io_array(&exec->io, index, true);
}

int utvm_aot_executor_set_input(utvm_aot_executor_t* exec, int index, const DLTensor* src) {
  return utvm_executor_io_copy(&exec->io, index, false, (DLTensor*)src);
}

int utvm_aot_executor_run(utvm_aot_executor_t* exec) {
  TVMValue ret;
  int ret_code;
  int rc = TVMFuncCall(exec->run, exec->arg_values, exec->arg_codes, exec->num_args, &ret, &ret_code);
  if (rc != 0) {
    return utvm_fail(rc, "%s_run failed with %d: %s", exec->metadata->mod_name, rc, TVMGetLastError());
  }
  return 0;
}

int utvm_aot_executor_get_output(utvm_aot_executor_t* exec, int index, DLTensor* dst) {
  return utvm_executor_io_copy(&exec->io, index, true, dst);
}
