/* RPC server, minRPC requests that succeed: the wire doc's worked examples, every return
 * kind, copies, device memory, the server's global functions, time evaluator, shutdown. */
#include <math.h>
#include <tvm/runtime/crt/platform.h>

#include "test_rpc_support.h"
#include "utest.h"

/* ---- a module of test functions, reached like a system library ---- */

static int add_one(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  static const uint8_t expected[] = {1, kTVMArgInt};
  int rc = utvm_check_args("add_one", codes, n, expected);
  if (rc != 0) return rc;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = args[0].v_int64 + 1}, kTVMArgInt);
  return 0;
}

static int echo(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  if (n != 1) return kTvmErrorFunctionCallNumArguments;
  utvm_set_return(ret, ret_code, args[0], codes[0]);
  return 0;
}

static int nothing(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  return 0;
}

static int make_bytes(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  static const DLDevice cpu = {kDLCPU, 0};
  TVMByteArray* arr;
  void* data;
  if (TVMPlatformMemoryAllocate(sizeof(*arr), cpu, (void**)&arr) != 0) return -1;
  if (TVMPlatformMemoryAllocate(3, cpu, &data) != 0) return -1;
  memcpy(data, "\x01\x02\x03", 3);
  arr->data = data;
  arr->size = 3;
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = arr}, kTVMBytes);
  return 0;
}

static TVMNDArray* the_array;
static int get_array(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  utvm_ndarray_retain(the_array);
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = the_array}, kTVMNDArrayHandle);
  return 0;
}

/* Sums a uint8 tensor: shows the tensor argument reaches the function intact. */
static int sum_u8(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  const DLTensor* t = args[0].v_handle;
  const uint8_t* p = (const uint8_t*)t->data + t->byte_offset;
  int64_t sum = 0;
  for (int64_t i = 0; i < t->shape[0]; i++) sum += p[i];
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = sum}, kTVMArgInt);
  return 0;
}

static int fail_silently(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  return kTvmErrorFunctionCallInvalidArg;
}

static int fail_loudly(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  return utvm_fail(kTvmErrorFunctionCallInvalidArg, "fail_loudly: as requested");
}

/* A 200-character message, longer than a reply over a small receive buffer can carry (as
 * text in every build: a message by reference is shorter). */
static int fail_at_length(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  TVMAPIErrorf("%0200d", 7);
  return kTvmErrorFunctionCallInvalidArg;
}

static int log_and_return(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  TVMLogf("working on it");
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = 7}, kTVMArgInt);
  return 0;
}

/* Length of a bytes argument: shows kTVMBytes arrives as a TVMByteArray. */
static int bytes_len(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  if (n != 1 || codes[0] != kTVMBytes) return kTvmErrorFunctionCallWrongArgType;
  const TVMByteArray* b = args[0].v_handle;
  int64_t sum = 0;
  for (size_t i = 0; i < b->size; i++) sum += (uint8_t)b->data[i];
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = (int64_t)b->size * 1000 + sum}, kTVMArgInt);
  return 0;
}

/* Tries to feed the server from inside a request; returns what feed said. */
static int reenter(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  static const uint8_t byte = 0;
  const uint8_t* p = &byte;
  size_t len = 1;
  int rc = utvm_rpc_server_feed(srv, &p, &len);
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = rc * 10 + (int)len}, kTVMArgInt);
  return 0;
}

/* Restarts the server from inside a request with arguments init refuses. */
static int restart_badly(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code,
                         void* res) {
  return utvm_rpc_server_init(NULL, 0, NULL, NULL) == NULL ? 0 : kTvmErrorPlatformCheckFailure;
}

static const TVMBackendPackedCFunc kFuncs[] = {add_one,       echo,        nothing,
                                               make_bytes,    get_array,   sum_u8,
                                               fail_silently, fail_loudly, log_and_return,
                                               bytes_len,     reenter,     fail_at_length,
                                               restart_badly};
static const TVMFuncRegistry kRegistry = {
    "\015\000add_one\000echo\000nothing\000make_bytes\000get_array\000sum_u8\000"
    "fail_silently\000fail_loudly\000log_and_return\000bytes_len\000reenter\000"
    "fail_at_length\000restart_badly\000",
    kFuncs};
static const TVMModule kModule = {&kRegistry};
static uint64_t module_handle;

/* Starts a session over rx_size bytes with the test module registered; false on failure. */
static bool setup_sized(size_t rx_size) {
  TVMModuleHandle mod;
  if (TVMModCreateFromCModule(&kModule, &mod) != 0) return false;
  module_handle = (uint64_t)(uintptr_t)mod;
  static const int64_t shape[2] = {1, 4};
  if (utvm_ndarray_empty(2, shape, (DLDataType){kDLFloat, 32, 1}, (DLDevice){kDLCPU, 0},
                         &the_array) != 0) {
    return false;
  }
  return start_session_sized(rx_size);
}

static bool setup(void) { return setup_sized(sizeof(rx_buf)); }

/* tvm.rpc.server.ModuleGetFunction(module, name, true) -> function handle (0: None). */
static uint64_t module_function(const char* name) {
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t* p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, module_handle);
  p_str(p, name);
  p_u64(p, 1);
  const host_msg_t* m = call(p);
  uint64_t h = 0;
  if (is_call_return(m, kTVMPackedFuncHandle, kTVMOpaqueHandle, &h)) return h;
  return is_call_return(m, kTVMNullptr, kTVMNullptr, NULL) ? 0 : UINT64_MAX;
}

/* CallFunc(f, [one int]) */
static const host_msg_t* call_int(uint64_t f, int code, int64_t v) {
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 1);
  p_i32(p, code);
  p_u64(p, (uint64_t)v);
  return call(p);
}

UTEST(doc_example_call_add_one_is_byte_exact) {
  CHECK(setup());
  uint64_t f = module_function("add_one");
  CHECK(f != 0 && f != UINT64_MAX);
  /* Wire doc 5.6: the reply to CallFunc(f, [int 41]). */
  static const uint8_t expected[] = {0x20, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0x02, 0, 0, 0,
                                     0x00, 0, 0, 0, 0x00, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0, 0,
                                     0x2a, 0, 0, 0, 0, 0, 0, 0};
  const host_msg_t* m = call_int(f, kTVMArgInt, 41);
  CHECK(m != NULL);
  CHECK_EQ_INT(m->body_len, sizeof(expected));
  CHECK(memcmp(m->body, expected, sizeof(expected)) == 0);
}

UTEST(missing_module_function_is_none) {
  CHECK(setup());
  CHECK_EQ_INT(module_function("no_such_function"), 0);
}

UTEST(unknown_global_is_handle_zero) {
  CHECK(setup());
  CHECK_EQ_INT(get_global("no.such.func"), 0);
  CHECK(get_global("runtime.RPCTimeEvaluator") != 0);
  CHECK(get_global("tvm.contrib.random.random_fill") != 0);
  CHECK(get_global("tvm.aot_executor.create") != 0);
  CHECK(get_global("tvm.graph_executor.create") != 0);
}

UTEST(call_returns_every_kind_in_tvm_shape) {
  CHECK(setup());
  uint64_t echo_fn = module_function("echo"), v = 0;
  /* float 1.5 (wire doc 5.8) */
  pkt_t* p = req(3);
  p_u64(p, echo_fn);
  p_i32(p, 1);
  p_i32(p, kTVMArgFloat);
  p_u64(p, 0x3FF8000000000000ull);
  CHECK(is_call_return(call(p), kTVMArgFloat, kTVMArgFloat, &v));
  CHECK_EQ_INT(v, 0x3FF8000000000000ull);
  /* string "input_1" (wire doc 5.8) */
  p = req(3);
  p_u64(p, echo_fn);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "input_1");
  const host_msg_t* m = call(p);
  CHECK(is_call_return(m, kTVMStr, kTVMStr, &v));
  CHECK_EQ_INT(v, 7);
  CHECK(m->body_len == 47 && memcmp(m->body + 40, "input_1", 7) == 0);
  /* bool, uint, device, data type */
  CHECK(is_call_return(call_int(echo_fn, kTVMArgBool, 1), kTVMArgBool, kTVMArgBool, &v) && v == 1);
  CHECK(is_call_return(call_int(echo_fn, kDLUInt, 9), kDLUInt, kDLUInt, &v) && v == 9);
  CHECK(is_call_return(call_int(echo_fn, kDLDevice, 1), kDLDevice, kDLDevice, &v) && v == 1);
  CHECK(is_call_return(call_int(echo_fn, kTVMDataType, 0x00012002), kTVMDataType, kTVMDataType, &v));
  CHECK_EQ_INT(v, 0x00012002);
  /* a module handle travels as an opaque handle with the module's type code first */
  p = req(3);
  p_u64(p, echo_fn);
  p_i32(p, 1);
  p_i32(p, kTVMModuleHandle);
  p_u64(p, module_handle);
  CHECK(is_call_return(call(p), kTVMModuleHandle, kTVMOpaqueHandle, &v));
  CHECK_EQ_INT(v, module_handle);
  /* opaque handles and None come back as they went */
  CHECK(is_call_return(call_int(echo_fn, kTVMOpaqueHandle, 0x1234), kTVMOpaqueHandle,
                       kTVMOpaqueHandle, &v) && v == 0x1234);
  CHECK(is_call_return(call_int(echo_fn, kTVMArgInt, -5), kTVMArgInt, kTVMArgInt, &v));
  CHECK_EQ_INT((int64_t)v, -5);
  p = req(3);
  p_u64(p, echo_fn);
  p_i32(p, 1);
  p_i32(p, kTVMNullptr);
  CHECK(is_call_return(call(p), kTVMNullptr, kTVMNullptr, NULL));
  /* a bytes argument */
  uint64_t bytes_fn = module_function("bytes_len");
  p = req(3);
  p_u64(p, bytes_fn);
  p_i32(p, 1);
  p_i32(p, kTVMBytes);
  p_u64(p, 3);
  p_raw(p, "\x01\x02\xff", 3);
  CHECK(is_call_return(call(p), kTVMArgInt, kTVMArgInt, &v));
  CHECK_EQ_INT(v, 3000 + 1 + 2 + 255);
  /* nothing (wire doc 5.8): 18 00.. | 04 | 02 | 00 04 | 04 */
  m = call_int(module_function("nothing"), kTVMArgInt, 0);
  CHECK(is_call_return(m, kTVMNullptr, kTVMNullptr, NULL));
  CHECK_EQ_INT(m->body_len, 32);
  /* bytes, freed by the server after sending */
  size_t heap_before = utvm_heap_bytes_in_use();
  m = call_int(module_function("make_bytes"), kTVMArgInt, 0);
  CHECK(is_call_return(m, kTVMBytes, kTVMBytes, &v) && v == 3);
  CHECK(m->body_len == 43 && memcmp(m->body + 40, "\x01\x02\x03", 3) == 0);
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(ndarray_return_has_three_values) {
  CHECK(setup());
  const host_msg_t* m = call_int(module_function("get_array"), kTVMArgInt, 0);
  CHECK(m != NULL && packet_length_ok(m) && reply_code(m) == 4);
  /* wire doc 5.8: count 3, tcodes [0, 7, 3], int 13, record (float32 [1,4]), handle */
  CHECK_EQ_INT(m->body_len, 8 + 0x54);
  CHECK_EQ_INT(rd(m->body + 12, 4), 3);
  CHECK(rd(m->body + 16, 4) == 0 && rd(m->body + 20, 4) == 7 && rd(m->body + 24, 4) == 3);
  CHECK_EQ_INT(rd(m->body + 28, 8), 13);
  CHECK_EQ_INT(rd(m->body + 36, 8), (uint64_t)(uintptr_t)the_array->dl_tensor.data);
  static const uint8_t rest[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 32, 1, 0,
                                 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(memcmp(m->body + 44, rest, sizeof(rest)) == 0);
  uint64_t handle = rd(m->body + 84, 8);
  CHECK_EQ_INT(handle, (uint64_t)(uintptr_t)the_array);
  CHECK_EQ_INT(the_array->reference_count, 2);
  /* FreeHandle(h, 13) gives the reference back */
  pkt_t* p = req(10);
  p_i32(p, 2);
  p_i32(p, kTVMOpaqueHandle), p_i32(p, kTVMArgInt);
  p_u64(p, handle);
  p_u64(p, 13);
  CHECK(is_return1(call(p), kTVMNullptr, NULL));
  CHECK_EQ_INT(the_array->reference_count, 1);
}

/* The record's device goes out as two i32s whatever the struct's padding holds: with
 * one-byte enums (-fshort-enums, as on Cortex-M) three padding bytes follow device_type. */
UTEST(ndarray_return_device_ignores_struct_padding) {
  CHECK(setup());
  DLDevice* dev = &the_array->dl_tensor.device;
  memset(dev, 0xAB, sizeof(*dev));
  dev->device_type = kDLCPU;
  dev->device_id = 0;
  const host_msg_t* m = call_int(module_function("get_array"), kTVMArgInt, 0);
  CHECK(m != NULL && reply_code(m) == 4);
  static const uint8_t cpu0[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  CHECK(memcmp(m->body + 44, cpu0, sizeof(cpu0)) == 0);
}

UTEST(failures_become_exceptions_with_a_message) {
  CHECK(setup());
  CHECK(is_exception(call_int(module_function("fail_loudly"), kTVMArgInt, 0), "fail_loudly: as requested"));
  /* A callee that sets no message is still reported, never with a stale text. */
  TVMAPISetLastError("stale");
  CHECK(is_exception(call_int(module_function("fail_silently"), kTVMArgInt, 0), "error 0x803"));
  CHECK(is_exception(call_int(module_function("add_one"), kTVMStr, 0), "type code 11"));
}

UTEST(long_messages_are_cut_to_one_reply) {
  CHECK(setup_sized(UTVM_RPC_MIN_PACKET_SIZE));
  const host_msg_t* m = call_int(module_function("fail_at_length"), kTVMArgInt, 0);
  /* 128-byte messages: the session header, packet length and kException's own 20 bytes
   * leave 97 for the text, which is its start. */
  char start[98];
  memset(start, '0', 97);
  start[97] = '\0';
  CHECK(is_exception(m, start));
  CHECK_EQ_INT(m->body_len, UTVM_RPC_MIN_PACKET_SIZE - 3);
  CHECK(get_global("runtime.SystemLib") != UINT64_MAX); /* still serving */
}

UTEST(logs_may_precede_the_reply) {
  CHECK(setup());
  uint64_t f = module_function("log_and_return");
  pkt_t* p = req(3);
  p_u64(p, f);
  p_i32(p, 0);
  const host_msg_t* m = call(p);
  CHECK(is_call_return(m, kTVMArgInt, kTVMArgInt, NULL));
  CHECK_EQ_INT(num_msgs, 2);
  CHECK(msgs[0].type == 0x03 && msgs[0].body_len == 13);
}

UTEST(doc_example_alloc_copy_free_roundtrip) {
  CHECK(setup());
  size_t heap_before = utvm_heap_bytes_in_use();
  /* Wire doc 5.9 */
  uint64_t ptr = dev_alloc(16);
  CHECK(ptr != 0);
  static const uint8_t data[16] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40};
  int64_t shape = 4;
  pkt_t* p = req(7);
  p_tensor(p, ptr, 1, &shape, 2, 32, 0);
  p_u64(p, 16);
  p_raw(p, data, 16);
  CHECK(is_return1(call(p), kTVMNullptr, NULL));
  CHECK_EQ_INT(p->n - 8, 0x44);
  p = req(6);
  p_tensor(p, ptr, 1, &shape, 2, 32, 0);
  p_u64(p, 16);
  const host_msg_t* m = call(p);
  CHECK(m != NULL && m->body_len == 28 && rd(m->body, 8) == 0x14 && reply_code(m) == 8);
  CHECK(memcmp(m->body + 12, data, 16) == 0);
  /* chunks at byte offsets */
  CHECK(is_return1(copy_to(ptr, 12, "\x11\x22\x33\x44", 4, 16), kTVMNullptr, NULL));
  m = copy_from(ptr, 10, 6, 16);
  CHECK(m != NULL && m->body_len == 18 && memcmp(m->body + 12, "\x40\x40\x11\x22\x33\x44", 6) == 0);
  p = req(14);
  p_i32(p, 2);
  p_i32(p, kDLDevice), p_i32(p, kTVMOpaqueHandle);
  p_i32(p, 1), p_i32(p, 0);
  p_u64(p, ptr);
  CHECK(is_return1(call(p), kTVMNullptr, NULL));
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(alloc_with_scope_copy_among_and_stream_syscalls) {
  CHECK(setup());
  int64_t shape[2] = {2, 8};
  uint64_t a = 0, b = 0;
  pkt_t* p = req(17);
  p_i32(p, 2);
  p_i32(p, kTVMDLTensorHandle), p_i32(p, kTVMNullptr);
  p_tensor(p, 0, 2, shape, 1, 8, 0);
  CHECK(is_return1(call(p), kTVMOpaqueHandle, &a) && a != 0);
  p = req(17);
  p_i32(p, 2);
  p_i32(p, kTVMDLTensorHandle), p_i32(p, kTVMStr);
  p_tensor(p, 0, 2, shape, 1, 8, 0);
  p_str(p, "global");
  CHECK(is_return1(call(p), kTVMOpaqueHandle, &b) && b != 0 && b != a);
  CHECK(is_return1(copy_to(a, 0, "0123456789abcdef", 16, 16), kTVMNullptr, NULL));
  p = req(16);
  p_i32(p, 3);
  p_i32(p, kTVMDLTensorHandle), p_i32(p, kTVMDLTensorHandle), p_i32(p, kTVMOpaqueHandle);
  p_tensor(p, a, 2, shape, 1, 8, 0);
  p_tensor(p, b, 2, shape, 1, 8, 0);
  p_u64(p, 0);
  CHECK(is_return1(call(p), kTVMNullptr, NULL));
  const host_msg_t* m = copy_from(b, 0, 16, 16);
  CHECK(m != NULL && memcmp(m->body + 12, "0123456789abcdef", 16) == 0);
  /* CopyAmongRemote's tensors are real ones (unlike a template): a source nobody allocated
   * is refused. */
  p = req(16);
  p_i32(p, 3);
  p_i32(p, kTVMDLTensorHandle), p_i32(p, kTVMDLTensorHandle), p_i32(p, kTVMOpaqueHandle);
  p_tensor(p, 0x1000, 2, shape, 1, 8, 0);
  p_tensor(p, b, 2, shape, 1, 8, 0);
  p_u64(p, 0);
  CHECK(is_exception(call(p), "16 bytes at 0x1000 not in allocated memory"));
  /* DevStreamSync [6 {1,0}, 3 0] as TVM's host sends it; create/free/set stream */
  int32_t codes[] = {15, 19, 20};
  for (int i = 0; i < 3; i++) {
    p = req(codes[i]);
    p_i32(p, 2);
    p_i32(p, kDLDevice), p_i32(p, kTVMOpaqueHandle);
    p_i32(p, 1), p_i32(p, 0);
    p_u64(p, 0);
    CHECK(is_return1(call(p), kTVMNullptr, NULL));
  }
  p = req(18);
  p_i32(p, 1);
  p_i32(p, kDLDevice);
  p_i32(p, 1), p_i32(p, 0);
  CHECK(is_return1(call(p), kTVMOpaqueHandle, NULL));
}

UTEST(tensor_arguments_reach_functions) {
  CHECK(setup());
  uint64_t ptr = dev_alloc(8);
  CHECK(is_return1(copy_to(ptr, 0, "\x01\x02\x03\x04\x05\x06\x07\x08", 8, 8), kTVMNullptr, NULL));
  uint64_t sum_fn = module_function("sum_u8");
  pkt_t* p = req(3);
  p_u64(p, sum_fn);
  p_i32(p, 1);
  p_i32(p, kTVMDLTensorHandle);
  int64_t shape = 4;
  p_tensor(p, ptr, 1, &shape, 1, 8, 4);
  uint64_t sum = 0;
  CHECK(is_call_return(call(p), kTVMArgInt, kTVMArgInt, &sum));
  CHECK_EQ_INT(sum, 5 + 6 + 7 + 8);
}

UTEST(max_packet_size_is_negotiable) {
  CHECK(setup());
  uint64_t crt_max = get_global("tvm.rpc.server.GetCRTMaxPacketSize");
  uint64_t real_max = get_global("utvm.rpc.GetMaxPacketSize");
  pkt_t* p = req(3);
  p_u64(p, crt_max);
  p_i32(p, 0);
  uint64_t v = 0;
  CHECK(is_call_return(call(p), kTVMArgInt, kTVMArgInt, &v));
  CHECK_EQ_INT(v, sizeof(rx_buf) - 11);
  CHECK_EQ_INT(utvm_rpc_server_max_rpc_packet(srv), sizeof(rx_buf) - 11);
  p = req(3);
  p_u64(p, real_max);
  p_i32(p, 0);
  CHECK(is_call_return(call(p), kTVMArgInt, kTVMArgInt, &v));
  CHECK_EQ_INT(v, sizeof(rx_buf) - 11);
  /* A smaller receive buffer is what both report then (TVM's Zephyr value: 501). */
  CHECK(start_session_sized(512));
  crt_max = get_global("tvm.rpc.server.GetCRTMaxPacketSize");
  p = req(3);
  p_u64(p, crt_max);
  p_i32(p, 0);
  CHECK(is_call_return(call(p), kTVMArgInt, kTVMArgInt, &v));
  CHECK_EQ_INT(v, 501);
}

UTEST(largest_chunks_fit_both_ways) {
  CHECK(setup());
  /* TVM's host chunk for ndim 1: max - (44 + 8) bytes per request. */
  uint64_t block = utvm_rpc_server_max_rpc_packet(srv) - 52;
  uint64_t ptr = dev_alloc(block);
  static uint8_t data[4096];
  for (size_t i = 0; i < sizeof(data); i++) data[i] = (uint8_t)(i * 13);
  CHECK(is_return1(copy_to(ptr, 0, data, block, (int64_t)block), kTVMNullptr, NULL));
  const host_msg_t* m = copy_from(ptr, 0, block, (int64_t)block);
  CHECK(m != NULL && m->body_len == 12 + block && memcmp(m->body + 12, data, (size_t)block) == 0);
  CHECK(3 + m->body_len <= sizeof(rx_buf));
}

UTEST(random_fill_fills_the_tensor) {
  CHECK(setup());
  uint64_t ptr = dev_alloc(64);
  uint64_t fill = get_global("tvm.contrib.random.random_fill");
  pkt_t* p = req(3);
  p_u64(p, fill);
  p_i32(p, 1);
  p_i32(p, kTVMDLTensorHandle);
  int64_t shape = 64;
  p_tensor(p, ptr, 1, &shape, 1, 8, 0);
  CHECK(is_call_return(call(p), kTVMNullptr, kTVMNullptr, NULL));
  const uint8_t* bytes = (const uint8_t*)(uintptr_t)ptr;
  int nonzero = 0;
  for (int i = 0; i < 64; i++) nonzero += bytes[i] != 0;
  CHECK(nonzero > 0);
}

/* runtime.RPCTimeEvaluator(mod, name, 1, 0, number, repeat, min_ms, 100, cooldown_ms, 1, 0,
 *                          preproc) */
static const host_msg_t* create_evaluator_with(uint64_t mod, const char* name, int64_t number,
                                               int64_t repeat, int64_t min_ms, int64_t cooldown_ms,
                                               const char* preproc) {
  uint64_t create = get_global("runtime.RPCTimeEvaluator");
  pkt_t* p = req(3);
  p_u64(p, create);
  p_i32(p, 12);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr);
  for (int i = 0; i < 9; i++) p_i32(p, kTVMArgInt);
  p_i32(p, kTVMStr);
  p_u64(p, mod);
  p_str(p, name);
  int64_t ints[9] = {1, 0, number, repeat, min_ms, 100, cooldown_ms, 1, 0};
  for (int i = 0; i < 9; i++) p_u64(p, (uint64_t)ints[i]);
  p_str(p, preproc);
  return call(p);
}

static const host_msg_t* create_evaluator(uint64_t mod, const char* name, int64_t number,
                                          int64_t repeat, const char* preproc) {
  return create_evaluator_with(mod, name, number, repeat, 1, 0, preproc);
}

UTEST(time_evaluator_returns_repeat_doubles) {
  CHECK(setup());
  uint64_t f = 0;
  CHECK(is_call_return(create_evaluator(module_handle, "add_one", 3, 4, ""), kTVMPackedFuncHandle,
                       kTVMOpaqueHandle, &f));
  const host_msg_t* m = call_int(f, kTVMArgInt, 1);
  uint64_t len = 0;
  CHECK(is_call_return(m, kTVMBytes, kTVMBytes, &len));
  CHECK_EQ_INT(len, 4 * sizeof(double));
  for (int i = 0; i < 4; i++) {
    double d;
    memcpy(&d, m->body + 40 + 8 * i, sizeof(d));
    CHECK(d >= 0 && d < 1.0);
  }
  /* The timed function's errors come back as exceptions. */
  CHECK(is_exception(call_int(f, kTVMStr, 0), "add_one"));
}

UTEST(time_evaluator_grows_batches_and_cools_down) {
  CHECK(setup());
  uint64_t f = 0;
  /* 3 ms per measurement from batches of 1 call: the evaluator grows the batch; 1 ms
   * cooldown after each measurement. */
  CHECK(is_call_return(create_evaluator_with(module_handle, "add_one", 1, 3, 3, 1, ""),
                       kTVMPackedFuncHandle, kTVMOpaqueHandle, &f));
  const host_msg_t* m = call_int(f, kTVMArgInt, 1);
  uint64_t len = 0;
  CHECK(is_call_return(m, kTVMBytes, kTVMBytes, &len) && len == 3 * sizeof(double));
  for (int i = 0; i < 3; i++) {
    double d;
    memcpy(&d, m->body + 40 + 8 * i, sizeof(d));
    CHECK(d >= 0 && d < 1.0);
  }
  CHECK(is_exception(create_evaluator_with(module_handle, "add_one", 1, 1, 3600000, 0, ""),
                     "min_repeat_ms"));
  CHECK(is_exception(create_evaluator_with(module_handle, "add_one", 1, 1, 0, 3600000, ""),
                     "cooldown_interval_ms"));
}

/* The platform timer, behind a switch that replaces its readings: this executable is linked
 * with --wrap=TVMPlatformTimerStop (CMakeLists.txt), so the time evaluator reads this one. */
tvm_crt_error_t __real_TVMPlatformTimerStop(double* elapsed_time_seconds);
static const double* timer_reading; /* NULL: the real timer's */
tvm_crt_error_t __wrap_TVMPlatformTimerStop(double* elapsed_time_seconds) {
  tvm_crt_error_t rc = __real_TVMPlatformTimerStop(elapsed_time_seconds);
  if (rc == kTvmErrorNoError && timer_reading != NULL) *elapsed_time_seconds = *timer_reading;
  return rc;
}

UTEST(time_evaluator_fails_when_the_timer_cannot_measure) {
  CHECK(setup());
  uint64_t f = 0;
  CHECK(is_call_return(create_evaluator(module_handle, "add_one", 2, 3, ""),
                       kTVMPackedFuncHandle, kTVMOpaqueHandle, &f));
  /* A clock that stands still while code runs (the kernel clock of a simulated board):
   * an error after limit_zero_time_iterations (100) readings, not a time of 0. */
  static const double zero = 0;
  timer_reading = &zero;
  const host_msg_t* m = call_int(f, kTVMArgInt, 1);
  timer_reading = NULL;
  CHECK(is_exception(m, "timer did not advance over 2 calls (readings: 100): it cannot "
                        "measure them"));
  /* The same evaluator measures once the timer moves again. */
  CHECK(is_call_return(call_int(f, kTVMArgInt, 1), kTVMBytes, kTVMBytes, NULL));
  /* Negative and NaN readings are no time either. */
  static const double no_time[2] = {-1.0, NAN};
  for (int i = 0; i < 2; i++) {
    timer_reading = &no_time[i];
    m = call_int(f, kTVMArgInt, 1);
    timer_reading = NULL;
    CHECK(is_exception(m, "timer did not advance"));
  }
}

UTEST(time_evaluator_caps_endless_readings) {
  CHECK(setup());
  uint64_t f = 0;
  CHECK(is_call_return(create_evaluator(module_handle, "add_one", 2, 1, ""),
                       kTVMPackedFuncHandle, kTVMOpaqueHandle, &f));
  /* An infinite or absurd reading counts as 4e9 s: per call of a batch of 2, 2e9 s. */
  static const double endless[3] = {INFINITY, 1e300, 4e9};
  for (int i = 0; i < 3; i++) {
    timer_reading = &endless[i];
    const host_msg_t* m = call_int(f, kTVMArgInt, 1);
    timer_reading = NULL;
    CHECK(is_call_return(m, kTVMBytes, kTVMBytes, NULL));
    double d;
    memcpy(&d, m->body + 40, sizeof(d));
    CHECK(d == 2e9);
  }
}

UTEST(time_evaluator_checks_its_arguments) {
  CHECK(setup());
  CHECK(is_exception(create_evaluator(module_handle, "missing", 1, 1, ""), "no function missing"));
  CHECK(is_exception(create_evaluator(module_handle, "add_one", 0, 1, ""), "number"));
  CHECK(is_exception(create_evaluator(module_handle, "add_one", 1, 0, ""), "repeat"));
  CHECK(is_exception(create_evaluator(module_handle, "add_one", 1, 100000, ""), "repeat"));
  CHECK(is_exception(create_evaluator(module_handle, "add_one", 1, 1, "cache_flush"), "f_preproc"));
  CHECK(is_exception(create_evaluator(0x8003, "add_one", 1, 1, ""), "0x8003 is not a live handle"));
}

UTEST(time_evaluators_replace_the_oldest) {
  CHECK(setup());
  uint64_t first = 0, h = 0;
  CHECK(is_call_return(create_evaluator(module_handle, "add_one", 1, 1, ""), kTVMPackedFuncHandle,
                       kTVMOpaqueHandle, &first));
  for (int i = 0; i < UTVM_RPC_MAX_TIME_EVALUATORS; i++) {
    CHECK(is_call_return(create_evaluator(module_handle, "add_one", 1, 1, ""),
                         kTVMPackedFuncHandle, kTVMOpaqueHandle, &h));
  }
  CHECK(is_call_return(call_int(h, kTVMArgInt, 1), kTVMBytes, kTVMBytes, NULL));
  /* The first one's slot was reused: its handle now names the newest, or nothing. */
  const host_msg_t* m = call_int(first, kTVMArgInt, 1);
  CHECK(is_exception(m, "not a live handle") || is_call_return(m, kTVMBytes, kTVMBytes, NULL));
  /* FreeHandle(h, 10) frees the closure. */
  pkt_t* p = req(10);
  p_i32(p, 2);
  p_i32(p, kTVMOpaqueHandle), p_i32(p, kTVMArgInt);
  p_u64(p, h);
  p_u64(p, 10);
  CHECK(is_return1(call(p), kTVMNullptr, NULL));
  CHECK(is_exception(call_int(h, kTVMArgInt, 1), "not a live handle"));
}

UTEST(new_session_frees_what_the_last_host_left) {
  CHECK(setup());
  size_t heap_before = utvm_heap_bytes_in_use();
  CHECK(dev_alloc(1000) != 0);
  CHECK(dev_alloc(3000) != 0);
  CHECK(utvm_heap_bytes_in_use() > heap_before);
  static const uint8_t version = 1;
  send_message(0, 0x02, NULL, 0);
  send_message(0x0055, 0x00, &version, 1);
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST(init_server_and_free_handles) {
  CHECK(setup());
  pkt_t* p = req(2);
  p_str(p, "0.8.0");
  p_i32(p, 0);
  CHECK(is_return1(call(p), kTVMNullptr, NULL));
  /* FreeHandle of a global function and of an object is a no-op, as in TVM */
  uint64_t g = get_global("runtime.SystemLib");
  int64_t kinds[2] = {10, 8};
  for (int i = 0; i < 2; i++) {
    p = req(10);
    p_i32(p, 2);
    p_i32(p, kTVMOpaqueHandle), p_i32(p, kTVMArgInt);
    p_u64(p, g);
    p_u64(p, (uint64_t)kinds[i]);
    CHECK(is_return1(call(p), kTVMNullptr, NULL));
  }
  CHECK(get_global("runtime.SystemLib") == g);
}

UTEST(feeding_from_inside_a_request_is_refused) {
  CHECK(setup());
  uint64_t v = 0;
  CHECK(is_call_return(call_int(module_function("reenter"), kTVMArgInt, 0), kTVMArgInt,
                       kTVMArgInt, &v));
  CHECK_EQ_INT(v, kTvmErrorSessionInvalidState * 10 + 1); /* refused, nothing consumed */
  CHECK(get_global("runtime.SystemLib") != UINT64_MAX);
}

UTEST(a_failed_restart_inside_a_request_leaves_the_server_off) {
  CHECK(setup());
  call_int(module_function("restart_badly"), kTVMArgInt, 0); /* its reply still goes out */
  /* As after any failed init: feed refuses until an init succeeds, the request's end does
   * not bring the old server back. */
  static const uint8_t byte = 0;
  const uint8_t* p = &byte;
  size_t len = 1;
  CHECK_EQ_INT(utvm_rpc_server_feed(srv, &p, &len), kTvmErrorSessionInvalidState);
  CHECK_EQ_INT(len, 1);
}

UTEST(shutdown_stops_without_reply) {
  CHECK(setup());
  pkt_t* p = req(1);
  req_end(p);
  clear_wire();
  uint8_t payload[64], framed[256];
  payload[0] = (uint8_t)sid, payload[1] = (uint8_t)(sid >> 8), payload[2] = 0x10;
  memcpy(payload + 3, p->b, p->n);
  size_t n = host_frame(payload, p->n + 3, framed);
  memcpy(framed + n, "\xff\xfd", 2); /* whatever follows stays unconsumed */
  CHECK_EQ_INT(feed(framed, n + 2), 2);
  CHECK_EQ_INT(last_feed_rc, kTvmErrorPlatformShutdown);
  CHECK_EQ_INT(wire_len, 0);
}

UTEST(empty_packet_is_ignored) {
  CHECK(setup());
  pkt_t* p = req(0);
  p->n = 8; /* packet_nbytes 0, nothing else */
  CHECK(call(p) == NULL);
  CHECK_EQ_INT(wire_len, 0);
}

UTEST_MAIN()
