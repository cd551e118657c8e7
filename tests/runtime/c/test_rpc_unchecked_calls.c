/* The RPC server built with UTVM_RPC_UNCHECKED_OPERATOR_CALLS=1 (the Kconfig opt-in for
 * AutoTVM; tests/runtime/c/CMakeLists.txt builds this test against such a copy): generated
 * functions without a signature take any tensors the board allocated, but still nothing
 * else; functions with a signature stay checked. */
#include <utvm/signatures.h>

#include "test_rpc_support.h"
#include "utest.h"

_Static_assert(UTVM_RPC_UNCHECKED_OPERATOR_CALLS == 1, "built without the opt-in");

static int calls;

static int op(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  calls++;
  return 0;
}

static int signed_op(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  calls++;
  return 0;
}

static const TVMBackendPackedCFunc kFuncs[] = {op, signed_op};
static const TVMFuncRegistry kRegistry = {"\002\000tvmgen_default_op\000tvmgen_default_signed\000",
                                          kFuncs};
static const TVMModule kSystemLib = {&kRegistry};
const TVMModule* TVMSystemLibEntryPoint(void) { return &kSystemLib; }

static const utvm_arg_signature_t kSignedArgs[] = {{{kDLUInt, 8, 1}, 4}};
static const utvm_op_signature_t kOps[] = {{signed_op, 1, kSignedArgs}};
const utvm_op_signatures_t utvm_op_signatures = {1, kOps};

static uint64_t function(const char* name) {
  uint64_t system_lib = get_global("runtime.SystemLib");
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t* p = req(3);
  p_u64(p, system_lib);
  p_i32(p, 0);
  uint64_t lib = 0, f = 0;
  if (!is_call_return(call(p), kTVMModuleHandle, kTVMOpaqueHandle, &lib)) return 0;
  p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, lib);
  p_str(p, name);
  p_u64(p, 1);
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, &f) ? f : 0;
}

/* CallFunc(f, n uint8 tensors of `len` elements at ptr). */
static const host_msg_t* call_tensors(uint64_t f, int n, uint64_t ptr, int64_t len) {
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, n);
  for (int i = 0; i < n; i++) p_i32(p, kTVMDLTensorHandle);
  for (int i = 0; i < n; i++) p_tensor(p, ptr, 1, &len, 1, 8, 0);
  return call(p);
}

static bool returned(const host_msg_t* m) {
  return m != NULL && packet_length_ok(m) && reply_code(m) == 4;
}

UTEST(functions_without_a_signature_take_any_allocated_tensors) {
  CHECK(start_session());
  uint64_t f = function("tvmgen_default_op");
  CHECK(f != 0);
  uint64_t ptr = dev_alloc(64);
  CHECK(returned(call_tensors(f, 0, ptr, 0)));
  CHECK(returned(call_tensors(f, 3, ptr, 64)));
  CHECK_EQ_INT(calls, 2);
  /* Still only tensors, and only bytes the board allocated. */
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 1);
  p_i32(p, kTVMArgInt);
  p_u64(p, 0);
  CHECK(is_exception(call(p), "arg 0 has type code 0, not 7"));
  CHECK(is_exception(call_tensors(f, 1, ptr, 65), "not in allocated memory"));
  CHECK_EQ_INT(calls, 2);
}

UTEST(functions_with_a_signature_stay_checked) {
  CHECK(start_session());
  uint64_t f = function("tvmgen_default_signed");
  CHECK(f != 0);
  uint64_t ptr = dev_alloc(64);
  CHECK(is_exception(call_tensors(f, 1, ptr, 8), "argument 0 is uint8 of 8 bytes"));
  CHECK(is_exception(call_tensors(f, 2, ptr, 4), "compiled for 1 tensor arguments, 2 given"));
  CHECK(returned(call_tensors(f, 1, ptr, 4)));
  CHECK_EQ_INT(calls, 1);
}

UTEST_MAIN()
