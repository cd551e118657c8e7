/* RPC server and the system library (generated code, which trusts its arguments): only
 * tensors whose bytes the device allocated may reach it, directly or through the time
 * evaluator; and the runtime's own functions keep taking any argument kind. */
#include "test_rpc_support.h"
#include "utest.h"

static int calls;

/* Stands for a generated operator: reads its tensors without looking at type codes. */
static int fused_op(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  calls++;
  const DLTensor* t = args[0].v_handle;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = ((const uint8_t*)t->data)[0]}, kTVMArgInt);
  return 0;
}

static const TVMBackendPackedCFunc kFuncs[] = {fused_op};
static const TVMFuncRegistry kRegistry = {"\001\000tvmgen_default_fused_op\000", kFuncs};
static const TVMModule kSystemLib = {&kRegistry};
const TVMModule* TVMSystemLibEntryPoint(void) { return &kSystemLib; }

/* runtime.SystemLib() and ModuleGetFunction(lib, "tvmgen_default_fused_op") */
static bool lookup(uint64_t* lib, uint64_t* op) {
  calls = 0;
  uint64_t system_lib = get_global("runtime.SystemLib");
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t* p = req(3);
  p_u64(p, system_lib);
  p_i32(p, 0);
  if (!is_call_return(call(p), kTVMModuleHandle, kTVMOpaqueHandle, lib)) return false;
  p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, *lib);
  p_str(p, "tvmgen_default_fused_op");
  p_u64(p, 1);
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, op);
}

UTEST(generated_functions_take_only_checked_tensors) {
  CHECK(start_session());
  uint64_t lib = 0, op = 0;
  CHECK(lookup(&lib, &op));
  uint64_t ptr = dev_alloc(4);
  CHECK(is_return1(copy_to(ptr, 0, "\x2a\x00\x00\x00", 4, 4), kTVMNullptr, NULL));
  int64_t shape = 4;
  pkt_t* p = req(3);
  p_u64(p, op);
  p_i32(p, 1);
  p_i32(p, kTVMDLTensorHandle);
  p_tensor(p, ptr, 1, &shape, 1, 8, 0);
  uint64_t v = 0;
  CHECK(is_call_return(call(p), kTVMArgInt, kTVMArgInt, &v) && v == 42);
  /* An integer, an opaque pointer, a string where a tensor belongs: refused, not called. */
  int32_t codes[3] = {kTVMArgInt, kTVMOpaqueHandle, kTVMStr};
  for (int i = 0; i < 3; i++) {
    p = req(3);
    p_u64(p, op);
    p_i32(p, 1);
    p_i32(p, codes[i]);
    p_u64(p, 0);
    char want[40];
    snprintf(want, sizeof(want), "arg 0 has type code %d, not 7", (int)codes[i]);
    CHECK(is_exception(call(p), want));
  }
  CHECK_EQ_INT(calls, 1);
}

UTEST(time_evaluator_of_generated_code_checks_the_same) {
  CHECK(start_session());
  uint64_t lib = 0, op = 0, f = 0;
  CHECK(lookup(&lib, &op));
  uint64_t create = get_global("runtime.RPCTimeEvaluator");
  pkt_t* p = req(3);
  p_u64(p, create);
  p_i32(p, 12);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr);
  for (int i = 0; i < 9; i++) p_i32(p, kTVMArgInt);
  p_i32(p, kTVMStr);
  p_u64(p, lib);
  p_str(p, "tvmgen_default_fused_op");
  int64_t ints[9] = {1, 0, 2, 2, 0, 100, 0, 1, 0};
  for (int i = 0; i < 9; i++) p_u64(p, (uint64_t)ints[i]);
  p_str(p, "");
  CHECK(is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, &f));
  p = req(3);
  p_u64(p, f);
  p_i32(p, 1);
  p_i32(p, kTVMOpaqueHandle);
  p_u64(p, 0x1000);
  CHECK(is_exception(call(p), "arg 0 has type code 3, not 7"));
  CHECK_EQ_INT(calls, 0);
  uint64_t ptr = dev_alloc(4);
  int64_t shape = 4;
  p = req(3);
  p_u64(p, f);
  p_i32(p, 1);
  p_i32(p, kTVMDLTensorHandle);
  p_tensor(p, ptr, 1, &shape, 1, 8, 0);
  CHECK(is_call_return(call(p), kTVMBytes, kTVMBytes, NULL));
  CHECK_EQ_INT(calls, 1 + 2 * 2); /* a warm-up call, then 2 repeats of 2 */
}

UTEST(freeing_the_system_library_keeps_it) {
  CHECK(start_session());
  uint64_t lib = 0, op = 0;
  CHECK(lookup(&lib, &op));
  pkt_t* p = req(10);
  p_i32(p, 2);
  p_i32(p, kTVMOpaqueHandle), p_i32(p, kTVMArgInt);
  p_u64(p, lib);
  p_u64(p, kTVMModuleHandle);
  CHECK(is_return1(call(p), kTVMNullptr, NULL));
  uint64_t again = 0;
  CHECK(lookup(&again, &op));
  CHECK_EQ_INT(again, lib);
}

UTEST_MAIN()
