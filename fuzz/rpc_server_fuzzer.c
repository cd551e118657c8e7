/*
 * libFuzzer target: the RPC server's whole receive path (framing, session, minRPC dispatch,
 * the server's global functions, executor modules) fed with arbitrary bytes.
 *
 * Random frames almost never carry a valid CRC, so the input is a list of chunks, each
 *   u8 op | u16 length | bytes
 * where op % 4 says what the harness does with the bytes:
 *   0: feeds them raw (framing and resynchronisation),
 *   1: sends them as the body of an RPC packet in the live session (length prefix fixed up),
 *      after replacing the placeholders A1 x 8 with the last handle and A2 x 8 with the last
 *      data pointer (DevAllocData's, or an NDArray's) the server replied with (pointers
 *      differ from run to run);
 *   2: frames them as a whole session message (header included),
 *   3: sends them as a Normal message body exactly as given (length prefix unchecked).
 * Every input starts from a fresh runtime and an established session. The platform layer
 * here is deterministic (fixed random bytes, a timer that counts work) so every finding
 * reproduces. fuzz/make_seeds.py writes inputs that reach every request kind.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/metadata_types.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>
#include <utvm/signatures.h>

/* ---- a deterministic platform ---- */

static uint8_t random_state;
static uint64_t work;            /* calls made to the fuzz module's functions */
static uint64_t work_at_start;
static int timer_running;

void TVMPlatformAbort(tvm_crt_error_t code) {
  fprintf(stderr, "TVMPlatformAbort(0x%x): %s\n", (unsigned)code, TVMGetLastError());
  abort();
}

size_t TVMPlatformFormatMessage(char* out, size_t size, const char* fmt, va_list args) {
  int n = vsnprintf(out, size, fmt, args);
  if (n < 0) return 0;
  return (size_t)n < size ? (size_t)n : size - 1;
}

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t* buf, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = random_state = (uint8_t)(random_state * 37 + 11);
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (timer_running) return kTvmErrorPlatformTimerBadState;
  timer_running = 1;
  work_at_start = work;
  return kTvmErrorNoError;
}

/* 10 ms per call made while running, plus 10 ms: time grows with work, so the time
 * evaluator's loops end the way they do on a real device. */
tvm_crt_error_t TVMPlatformTimerStop(double* seconds) {
  if (!timer_running) return kTvmErrorPlatformTimerBadState;
  timer_running = 0;
  *seconds = 0.01 * (double)(work - work_at_start + 1);
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformBeforeMeasurement(void) { return kTvmErrorNoError; }
tvm_crt_error_t TVMPlatformAfterMeasurement(void) { return kTvmErrorNoError; }
tvm_crt_error_t TVMPlatformInitialize(void) { return kTvmErrorNoError; }

/* ---- a small system library, shaped like generated code, plus helper globals ---- */

/* Stands for a generated operator compiled for two float32 tensors of 16 bytes: reads every
 * byte of them, and aborts (a finding) if it is ever reached with anything else. */
static int touch(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  work++;
  if (n != 2) abort();
  uint64_t sum = 0;
  for (int i = 0; i < n; i++) {
    /* The server lets only tensors through; the graph executor passes its own as 13. */
    if (codes[i] != kTVMDLTensorHandle && codes[i] != kTVMNDArrayHandle) abort();
    const DLTensor* t = args[i].v_handle;
    size_t nbytes = utvm_dltensor_nbytes(t);
    if (nbytes != 16 || t->dtype.code != kDLFloat || t->dtype.bits != 32) abort();
    const uint8_t* p = (const uint8_t*)t->data + t->byte_offset;
    for (size_t k = 0; k < nbytes; k++) sum += p[k];
  }
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = (int64_t)sum}, kTVMArgInt);
  return 0;
}

/* An AOT model: output0[i] = input[i] + 1 over float32 [1, 4]. */
static const int64_t kShape[2] = {1, 4};
static const struct TVMTensorInfo kInputs[1] = {{"input", kShape, 2, {kDLFloat, 32, 1}}};
static const struct TVMTensorInfo kOutputs[1] = {{"output0", kShape, 2, {kDLFloat, 32, 1}}};
static const struct TVMMetadata kMetadata = {1, kInputs, 1, kOutputs, 1, NULL, 0, NULL, 0,
                                             "tvmgen_default"};

static int model_run(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  work++;
  if (n > 0 && codes[0] != kTVMDLTensorHandle && codes[0] != kTVMNDArrayHandle) abort();
  /* Real generated code would read two tensors of 16 bytes whatever it is given. It has no
   * signature (an AOT model's), so the server lets only the AOT executor call it; should a
   * host's call ever get through with the wrong tensors, this aborts and the fuzzer reports. */
  if (n < 2) abort();
  const DLTensor* in = args[0].v_handle;
  DLTensor* out = args[1].v_handle;
  if (utvm_dltensor_nbytes(in) < 16 || utvm_dltensor_nbytes(out) < 16 || in->byte_offset != 0 ||
      out->byte_offset != 0) {
    abort();
  }
  for (int i = 0; i < 4; i++) ((float*)out->data)[i] = ((const float*)in->data)[i] + 1.0f;
  return 0;
}

static int get_metadata(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code,
                        void* res) {
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = (void*)&kMetadata}, kTVMOpaqueHandle);
  return 0;
}

static const TVMBackendPackedCFunc funcs[] = {touch, model_run, get_metadata};
static const TVMFuncRegistry registry = {
    "\003\000touch\000tvmgen_default_run\000tvmgen_default_get_c_metadata\000", funcs};
static const TVMModule system_lib = {&registry};
const TVMModule* TVMSystemLibEntryPoint(void) { return &system_lib; }

/* The operator signatures utvm_add_model() would generate for a graph model calling touch
 * on float32 [1, 4] -> [1, 4] (make_seeds.py's graph); model_run and get_metadata have none,
 * as in an AOT model. */
static const utvm_arg_signature_t touch_args[] = {{{kDLFloat, 32, 1}, 16}, {{kDLFloat, 32, 1}, 16}};
static const utvm_op_signature_t signed_ops[] = {{touch, 2, touch_args}};
const utvm_op_signatures_t utvm_op_signatures = {1, signed_ops};

static int add_one(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  work++;
  static const uint8_t expected[] = {1, kTVMArgInt};
  int rc = utvm_check_args("fuzz.add_one", codes, n, expected);
  if (rc != 0) return rc;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = args[0].v_int64 + 1}, kTVMArgInt);
  return 0;
}

/* Returns its first argument whatever it is: exercises every reply encoding. */
static int echo(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  work++;
  if (n < 1 || codes[0] == kTVMBytes) return kTvmErrorFunctionCallNumArguments;
  utvm_set_return(ret, ret_code, args[0], codes[0]);
  return 0;
}

/* ---- what the server writes: kept to learn the handles and pointers it hands out ---- */

static uint8_t out[1u << 17];
static size_t out_len;
static uint64_t last_handle, last_data;

static int capture(void* ctx, const uint8_t* data, size_t len) {
  (void)ctx;
  if (len > sizeof(out) - out_len) out_len = 0; /* only the latest replies matter */
  memcpy(out + out_len, data, len);
  out_len += len;
  return (int)len;
}

static uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* Looks at one reply (RPC packet after its length): ReturnHandle, [tcode, handle], NDArray. */
static void learn(const uint8_t* p, size_t n) {
  if (n < 12 || le(p, 4) != 4) return;
  uint64_t count = le(p + 4, 4);
  if (count == 1 && n == 20 && le(p + 8, 4) == 3) { /* a handle, or DevAllocData's pointer */
    last_handle = last_data = le(p + 12, 8);
  }
  if (count == 2 && n == 32 && le(p + 12, 4) == 3) last_handle = le(p + 24, 8);
  if (count == 3 && n >= 60 && le(p + 12, 4) == 7) {
    last_data = le(p + 28, 8);
    last_handle = le(p + n - 8, 8);
  }
}

/* Un-frames what the server wrote (it is well formed) and learns from each Normal message. */
static void learn_from_output(void) {
  static uint8_t payload[sizeof(out)];
  size_t i = 0;
  while (i + 1 < out_len) {
    if (!(out[i] == 0xFF && out[i + 1] == 0xFD)) {
      i++;
      continue;
    }
    i += 2;
    size_t n = 0, want = 4, plen = 0;
    bool have_len = false;
    while (i < out_len && (!have_len || n < plen + 4)) {
      uint8_t b = out[i++];
      if (b == 0xFF) i++; /* FF FF */
      payload[n++] = b;
      if (!have_len && n == want) {
        plen = (size_t)le(payload, 4);
        have_len = true;
        if (plen > sizeof(payload) - 4) return;
      }
    }
    if (have_len && n == plen + 4 && plen >= 11 && payload[6] == 0x10) learn(payload + 15, plen - 11);
  }
  out_len = 0;
}

static void substitute(uint8_t* p, size_t n) {
  for (size_t i = 0; i + 8 <= n; i++) {
    uint8_t tag = p[i];
    if (tag != 0xA1 && tag != 0xA2) continue;
    size_t k = 1;
    while (k < 8 && p[i + k] == tag) k++;
    if (k < 8) continue;
    uint64_t v = tag == 0xA1 ? last_handle : last_data;
    for (int b = 0; b < 8; b++) p[i + b] = (uint8_t)(v >> (8 * b));
    i += 7;
  }
}

/* ---- the harness ---- */

static _Alignas(64) uint8_t heap[1u << 20];
static uint8_t rx_buf[UTVM_RPC_MAX_PACKET_SIZE];

static uint16_t crc16(uint16_t crc, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    crc ^= (uint16_t)(p[i] << 8);
    for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

static uint8_t framed[2 * (UTVM_RPC_MAX_PACKET_SIZE + 16 + 70000)];

static void put_escaped(size_t* k, uint8_t b) {
  framed[(*k)++] = b;
  if (b == 0xFF) framed[(*k)++] = 0xFF;
}

/* Frames [header][prefix][bytes] and feeds it to the server. */
static int send_frame(utvm_rpc_server_t* s, const uint8_t* header, size_t header_len,
                      const uint8_t* prefix, size_t prefix_len, const uint8_t* bytes, size_t len) {
  size_t total = header_len + prefix_len + len, k = 0;
  framed[k++] = 0xFF;
  framed[k++] = 0xFD;
  for (int i = 0; i < 4; i++) put_escaped(&k, (uint8_t)(total >> (8 * i)));
  for (size_t i = 0; i < header_len; i++) put_escaped(&k, header[i]);
  for (size_t i = 0; i < prefix_len; i++) put_escaped(&k, prefix[i]);
  for (size_t i = 0; i < len; i++) put_escaped(&k, bytes[i]);
  uint16_t crc = crc16(0xFFFF, framed, k);
  put_escaped(&k, (uint8_t)crc);
  put_escaped(&k, (uint8_t)(crc >> 8));
  const uint8_t* p = framed;
  size_t n = k;
  return utvm_rpc_server_feed(s, &p, &n);
}

/* The session id the server will pick for host nonce 0x22 (wire doc section 3.3). */
static uint16_t expected_session_id(uint8_t seed) {
  uint8_t n = (uint8_t)((uint8_t)((seed << 5) | (seed >> 5)) + 1);
  return (uint16_t)(0x22 | ((n == 0 ? 1 : n) << 8));
}

static uint8_t chunk_copy[1u << 16];

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  random_state = 0x5A;
  timer_running = 0;
  out_len = 0;
  last_handle = last_data = 0;
  if (utvm_heap_init(heap, sizeof(heap)) != 0 || TVMInitializeRuntime() != 0) abort();
  uint8_t seed_preview = (uint8_t)(random_state * 37 + 11); /* the server's one random byte */
  utvm_rpc_server_t* s = utvm_rpc_server_init(rx_buf, sizeof(rx_buf), capture, NULL);
  if (s == NULL || TVMFuncRegisterGlobal("fuzz.add_one", (TVMFunctionHandle)add_one, 0) != 0 ||
      TVMFuncRegisterGlobal("fuzz.echo", (TVMFunctionHandle)echo, 0) != 0) {
    abort();
  }
  static const uint8_t init[4] = {0x22, 0x00, 0x00, 0x01};
  send_frame(s, init, sizeof(init), NULL, 0, NULL, 0);
  uint16_t sid = expected_session_id(seed_preview);
  if (!utvm_rpc_server_session_established(s)) abort();
  const uint8_t normal[3] = {(uint8_t)sid, (uint8_t)(sid >> 8), 0x10};
  /* The harness must really reach dispatch: one known-good request first. */
  static const uint8_t probe[] = {9, 0, 0, 0, 1, 0, 0, 0, 11, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0,
                                  'r', 'u', 'n', 't', 'i', 'm', 'e', '.', 'S', 'y', 's', 't',
                                  'e', 'm', 'L', 'i', 'b'};
  uint8_t probe_len[8] = {sizeof(probe)};
  send_frame(s, normal, sizeof(normal), probe_len, sizeof(probe_len), probe, sizeof(probe));
  utvm_rpc_server_stats_t stats;
  utvm_rpc_server_get_stats(s, &stats);
  if (stats.requests != 1 || stats.exceptions != 0) abort();
  size_t i = 0;
  while (i + 3 <= size) {
    uint8_t op = data[i];
    size_t len = (size_t)data[i + 1] | ((size_t)data[i + 2] << 8);
    i += 3;
    if (len > size - i) len = size - i;
    const uint8_t* chunk = data + i;
    i += len;
    int rc = 0;
    switch (op % 4) {
      case 0: {
        const uint8_t* p = chunk;
        size_t n = len;
        rc = utvm_rpc_server_feed(s, &p, &n);
        break;
      }
      case 1: {
        uint8_t prefix[8];
        for (int b = 0; b < 8; b++) prefix[b] = (uint8_t)((uint64_t)len >> (8 * b));
        memcpy(chunk_copy, chunk, len);
        substitute(chunk_copy, len);
        rc = send_frame(s, normal, sizeof(normal), prefix, sizeof(prefix), chunk_copy, len);
        break;
      }
      case 2:
        rc = send_frame(s, NULL, 0, NULL, 0, chunk, len);
        break;
      default:
        rc = send_frame(s, normal, sizeof(normal), NULL, 0, chunk, len);
        break;
    }
    learn_from_output();
    if (rc == kTvmErrorPlatformShutdown) break;
  }
  return 0;
}
