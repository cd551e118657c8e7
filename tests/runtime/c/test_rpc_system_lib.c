/* RPC server and the system library (generated code, which trusts its arguments): only
 * tensors whose bytes the device allocated and that match the operator's signature may reach
 * it, directly or through the time evaluator; functions without a signature cannot be called;
 * and the runtime's own functions keep taking any argument kind. */
#include <utvm/signatures.h>

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

/* Another generated function, which no signature describes. */
static int unknown_op(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  calls++;
  return 0;
}

/* Stands for a graph model's operator: out = in + 1 over uint8 [4]. */
static int add_one_op(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  calls++;
  const DLTensor* in = args[0].v_handle;
  const DLTensor* out = args[1].v_handle;
  for (int i = 0; i < 4; i++) ((uint8_t*)out->data)[i] = (uint8_t)(((const uint8_t*)in->data)[i] + 1);
  return 0;
}

static const TVMBackendPackedCFunc kFuncs[] = {fused_op, unknown_op, add_one_op};
static const TVMFuncRegistry kRegistry = {
    "\003\000tvmgen_default_fused_op\000tvmgen_default_unknown_op\000"
    "tvmgen_default_fused_add_one\000",
    kFuncs};
static const TVMModule kSystemLib = {&kRegistry};
const TVMModule* TVMSystemLibEntryPoint(void) { return &kSystemLib; }

/* What utvm_add_model() generates: fused_op takes one uint8 tensor of 4 bytes, add_one_op
 * two. */
static const utvm_arg_signature_t kFusedOpArgs[] = {{{kDLUInt, 8, 1}, 4}};
static const utvm_arg_signature_t kAddOneArgs[] = {{{kDLUInt, 8, 1}, 4}, {{kDLUInt, 8, 1}, 4}};
static const utvm_op_signature_t kOps[] = {{fused_op, 1, kFusedOpArgs},
                                           {add_one_op, 2, kAddOneArgs}};
const utvm_op_signatures_t utvm_op_signatures = {2, kOps};

/* runtime.SystemLib() and ModuleGetFunction(lib, name) */
static bool lookup_named(const char* name, uint64_t* lib, uint64_t* op) {
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
  p_str(p, name);
  p_u64(p, 1);
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, op);
}

static bool lookup(uint64_t* lib, uint64_t* op) {
  return lookup_named("tvmgen_default_fused_op", lib, op);
}

/* CallFunc(op, one uint8 tensor of `n` elements at ptr). */
static const host_msg_t* call_with_tensor(uint64_t op, uint64_t ptr, int64_t n) {
  pkt_t* p = req(3);
  p_u64(p, op);
  p_i32(p, 1);
  p_i32(p, kTVMDLTensorHandle);
  p_tensor(p, ptr, 1, &n, 1, 8, 0);
  return call(p);
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
    char want[64];
    snprintf(want, sizeof(want), "argument 0 has type code %d, the operator takes tensors",
             (int)codes[i]);
    CHECK(is_exception(call(p), want));
  }
  CHECK_EQ_INT(calls, 1);
}

UTEST(generated_functions_take_only_what_they_were_compiled_for) {
  CHECK(start_session());
  uint64_t lib = 0, op = 0;
  CHECK(lookup(&lib, &op));
  uint64_t ptr = dev_alloc(64);
  /* 2 bytes where 4 were compiled for, 8 (inside the allocation), none: all refused. */
  CHECK(is_exception(call_with_tensor(op, ptr, 2),
                     "argument 0 is uint8 of 2 bytes, the operator was compiled for uint8 of 4"));
  CHECK(is_exception(call_with_tensor(op, ptr, 8), "uint8 of 8 bytes"));
  pkt_t* p = req(3);
  p_u64(p, op);
  p_i32(p, 0);
  CHECK(is_exception(call(p), "compiled for 1 tensor arguments, 0 given"));
  /* A negative count (a local caller's) is refused as well, before any argument is read. */
  CHECK_FAILS_WITH(utvm_op_signature_check(&kOps[0], "call", NULL, NULL, -1),
                   "compiled for 1 tensor arguments, -1 given");
  int64_t shape = 1;
  p = req(3);
  p_u64(p, op);
  p_i32(p, 1);
  p_i32(p, kTVMDLTensorHandle);
  p_tensor(p, ptr, 1, &shape, 0, 32, 0); /* int32 of 4 bytes: the wrong dtype */
  CHECK(is_exception(call(p), "argument 0 is int32 of 4 bytes"));
  CHECK_EQ_INT(calls, 0);
  uint64_t v = 1;
  CHECK(is_call_return(call_with_tensor(op, ptr, 4), kTVMArgInt, kTVMArgInt, &v) && v == 0);
  CHECK_EQ_INT(calls, 1);
}

UTEST(generated_functions_without_a_signature_cannot_be_called) {
  CHECK(start_session());
  uint64_t lib = 0, op = 0;
  CHECK(lookup_named("tvmgen_default_unknown_op", &lib, &op));
  uint64_t ptr = dev_alloc(4);
  CHECK(is_exception(call_with_tensor(op, ptr, 4),
                     "no signature is known for this generated function"));
  CHECK_EQ_INT(calls, 0);
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
  CHECK(is_exception(call(p), "argument 0 has type code 3, the operator takes tensors"));
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

/* ModuleGetFunction(module, name) */
static uint64_t module_fn(uint64_t module, const char* name) {
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction"); /* before req(): one buffer */
  pkt_t* p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, module);
  p_str(p, name);
  p_u64(p, 1);
  uint64_t f = 0;
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, &f) ? f : 0;
}

/* tvm.graph_executor.create over the system library, for a graph of one node calling `func`
 * from an input of `in` uint8 to an output of `out`. */
static const host_msg_t* create_graph(uint64_t lib, const char* func, int in, int out) {
  char json[600];
  snprintf(json, sizeof(json),
           "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []}, {\"op\": "
           "\"tvm_op\", \"name\": \"f\", \"inputs\": [[0, 0, 0]], \"attrs\": {\"func_name\": "
           "\"%s\", \"num_inputs\": \"1\", \"num_outputs\": \"1\", \"flatten_data\": \"0\"}}], "
           "\"arg_nodes\": [0], \"heads\": [[1, 0, 0]], \"attrs\": {\"dltype\": [\"list_str\", "
           "[\"uint8\", \"uint8\"]], \"storage_id\": [\"list_int\", [0, 1]], \"shape\": "
           "[\"list_shape\", [[%d], [%d]]]}, \"node_row_ptr\": [0, 1, 2]}",
           func, in, out);
  uint64_t create = get_global("tvm.graph_executor.create");
  pkt_t* p = req(3);
  p_u64(p, create);
  p_i32(p, 4);
  p_i32(p, kTVMStr), p_i32(p, kTVMModuleHandle), p_i32(p, kTVMArgInt), p_i32(p, kTVMArgInt);
  p_str(p, json);
  p_u64(p, lib);
  p_u64(p, 1);
  p_u64(p, 0);
  return call(p);
}

/* CallFunc(f) with no arguments or with one int; true when it returned. */
static bool call_ok(uint64_t f, bool with_int, int64_t v) {
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, with_int ? 1 : 0);
  if (with_int) {
    p_i32(p, kTVMArgInt);
    p_u64(p, (uint64_t)v);
  }
  const host_msg_t* m = call(p);
  return m != NULL && packet_length_ok(m) && reply_code(m) == 4;
}

UTEST(graph_json_must_match_the_operators_signatures) {
  CHECK(start_session());
  uint64_t lib = 0, op = 0;
  CHECK(lookup(&lib, &op));
  size_t heap = utvm_heap_bytes_in_use();
  CHECK(is_exception(create_graph(lib, "tvmgen_default_fused_add_one", 2, 4),
                     "graph node 1: argument 0 is uint8 of 2 bytes, the operator was compiled "
                     "for uint8 of 4 bytes"));
  CHECK(is_exception(create_graph(lib, "tvmgen_default_fused_add_one", 4, 1),
                     "graph node 1: argument 1 is uint8 of 1 bytes"));
  CHECK(is_exception(create_graph(lib, "tvmgen_default_fused_op", 4, 4),
                     "compiled for 1 tensor arguments, 2 given"));
  CHECK(is_exception(create_graph(lib, "tvmgen_default_unknown_op", 4, 4),
                     "graph node 1 calls a generated function whose signature is unknown"));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap); /* nothing left of the refused graphs */
  CHECK_EQ_INT(calls, 0);
  uint64_t exec = 0;
  CHECK(is_call_return(create_graph(lib, "tvmgen_default_fused_add_one", 4, 4), kTVMModuleHandle,
                       kTVMOpaqueHandle, &exec));
  uint64_t run = module_fn(exec, "run");
  CHECK(call_ok(run, false, 0));
  CHECK_EQ_INT(calls, 1);
}

/* A run that fails half-way: an executor with an input and output handed out, host memory,
 * a time evaluator. */
static bool leave_things_behind(uint64_t lib) {
  uint64_t exec = 0;
  if (!is_call_return(create_graph(lib, "tvmgen_default_fused_add_one", 4, 4), kTVMModuleHandle,
                      kTVMOpaqueHandle, &exec)) {
    return false;
  }
  uint64_t get_output = module_fn(exec, "get_output"), get_input = module_fn(exec, "get_input");
  if (!call_ok(get_output, true, 0) || !call_ok(get_input, true, 0) || dev_alloc(3000) == 0) {
    return false;
  }
  uint64_t evaluator = get_global("runtime.RPCTimeEvaluator");
  pkt_t* p = req(3);
  p_u64(p, evaluator);
  p_i32(p, 12);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr);
  for (int i = 0; i < 9; i++) p_i32(p, kTVMArgInt);
  p_i32(p, kTVMStr);
  p_u64(p, exec);
  p_str(p, "run");
  int64_t ints[9] = {1, 0, 1, 1, 0, 100, 0, 1, 0};
  for (int i = 0; i < 9; i++) p_u64(p, (uint64_t)ints[i]);
  p_str(p, "");
  return is_call_return(call(p), kTVMPackedFuncHandle, kTVMOpaqueHandle, NULL);
}

UTEST(every_end_of_a_session_frees_what_the_host_made) {
  static const uint8_t version = 1;
  for (int end = 0; end < 3; end++) {
    CHECK(start_session());
    uint64_t lib = 0, op = 0;
    CHECK(lookup(&lib, &op));
    size_t heap = utvm_heap_bytes_in_use();
    CHECK(leave_things_behind(lib));
    CHECK(utvm_heap_bytes_in_use() > heap);
    if (end == 0) {
      send_message(0x0033, 0x00, &version, 1); /* a new session */
    } else if (end == 1) {
      send_message(sid, 0x02, NULL, 0); /* TerminateSession */
    } else {
      pkt_t* p = req(1); /* kShutdown */
      req_end(p);
      send_message(sid, 0x10, p->b, p->n);
    }
    CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap);
  }
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
