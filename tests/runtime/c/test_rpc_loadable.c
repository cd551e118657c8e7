/* The RPC server's loadable-code globals (runtime/src/rpc/rpc_loadable.c, built here with
 * UTVM_RPC_LOADABLE=1, UTVM_LOADABLE_SYSTEM_LIB=1 and a 64-byte store) over a fake port
 * loader: upload in pieces, load, find functions on the loaded module, refuse what the port
 * refuses, swap without leaks; runtime.SystemLib is the loaded module in every session. */
#include "rpc_loadable.h"
#include "test_rpc_support.h"
#include "utest.h"

#include <utvm/error.h>
#include <utvm/loadable.h>

static int loads, unloads;
static bool holding;

static int loaded_op(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code,
                     void* res) {
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = 7}, kTVMArgInt);
  return 0;
}
static const TVMBackendPackedCFunc kFuncs[] = {loaded_op};
static const TVMFuncRegistry kRegistry = {"\001\000tvmgen_default_loaded_op\000", kFuncs};
static const TVMModule kLoaded = {&kRegistry};

/* The fake port: images that start with "ELF!" load, anything else is refused. */
int utvm_loadable_port_load(const uint8_t* image, size_t size, const TVMModule** out) {
  if (size < 4 || memcmp(image, "ELF!", 4) != 0) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "load_module: not an image");
  }
  utvm_loadable_port_unload();
  loads++;
  holding = true;
  *out = &kLoaded;
  return 0;
}
void utvm_loadable_port_unload(void) {
  if (holding) unloads++;
  holding = false;
}
size_t utvm_loadable_port_bytes_in_use(void) { return holding ? 100 : 0; }

static bool start(void) {
  loads = unloads = 0;
  holding = false;
  return start_session() && utvm_rpc_loadable_register() == 0;
}

static const host_msg_t* call_str_bytes(const char* fn, const char* name, const void* data,
                                        size_t n) {
  uint64_t f = get_global(fn); /* before req(): it builds its own packet */
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 2);
  p_i32(p, kTVMStr), p_i32(p, kTVMBytes);
  p_str(p, name);
  p_u64(p, n);
  p_raw(p, data, n);
  return call(p);
}

static const host_msg_t* call_str(const char* fn, const char* name) {
  uint64_t f = get_global(fn); /* before req(): it builds its own packet */
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, name);
  return call(p);
}

static int64_t call_int(const char* fn, int64_t arg) {
  uint64_t f = get_global(fn); /* before req(): it builds its own packet */
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 1);
  p_i32(p, kTVMArgInt);
  p_u64(p, (uint64_t)arg);
  uint64_t v = 0;
  return is_call_return(call(p), kTVMArgInt, kTVMArgInt, &v) ? (int64_t)v : -1;
}

static bool void_return(const host_msg_t* m) {
  return is_call_return(m, kTVMNullptr, kTVMNullptr, NULL);
}

UTEST(upload_in_pieces_then_load_finds_the_module_functions) {
  CHECK(start());
  CHECK(void_return(call_str_bytes("tvm.rpc.server.upload", "m.llext", "ELF!", 4)));
  CHECK(void_return(call_str_bytes("utvm.loadable.UploadAppend", "m.llext", "rest", 4)));
  uint64_t mod = 0;
  CHECK(is_call_return(call_str("tvm.rpc.server.load_module", "m.llext"), kTVMModuleHandle,
                       kTVMOpaqueHandle, &mod));
  CHECK(loads == 1);
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t* p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, mod);
  p_str(p, "tvmgen_default_loaded_op");
  p_u64(p, 1);
  uint64_t op = 0;
  CHECK(is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, &op));
  p = req(3);
  p_u64(p, op);
  p_i32(p, 0);
  uint64_t v = 0;
  CHECK(is_call_return(call(p), kTVMArgInt, kTVMArgInt, &v) && v == 7);
}

UTEST(what_cannot_be_stored_or_loaded_gets_an_error_reply) {
  CHECK(start());
  static const uint8_t big[65] = {0};
  CHECK(is_exception(call_str_bytes("tvm.rpc.server.upload", "m.llext", big, sizeof(big)),
                     "needs 65 bytes, the store holds 64"));
  CHECK(is_exception(call_str("tvm.rpc.server.load_module", "m.llext"), "no uploaded file"));
  CHECK(is_exception(call_str_bytes("utvm.loadable.UploadAppend", "m.llext", "x", 1),
                     "was not started"));
  CHECK(is_exception(call_str_bytes("tvm.rpc.server.upload", "", "x", 1), "file name"));
  CHECK(void_return(call_str_bytes("tvm.rpc.server.upload", "m.llext", "MZ..", 4)));
  CHECK(is_exception(call_str("tvm.rpc.server.load_module", "other"), "no uploaded file"));
  CHECK(is_exception(call_str("tvm.rpc.server.load_module", "m.llext"), "not an image"));
  /* An append that overflows drops the whole file: nothing half-written is loadable. */
  CHECK(void_return(call_str_bytes("tvm.rpc.server.upload", "m.llext", "ELF!", 4)));
  CHECK(is_exception(call_str_bytes("utvm.loadable.UploadAppend", "m.llext", big, 61),
                     "store holds 64"));
  CHECK(is_exception(call_str("tvm.rpc.server.load_module", "m.llext"), "no uploaded file"));
  CHECK(loads == 0);
  /* Still serving. */
  CHECK(call_int("utvm.loadable.BytesInUse", 0) == 0);
}

UTEST(loading_again_or_unloading_frees_the_previous_code) {
  CHECK(start());
  int64_t runtime_start = call_int("utvm.loadable.BytesInUse", 1);
  for (int i = 0; i < 3; i++) {
    CHECK(void_return(call_str_bytes("tvm.rpc.server.upload", "m.llext", "ELF!", 4)));
    CHECK(is_call_return(call_str("tvm.rpc.server.load_module", "m.llext"), kTVMModuleHandle,
                         kTVMOpaqueHandle, NULL));
    CHECK(call_int("utvm.loadable.BytesInUse", 0) == 100);
  }
  CHECK(loads == 3 && unloads == 2);
  uint64_t unload = get_global("utvm.loadable.Unload");
  pkt_t* p = req(3);
  p_u64(p, unload);
  p_i32(p, 0);
  CHECK(void_return(call(p)));
  CHECK(unloads == 3);
  CHECK(call_int("utvm.loadable.BytesInUse", 0) == 0);
  CHECK(call_int("utvm.loadable.BytesInUse", 1) == runtime_start);
  CHECK(is_exception(call_str("tvm.rpc.server.load_module", "m.llext"), "no uploaded file"));
}

static const host_msg_t* call_no_args(uint64_t f);

static uint64_t loaded_op_handle(uint64_t mod) {
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t* p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, mod);
  p_str(p, "tvmgen_default_loaded_op");
  p_u64(p, 1);
  uint64_t op = 0;
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, &op) ? op : 0;
}

/* The host keeps a function handle of a model, which is then replaced by the next model in
 * the same module slot: the old handle must be refused, not run the new model's code. */
UTEST(a_function_handle_of_an_unloaded_model_does_not_reach_the_next_one) {
  CHECK(start());
  CHECK(void_return(call_str_bytes("tvm.rpc.server.upload", "m.llext", "ELF!", 4)));
  uint64_t first = 0, second = 0;
  CHECK(is_call_return(call_str("tvm.rpc.server.load_module", "m.llext"), kTVMModuleHandle,
                       kTVMOpaqueHandle, &first));
  uint64_t stale = loaded_op_handle(first);
  CHECK(stale != 0);
  CHECK(is_call_return(call_str("tvm.rpc.server.load_module", "m.llext"), kTVMModuleHandle,
                       kTVMOpaqueHandle, &second));
  CHECK(loads == 2);
  CHECK(is_exception(call_no_args(stale), "is not a live handle"));
  uint64_t fresh = loaded_op_handle(second);
  uint64_t v = 0;
  CHECK(fresh != 0 && fresh != stale);
  CHECK(is_call_return(call_no_args(fresh), kTVMArgInt, kTVMArgInt, &v) && v == 7);
}

/* runtime.RPCTimeEvaluator(mod, name, cpu 0, number 1, repeat 1, ...) as TVM's host sends it. */
static uint64_t time_evaluator(uint64_t mod, const char* name) {
  uint64_t evaluator = get_global("runtime.RPCTimeEvaluator");
  pkt_t* p = req(3);
  p_u64(p, evaluator);
  p_i32(p, 12);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr);
  for (int i = 0; i < 9; i++) p_i32(p, kTVMArgInt);
  p_i32(p, kTVMStr);
  p_u64(p, mod);
  p_str(p, name);
  static const int64_t ints[9] = {1, 0, 1, 1, 0, 100, 0, 1, 0};
  for (int i = 0; i < 9; i++) p_u64(p, (uint64_t)ints[i]);
  p_str(p, "");
  uint64_t handle = 0;
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, &handle) ? handle : 0;
}

static const host_msg_t* call_no_args(uint64_t f) {
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 0);
  return call(p);
}

/* An evaluator on loaded code would call whatever the module slot holds next (another
 * model's function with this one's arguments): loading or unloading frees it. */
UTEST(loading_another_image_frees_the_time_evaluators_on_the_old_one) {
  CHECK(start());
  for (int end = 0; end < 2; end++) {
    CHECK(void_return(call_str_bytes("tvm.rpc.server.upload", "m.llext", "ELF!", 4)));
    uint64_t mod = 0;
    CHECK(is_call_return(call_str("tvm.rpc.server.load_module", "m.llext"), kTVMModuleHandle,
                         kTVMOpaqueHandle, &mod));
    uint64_t evaluator = time_evaluator(mod, "tvmgen_default_loaded_op");
    CHECK(evaluator != 0);
    CHECK(reply_code(call_no_args(evaluator)) == 4); /* kReturn: the measured times */
    if (end == 0) {
      CHECK(is_call_return(call_str("tvm.rpc.server.load_module", "m.llext"), kTVMModuleHandle,
                           kTVMOpaqueHandle, NULL));
    } else {
      CHECK(void_return(call_no_args(get_global("utvm.loadable.Unload"))));
    }
    CHECK(is_exception(call_no_args(evaluator), ""));
  }
}

static uint64_t system_lib(void) {
  uint64_t f = get_global("runtime.SystemLib"); /* before req(): it builds its own packet */
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 0);
  uint64_t mod = 0;
  return is_call_return(call(p), kTVMModuleHandle, kTVMOpaqueHandle, &mod) ? mod : 0;
}

static bool has_loaded_op(uint64_t mod) {
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t* p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, mod);
  p_str(p, "tvmgen_default_loaded_op");
  p_u64(p, 1);
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, NULL);
}

/* A host that starts another session on the running server (every AutoTVM trial does). */
static bool next_session(uint8_t nonce) {
  static const uint8_t version = 1;
  clear_wire();
  send_message(nonce, 0x00, &version, 1);
  if (parse_wire() < 1 || msgs[num_msgs - 1].type != 0x01) return false;
  sid = msgs[num_msgs - 1].id;
  clear_wire();
  return true;
}

UTEST(system_lib_is_the_loaded_module_in_every_later_session) {
  CHECK(start());
  CHECK(void_return(call_str_bytes("tvm.rpc.server.upload", "m.llext", "ELF!", 4)));
  CHECK(is_call_return(call_str("tvm.rpc.server.load_module", "m.llext"), kTVMModuleHandle,
                       kTVMOpaqueHandle, NULL));
  for (uint8_t nonce = 0x33; nonce < 0x36; nonce++) {
    CHECK(next_session(nonce));
    uint64_t lib = system_lib();
    CHECK(lib != 0 && has_loaded_op(lib));
    /* The host frees its handle (TVM does when the trial's module goes): the next session
     * still gets the loaded module. */
    pkt_t* p = req(10); /* FreeHandle(lib, Module) */
    p_i32(p, 2);
    p_i32(p, kTVMOpaqueHandle), p_i32(p, kTVMArgInt);
    p_u64(p, lib);
    p_u64(p, 9);
    CHECK(is_return1(call(p), kTVMNullptr, NULL));
  }
}

UTEST_MAIN()
