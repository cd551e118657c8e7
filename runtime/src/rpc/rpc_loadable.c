/*
 * Model code sent by the host at run time (UTVM_RPC_LOADABLE=1): TVM's own
 * tvm.rpc.server.upload(name, bytes) and tvm.rpc.server.load_module(name), which TVM's
 * remote.upload() / remote.load_module() call, plus utvm.loadable.* for hosts that send
 * images larger than one message and for unloading. The linking itself is the port's
 * (utvm/loadable.h); this file keeps the bounded upload store and the module slot.
 */
#include "rpc_loadable.h"

#include <utvm/config.h>

#if UTVM_RPC_LOADABLE

#include <string.h>
#include <utvm/error.h>
#include <utvm/loadable.h>
#include <utvm/memory.h>
#include <utvm/registry.h>
#include <utvm/rpc_server.h>

#include "rpc_executors.h"
#include "time_evaluator.h"

#define NAME_SIZE 32

/* One stored file: uploads land here, load_module links from here. */
static uint8_t store[UTVM_LOADABLE_STORE_SIZE] __attribute__((aligned(8)));
static size_t store_len;
static char store_name[NAME_SIZE];

/* The module load_module returned, while its code is loaded. */
static const TVMModule* loaded;
static TVMModuleHandle loaded_handle;

static int check_name(const char* name) {
  if (name == NULL || name[0] == '\0' || strlen(name) >= NAME_SIZE) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "upload: a file name of 1 to %d characters", NAME_SIZE - 1);
  }
  return 0;
}

static int put(const char* name, const TVMByteArray* data, size_t at) {
  if (data->size > UTVM_LOADABLE_STORE_SIZE - at) {
    store_len = 0; /* nothing half-written stays loadable */
    return utvm_fail(kTvmErrorPlatformNoMemory,
                     "upload: %s needs %lu bytes, the store holds %u "
                     "(CONFIG_UTVM_LOADABLE_STORE_SIZE)",
                     name, (unsigned long)(at + data->size), (unsigned)UTVM_LOADABLE_STORE_SIZE);
  }
  memcpy(store + at, data->data, data->size);
  store_len = at + data->size;
  return 0;
}

/* tvm.rpc.server.upload(name, bytes): the file is exactly these bytes. */
static int upload(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                  void* resource) {
  (void)ret, (void)ret_code, (void)resource;
  static const uint8_t expected[] = {2, kTVMStr, kTVMBytes};
  int rc = utvm_check_args("tvm.rpc.server.upload", codes, num_args, expected);
  if (rc == 0) rc = check_name(args[0].v_str);
  if (rc != 0) return rc;
  store_len = 0;
  strcpy(store_name, args[0].v_str);
  return put(store_name, args[1].v_handle, 0);
}

/* utvm.loadable.UploadAppend(name, bytes): the next part of the file upload() started. */
static int upload_append(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                         int* ret_code, void* resource) {
  (void)ret, (void)ret_code, (void)resource;
  static const uint8_t expected[] = {2, kTVMStr, kTVMBytes};
  int rc = utvm_check_args("utvm.loadable.UploadAppend", codes, num_args, expected);
  if (rc != 0) return rc;
  if (store_len == 0 || strcmp(args[0].v_str, store_name) != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "UploadAppend: %s was not started with tvm.rpc.server.upload",
                     args[0].v_str);
  }
  return put(store_name, args[1].v_handle, store_len);
}

static void unload(void) {
  if (loaded == NULL) return;
  /* An executor still holding the loaded functions' handles would call freed code, or code
   * of the next model loaded into the same module slot: the live executors go first. */
  utvm_rpc_release_executors();
  /* So do the time evaluators: theirs are function handles into this module's slot. */
  utvm_time_evaluators_release_all();
  /* The host may have freed the handle and the slot may hold another module by now. */
  if (utvm_module_from_handle(loaded_handle) == loaded) utvm_module_slot_release(loaded_handle);
  loaded = NULL;
  utvm_loadable_port_unload();
}

/* tvm.rpc.server.load_module(name) -> Module: links the uploaded file; its functions are
 * found by ModuleGetFunction and executors can be created on it. */
static int load_module(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                       void* resource) {
  (void)resource;
  static const uint8_t expected[] = {1, kTVMStr};
  int rc = utvm_check_args("tvm.rpc.server.load_module", codes, num_args, expected);
  if (rc != 0) return rc;
  if (store_len == 0 || strcmp(args[0].v_str, store_name) != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "load_module: no uploaded file %s (upload it first)", args[0].v_str);
  }
  unload();
  const TVMModule* mod = NULL;
  rc = utvm_loadable_port_load(store, store_len, &mod);
  if (rc != 0) return rc; /* the port said why */
  TVMModuleHandle handle;
  rc = TVMModCreateFromCModule(mod, &handle);
  if (rc != 0) {
    utvm_loadable_port_unload();
    return rc;
  }
  loaded = mod;
  loaded_handle = handle;
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = handle}, kTVMModuleHandle);
  return 0;
}

/* utvm.loadable.Unload(): frees the live executors, the loaded code and the module on it,
 * and empties the store. */
static int unload_fn(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                     void* resource) {
  (void)args, (void)ret, (void)ret_code, (void)resource;
  int rc = utvm_check_args("utvm.loadable.Unload", codes, num_args, (const uint8_t[]){0});
  if (rc != 0) return rc;
  unload();
  store_len = 0;
  return 0;
}

/* utvm.loadable.BytesInUse(which) -> int: 0 the loader's heap, 1 the runtime's memory; a
 * host checks both are back where they started after swapping models. */
static int bytes_in_use(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                        void* resource) {
  (void)resource;
  static const uint8_t expected[] = {1, kTVMArgInt};
  int rc = utvm_check_args("utvm.loadable.BytesInUse", codes, num_args, expected);
  if (rc != 0) return rc;
  int64_t which = args[0].v_int64;
  if (which != 0 && which != 1) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "BytesInUse: 0 (loader) or 1 (runtime)");
  }
  size_t n = which == 0 ? utvm_loadable_port_bytes_in_use() : utvm_heap_bytes_in_use();
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = (int64_t)n}, kTVMArgInt);
  return 0;
}

#if UTVM_LOADABLE_SYSTEM_LIB
/* runtime.SystemLib() -> the loaded module while one is loaded, else the firmware's own. A
 * tuning host (utvm's Project API loading each AutoTVM candidate into one running board)
 * loads the candidate in one session; TVM then asks for runtime.SystemLib in the next. */
static int loaded_system_lib(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                             int* ret_code, void* resource) {
  (void)args, (void)codes, (void)num_args, (void)resource; /* extra arguments ignored */
  TVMModuleHandle handle = loaded_handle;
  int rc = 0;
  if (loaded == NULL) {
    rc = utvm_system_lib(&handle);
  } else if (utvm_module_from_handle(loaded_handle) != loaded) {
    /* The host freed the handle load_module returned: the module gets a new one. */
    rc = TVMModCreateFromCModule(loaded, &handle);
    if (rc == 0) loaded_handle = handle;
  }
  if (rc != 0) return rc;
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = handle}, kTVMModuleHandle);
  return 0;
}
#endif

/* utvm.loadable.StoreSize() -> int: the largest image upload accepts, so a host can say
 * before uploading that a model does not fit. */
static int store_size(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                      void* resource) {
  (void)args, (void)codes, (void)num_args, (void)resource;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = UTVM_LOADABLE_STORE_SIZE}, kTVMArgInt);
  return 0;
}

int utvm_rpc_loadable_register(void) {
  static const struct {
    const char* name;
    TVMBackendPackedCFunc fn;
  } globals[] = {
      {"tvm.rpc.server.upload", upload},
      {"tvm.rpc.server.load_module", load_module},
      {"utvm.loadable.UploadAppend", upload_append},
      {"utvm.loadable.Unload", unload_fn},
      {"utvm.loadable.BytesInUse", bytes_in_use},
      {"utvm.loadable.StoreSize", store_size},
#if UTVM_LOADABLE_SYSTEM_LIB
      {"runtime.SystemLib", loaded_system_lib},
#endif
  };
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof(globals) / sizeof(globals[0]); i++) {
    rc = TVMFuncRegisterGlobal(globals[i].name, (TVMFunctionHandle)globals[i].fn, 1);
  }
  return rc;
}

#endif /* UTVM_RPC_LOADABLE */
