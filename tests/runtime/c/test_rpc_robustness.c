/* RPC server, hostile or broken requests: every one gets a clear exception (TVM's device
 * would hang, crash or write anywhere) and the session keeps working afterwards. */
#include "test_rpc_support.h"
#include "utest.h"

/* After any bad request the server must still answer a good one. */
static bool still_serving(void) { return get_global("runtime.SystemLib") != UINT64_MAX; }

static const host_msg_t* free_handle(uint64_t handle, int64_t type_code) {
  pkt_t* p = req(10);
  p_i32(p, 2);
  p_i32(p, kTVMOpaqueHandle), p_i32(p, kTVMArgInt);
  p_u64(p, handle);
  p_u64(p, (uint64_t)type_code);
  return call(p);
}

static const host_msg_t* dev_free(uint64_t ptr) {
  pkt_t* p = req(14);
  p_i32(p, 2);
  p_i32(p, kDLDevice), p_i32(p, kTVMOpaqueHandle);
  p_i32(p, 1), p_i32(p, 0);
  p_u64(p, ptr);
  return call(p);
}

UTEST(truncated_and_padded_packets) {
  CHECK(start_session());
  /* packet_nbytes larger than what the message carries */
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "runtime.SystemLib");
  req_end(p);
  p->b[0] += 5;
  clear_wire();
  send_message(sid, 0x10, p->b, p->n);
  CHECK_EQ_INT(parse_wire(), 1);
  CHECK(is_exception(&msgs[0], "announces"));
  /* shorter than its own length prefix */
  clear_wire();
  send_message(sid, 0x10, (const uint8_t*)"\x04\x00\x00", 3);
  CHECK_EQ_INT(parse_wire(), 1);
  CHECK(is_exception(&msgs[0], "announces"));
  /* a length but no code */
  p = req(9);
  p->n = 10;
  CHECK(is_exception(call(p), "announces"));
  /* an argument list that stops early */
  p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_u64(p, 100);
  p_raw(p, "abc", 3);
  CHECK(is_exception(call(p), "truncated"));
  /* surplus bytes after a complete request */
  p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "runtime.SystemLib");
  p_i32(p, 0);
  CHECK(is_exception(call(p), "4 extra bytes"));
  CHECK(still_serving());
}

UTEST(unknown_rpc_codes) {
  CHECK(start_session());
  int32_t codes[] = {0, 4, 5, 8, -1, -2147483647 - 1};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    CHECK(is_exception(call(req(codes[i])), "unknown RPC code"));
  }
  CHECK(is_exception(call(req(21)), "Syscall not recognized"));
  CHECK(is_exception(call(req(22)), "Syscall not recognized"));
  CHECK(is_exception(call(req(0x7FFFFFFF)), "Syscall not recognized"));
  CHECK(is_exception(call(req(11)), "SetDevice not supported"));
  pkt_t* p = req(12);
  p_i32(p, 2);
  p_i32(p, kDLDevice), p_i32(p, kTVMArgInt);
  p_i32(p, 1), p_i32(p, 0);
  p_u64(p, 0);
  CHECK(is_exception(call(p), "GetAttr not supported"));
  CHECK(still_serving());
}

UTEST(argument_counts_and_type_codes) {
  CHECK(start_session());
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  int32_t counts[] = {UTVM_RPC_MAX_ARGS + 1, -1, 0x7FFFFFFF};
  for (int i = 0; i < 3; i++) {
    pkt_t* p = req(3);
    p_u64(p, mgf);
    p_i32(p, counts[i]);
    char want[64];
    snprintf(want, sizeof(want), "arg count %d not in 0..%d", (int)counts[i], UTVM_RPC_MAX_ARGS);
    CHECK(is_exception(call(p), want));
  }
  struct {
    int32_t code;
    const char* message;
  } bad[] = {{14, "invalid type code 14"},        {16, "invalid type code 16"},
             {-3, "invalid type code -3"},        {128, "invalid type code 128"},
             {kTVMNDArrayHandle, "type code 13"}, {kTVMObjectHandle, "invalid type code 8"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pkt_t* p = req(3);
    p_u64(p, mgf);
    p_i32(p, 1);
    p_i32(p, bad[i].code);
    p_u64(p, 0);
    p_u64(p, 0);
    CHECK(is_exception(call(p), bad[i].message));
  }
  /* syscall signatures: GetGlobalFunc with an int, FreeHandle with one argument */
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMArgInt);
  p_u64(p, 5);
  CHECK(is_exception(call(p), "arg 0 has type code 0, not 11"));
  p = req(10);
  p_i32(p, 1);
  p_i32(p, kTVMOpaqueHandle);
  p_u64(p, 5);
  CHECK(is_exception(call(p), "takes 2 args, 1 given"));
  CHECK(still_serving());
}

UTEST(strings_are_bounded_and_terminated) {
  CHECK(start_session());
  pkt_t* p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_u64(p, UINT64_MAX); /* a length beyond the packet */
  CHECK(is_exception(call(p), "truncated"));
  p = req(9);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_u64(p, 9);
  p_raw(p, "runtime\0X", 9);
  CHECK(is_exception(call(p), "NUL in string"));
  /* an empty name is a valid (unknown) name */
  CHECK_EQ_INT(get_global(""), 0);
  /* a name ending exactly at the end of the packet is found */
  CHECK(get_global("tvm.rpc.server.GetCRTMaxPacketSize") != 0);
  CHECK(still_serving());
}

UTEST(function_and_module_handles_are_checked) {
  CHECK(start_session());
  uint64_t bogus[] = {0, 1, 0x1234, 0x8000, 0x80008000, 0x80FF8000, 0xFFFF8003, 0x180048000ull,
                      UINT64_MAX};
  for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
    pkt_t* p = req(3);
    p_u64(p, bogus[i]);
    p_i32(p, 0);
    const host_msg_t* m = call(p);
    CHECK(is_exception(m, bogus[i] > UINTPTR_MAX ? "too wide" : "not a live handle"));
  }
  uint64_t mgf = get_global("tvm.rpc.server.ModuleGetFunction");
  pkt_t* p = req(3);
  p_u64(p, mgf);
  p_i32(p, 3);
  p_i32(p, kTVMModuleHandle), p_i32(p, kTVMStr), p_i32(p, kTVMArgBool);
  p_u64(p, 0x8003);
  p_str(p, "run");
  p_u64(p, 1);
  CHECK(is_exception(call(p), "0x8003 is not a live handle"));
  /* a function handle argument that names nothing */
  p = req(3);
  p_u64(p, mgf);
  p_i32(p, 1);
  p_i32(p, kTVMPackedFuncHandle);
  p_u64(p, 0x80048099);
  CHECK(is_exception(call(p), "0x80048099 is not a live handle"));
  CHECK(still_serving());
}

UTEST(free_handle_checks_what_it_frees) {
  CHECK(start_session());
  CHECK(is_exception(free_handle(0x1000, kTVMNDArrayHandle), "not a live NDArray"));
  CHECK(is_exception(free_handle(0x8003, kTVMModuleHandle), "not a live module"));
  CHECK(is_exception(free_handle(0x12345678, kTVMPackedFuncHandle), "0x12345678 is not a live handle"));
  CHECK(is_exception(free_handle(0x8000, 4), "type code 4"));
  /* An executor's own array cannot be released by the host more often than it got it. */
  static const int64_t shape[1] = {4};
  TVMNDArray* arr;
  CHECK_OK(utvm_ndarray_empty(1, shape, (DLDataType){kDLFloat, 32, 1}, (DLDevice){kDLCPU, 0}, &arr));
  arr->pinned = true;
  CHECK(is_exception(free_handle((uint64_t)(uintptr_t)arr, kTVMNDArrayHandle), "freed more often"));
  CHECK_EQ_INT(arr->reference_count, 1);
  CHECK(still_serving());
}

UTEST(copies_stay_inside_allocations) {
  CHECK(start_session());
  uint64_t ptr = dev_alloc(64);
  CHECK(ptr != 0);
  static uint8_t bytes[256];
  /* not device memory at all */
  CHECK(is_exception(copy_to(0x1000, 0, bytes, 4, 4), "not in allocated memory"));
  CHECK(is_exception(copy_from((uint64_t)(uintptr_t)bytes, 0, 4, 4), "not in allocated memory"));
  /* past the end, by offset, by length, and by an offset that wraps the address space */
  CHECK(is_exception(copy_to(ptr, 61, bytes, 4, 64), "not in allocated memory"));
  CHECK(is_exception(copy_to(ptr, 0, bytes, 65, 65), "not in allocated memory"));
  CHECK(is_exception(copy_from(ptr, 64, 1, 64), "not in allocated memory"));
  CHECK(is_exception(copy_from(ptr, UINT64_MAX - 2, 8, 64), "not in allocated memory"));
  CHECK(is_exception(copy_from(ptr, 0, UINT64_MAX, 64), "not in allocated memory"));
  /* exactly the allocation is fine */
  CHECK(is_return1(copy_to(ptr, 0, bytes, 64, 64), kTVMNullptr, NULL));
  CHECK(is_return1(copy_to(ptr, 60, bytes, 4, 64), kTVMNullptr, NULL));
  /* announced length and carried data disagree */
  pkt_t* p = req(7);
  int64_t extent = 64;
  p_tensor(p, ptr, 1, &extent, 1, 8, 0);
  p_u64(p, 8);
  p_raw(p, bytes, 4);
  CHECK(is_exception(call(p), "carries 4"));
  /* a read reply larger than one message */
  uint64_t big = dev_alloc(4096);
  CHECK(is_exception(copy_from(big, 0, 4096, 4096), "4100 bytes > max packet"));
  /* another device */
  p = req(6);
  p_u64(p, ptr);
  p_i32(p, 2), p_i32(p, 0), p_i32(p, 1);
  p_le(p, 1, 1), p_le(p, 8, 1), p_le(p, 1, 2);
  p_u64(p, 4), p_u64(p, 0), p_u64(p, 4);
  CHECK(is_exception(call(p), "device (2, 0)"));
  CHECK(still_serving());
}

UTEST(tensor_records_are_checked) {
  CHECK(start_session());
  uint64_t ptr = dev_alloc(64);
  int64_t shape[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  /* ndim beyond UTVM_MAX_NDIM, negative ndim */
  pkt_t* p = req(6);
  p_tensor(p, ptr, UTVM_MAX_NDIM + 1, shape, 1, 8, 0);
  p_u64(p, 1);
  char want[32];
  snprintf(want, sizeof(want), "ndim %d not in 0..%d", UTVM_MAX_NDIM + 1, UTVM_MAX_NDIM);
  CHECK(is_exception(call(p), want));
  p = req(6);
  p_tensor(p, ptr, -1, shape, 1, 8, 0);
  p_u64(p, 1);
  CHECK(is_exception(call(p), "ndim -1"));
  /* a tensor argument whose shape says more bytes than were allocated, or a negative dim,
   * or a size that overflows */
  uint64_t fill = get_global("tvm.contrib.random.random_fill");
  int64_t shapes[3][2] = {{8, 9}, {-1, 4}, {INT64_MAX, INT64_MAX}};
  const char* messages[3] = {"not in allocated memory", "negative", "overflows"};
  for (int i = 0; i < 3; i++) {
    p = req(3);
    p_u64(p, fill);
    p_i32(p, 1);
    p_i32(p, kTVMDLTensorHandle);
    p_tensor(p, ptr, 2, shapes[i], 1, 8, 0);
    CHECK(is_exception(call(p), messages[i]));
  }
  /* DevAllocDataWithScope with a template that overflows */
  p = req(17);
  p_i32(p, 2);
  p_i32(p, kTVMDLTensorHandle), p_i32(p, kTVMNullptr);
  p_tensor(p, 0, 2, shapes[2], 1, 8, 0);
  CHECK(is_exception(call(p), "overflows"));
  CHECK(still_serving());
}

/* The device type travels as 32 bits. Where enums are one byte (the ARM EABI's short enums,
 * as arm-none-eabi-gcc builds by default) DLDevice keeps only the low byte in device_type:
 * 0x101 must not pass as kDLCPU there. */
UTEST(device_type_is_checked_in_all_32_bits) {
  CHECK(start_session());
  const int32_t devices[][2] = {{0x101, 0}, {0x7fffff01, 0}, {-255, 0}, {2, 0}, {1, 1}};
  for (int i = 0; i < 5; i++) {
    pkt_t* p = req(13);
    p_i32(p, 4);
    p_i32(p, kDLDevice), p_i32(p, kTVMArgInt), p_i32(p, kTVMArgInt), p_i32(p, kTVMDataType);
    p_i32(p, devices[i][0]), p_i32(p, devices[i][1]);
    p_u64(p, 16);
    p_u64(p, 64);
    p_u64(p, 0x00012002);
    CHECK(is_exception(call(p), "not cpu"));
  }
  /* ... and in a tensor record (CopyToRemote into memory the host did allocate) */
  uint64_t ptr = dev_alloc(16);
  static const uint8_t bytes[4] = {1, 2, 3, 4};
  int64_t extent = 16;
  pkt_t* p = req(7);
  p_u64(p, ptr);
  p_i32(p, 0x101), p_i32(p, 0); /* device */
  p_i32(p, 1);                  /* ndim */
  p_le(p, 1, 1), p_le(p, 8, 1), p_le(p, 1, 2);
  p_u64(p, (uint64_t)extent);
  p_u64(p, 0);
  p_u64(p, 4);
  p_raw(p, bytes, 4);
  CHECK(is_exception(call(p), "not cpu"));
  CHECK(is_return1(dev_free(ptr), kTVMNullptr, NULL));
  CHECK(still_serving());
}

UTEST(device_memory_requests_are_checked) {
  CHECK(start_session());
  int64_t sizes[][2] = {{-1, 64}, {16, 0}, {16, 8192}, {16, -64}};
  for (int i = 0; i < 4; i++) {
    pkt_t* p = req(13);
    p_i32(p, 4);
    p_i32(p, kDLDevice), p_i32(p, kTVMArgInt), p_i32(p, kTVMArgInt), p_i32(p, kTVMDataType);
    p_i32(p, 1), p_i32(p, 0);
    p_u64(p, (uint64_t)sizes[i][0]);
    p_u64(p, (uint64_t)sizes[i][1]);
    p_u64(p, 0x00012002);
    CHECK(is_exception(call(p), "invalid size"));
  }
  /* far more than the heap has */
  uint64_t huge[2] = {1ull << 40, INT64_MAX};
  pkt_t* p;
  for (int i = 0; i < 2; i++) {
    p = req(13);
    p_i32(p, 4);
    p_i32(p, kDLDevice), p_i32(p, kTVMArgInt), p_i32(p, kTVMArgInt), p_i32(p, kTVMDataType);
    p_i32(p, 1), p_i32(p, 0);
    p_u64(p, huge[i]);
    p_u64(p, 64);
    p_u64(p, 0x00012002);
    /* out of memory, or (32-bit) more than the address space */
    CHECK(is_exception(call(p), huge[i] > SIZE_MAX / 2 ? "invalid size" : "memory"));
  }
  /* DevFreeData: only what DevAllocData gave, once */
  uint64_t ptr = dev_alloc(32);
  CHECK(is_exception(dev_free(ptr + 8), "not from DevAllocData"));
  CHECK(is_return1(dev_free(ptr), kTVMNullptr, NULL));
  CHECK(is_exception(dev_free(ptr), "not from DevAllocData"));
  static const int64_t shape[1] = {4};
  TVMNDArray* arr;
  CHECK_OK(utvm_ndarray_empty(1, shape, (DLDataType){kDLFloat, 32, 1}, (DLDevice){kDLCPU, 0}, &arr));
  CHECK(is_exception(dev_free((uint64_t)(uintptr_t)arr->dl_tensor.data), "not from DevAllocData"));
  CHECK(still_serving());
}

UTEST(init_server_with_arguments_is_refused) {
  CHECK(start_session());
  pkt_t* p = req(2);
  p_str(p, "0.8.0");
  p_i32(p, 1);
  p_i32(p, kTVMArgInt);
  p_u64(p, 1);
  CHECK(is_exception(call(p), "takes 0 args, 1 given"));
  p = req(2);
  p_u64(p, 1000);
  CHECK(is_exception(call(p), "truncated"));
  CHECK(still_serving());
}

UTEST(executor_create_with_wrong_arguments) {
  CHECK(start_session());
  uint64_t create = get_global("tvm.aot_executor.create");
  pkt_t* p = req(3);
  p_u64(p, create);
  p_i32(p, 1);
  p_i32(p, kTVMStr);
  p_str(p, "default");
  CHECK(is_exception(call(p), "tvm.aot_executor.create"));
  CHECK(still_serving());
}

/* DevAllocDataWithScope from a template tensor of shape [n] uint8, scope None or a string. */
static uint64_t dev_alloc_scope(int64_t n, const char* scope) {
  pkt_t* p = req(17);
  p_i32(p, 2);
  p_i32(p, kTVMDLTensorHandle), p_i32(p, scope ? kTVMStr : kTVMNullptr);
  p_tensor(p, 0, 1, &n, 1, 8, 0);
  if (scope) p_str(p, scope);
  uint64_t h = 0;
  return is_return1(call(p), kTVMOpaqueHandle, &h) ? h : 0;
}

UTEST(empty_host_blocks_are_distinct_and_hold_no_byte) {
  CHECK(start_session());
  size_t heap_before = utvm_heap_bytes_in_use();
  static const uint8_t bytes[1] = {1};
  uint64_t p = dev_alloc(0), q = dev_alloc(0);
  CHECK(p != 0 && q != 0 && p != q);
  CHECK(is_return1(copy_to(p, 0, bytes, 0, 0), kTVMNullptr, NULL)); /* 0 bytes either way */
  const host_msg_t* m = copy_from(p, 0, 0, 0);
  CHECK(m != NULL && reply_code(m) == 8 /* kCopyAck */);
  CHECK(is_exception(copy_to(p, 0, bytes, 1, 1), "not in allocated memory"));
  CHECK(is_exception(copy_from(p, 0, 1, 1), "not in allocated memory"));
  CHECK(is_exception(copy_to(p, 1, bytes, 0, 0), "not in allocated memory"));
  CHECK(is_return1(dev_free(p), kTVMNullptr, NULL));
  CHECK(is_exception(dev_free(p), "not from DevAllocData"));
  uint64_t s = dev_alloc_scope(0, NULL), t = dev_alloc_scope(0, "global");
  CHECK(s != 0 && t != 0 && s != t);
  CHECK(is_exception(copy_to(s, 0, bytes, 1, 1), "not in allocated memory"));
  CHECK(is_return1(dev_free(t), kTVMNullptr, NULL));
  CHECK(start_session()); /* a new session frees q and s */
  CHECK_EQ_INT(utvm_heap_bytes_in_use(), heap_before);
}

UTEST_MAIN()
