/* The time evaluator (time_evaluator.h). */
#include "time_evaluator.h"

#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/registry.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>

#include "rpc_reply.h"
#include "rpc_validate.h"
#include "server_state.h"

#define MAX_NUMBER ((int64_t)UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER)
/* Bounds of the host's timing requests: a minute per measurement, ten seconds of cooldown,
 * so no request can keep the device busy for days. */
#define MAX_MIN_REPEAT_MS 60000
#define MAX_COOLDOWN_MS 10000

typedef struct {
  bool in_use;
  uint32_t generation; /* runtime generation it was made in */
  uint32_t serial;     /* creation order, to replace the oldest */
  TVMFunctionHandle handle;
  TVMFunctionHandle target;
  int64_t number;
  int64_t repeat;
  int64_t min_repeat_ms;
  int64_t limit_zero_time_iterations;
  int64_t cooldown_interval_ms;
  int64_t repeats_to_cooldown;
} evaluator_t;

static evaluator_t evaluators[UTVM_RPC_MAX_TIME_EVALUATORS];
static uint32_t next_serial;

static int run_evaluator(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* resource);

/* Still reachable through its handle (the host has not freed it, nothing replaced it). */
static bool is_live(const evaluator_t* e) {
  TVMBackendPackedCFunc fn;
  void* resource;
  return e->in_use && e->generation == utvm_runtime_generation() &&
         utvm_func_from_handle(e->handle, &fn, &resource) && fn == run_evaluator &&
         resource == (void*)e;
}

static evaluator_t* free_slot(void) {
  evaluator_t* oldest = &evaluators[0];
  for (int i = 0; i < UTVM_RPC_MAX_TIME_EVALUATORS; i++) {
    evaluator_t* e = &evaluators[i];
    if (!is_live(e)) return e;
    if ((int32_t)(e->serial - oldest->serial) < 0) oldest = e;
  }
  TVMFuncFree(oldest->handle); /* TVM keeps only the newest evaluator too */
  return oldest;
}

void utvm_time_evaluators_release_all(void) {
  for (int i = 0; i < UTVM_RPC_MAX_TIME_EVALUATORS; i++) {
    if (is_live(&evaluators[i])) TVMFuncFree(evaluators[i].handle);
    evaluators[i].in_use = false;
  }
}

/* Largest `repeat` whose result fits in one reply. */
static int64_t max_repeat(void) {
  utvm_rpc_server_t* s = utvm_rpc_server_current();
  uint64_t limit = s != NULL ? utvm_rpc_reply_limit(s) : UTVM_RPC_MAX_PACKET_SIZE - 11;
  const uint64_t overhead = 4 + 4 + 8 + 8 + 8; /* code, count, 2 tcodes, tcode value, length */
  return limit > overhead ? (int64_t)((limit - overhead) / sizeof(double)) : 0;
}

/* runtime.RPCTimeEvaluator(module, name, device_type, device_id, number, repeat,
 *   min_repeat_ms, limit_zero_time_iterations, cooldown_interval_ms, repeats_to_cooldown,
 *   cache_flush_bytes, f_preproc) -> PackedFunc */
static int create_evaluator(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                            int* ret_code, void* resource) {
  static const char* const kName = "runtime.RPCTimeEvaluator";
  if (num_args < 12) {
    return utvm_fail(kTvmErrorFunctionCallNumArguments, "%s takes 12 arguments, %d given", kName,
                     num_args);
  }
  static const int expected[12] = {kTVMModuleHandle, kTVMStr,    kTVMArgInt, kTVMArgInt,
                                   kTVMArgInt,       kTVMArgInt, kTVMArgInt, kTVMArgInt,
                                   kTVMArgInt,       kTVMArgInt, kTVMArgInt, kTVMStr};
  /* Extra arguments (newer hosts) are ignored. */
  int rc = utvm_check_args(kName, codes, 12, 12, expected);
  if (rc != 0) return rc;
  if (utvm_module_from_handle(args[0].v_handle) == NULL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg, "%s: 0x%lx is not a live module", kName,
                     (unsigned long)(uintptr_t)args[0].v_handle);
  }
  if (args[11].v_str[0] != '\0') {
    return utvm_fail(kTvmErrorFunctionCallNotImplemented,
                     "%s: f_preproc \"%s\" is not supported on this device; pass f_preproc=\"\"",
                     kName, args[11].v_str);
  }
  evaluator_t e = {0};
  e.number = args[4].v_int64;
  e.repeat = args[5].v_int64;
  e.min_repeat_ms = args[6].v_int64;
  e.limit_zero_time_iterations = args[7].v_int64;
  e.cooldown_interval_ms = args[8].v_int64;
  e.repeats_to_cooldown = args[9].v_int64;
  int64_t most = max_repeat();
  if (e.number < 1 || e.number > MAX_NUMBER || e.repeat < 1 || e.repeat > most ||
      e.min_repeat_ms < 0 || e.min_repeat_ms > MAX_MIN_REPEAT_MS ||
      e.limit_zero_time_iterations < 0 || e.cooldown_interval_ms < 0 ||
      e.cooldown_interval_ms > MAX_COOLDOWN_MS ||
      (e.cooldown_interval_ms > 0 && e.repeats_to_cooldown < 1)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "%s: need 1 <= number <= %lld, 1 <= repeat <= %lld (one reply), "
                     "0 <= min_repeat_ms <= %d, limit_zero_time_iterations >= 0, "
                     "0 <= cooldown_interval_ms <= %d and repeats_to_cooldown >= 1 when "
                     "cooling down",
                     kName, (long long)MAX_NUMBER, (long long)most, MAX_MIN_REPEAT_MS,
                     MAX_COOLDOWN_MS);
  }
  rc = TVMModGetFunction(args[0].v_handle, args[1].v_str, 0, &e.target);
  if (rc != 0) return rc; /* message says which function is missing */
  evaluator_t* slot = free_slot();
  e.in_use = true;
  e.generation = utvm_runtime_generation();
  e.serial = next_serial++;
  rc = utvm_closure_create(run_evaluator, slot, &e.handle);
  if (rc != 0) return rc;
  *slot = e;
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = e.handle}, kTVMPackedFuncHandle);
  return 0;
}

/* Busy-waits `ms` with the platform timer (the platform layer has no sleep). A timer that
 * never advances ends the wait after a million empty readings instead of hanging. */
static int cool_down(int64_t ms) {
  double waited = 0;
  uint32_t empty_readings = 0;
  while (waited * 1000.0 < (double)ms && empty_readings < 1000000u) {
    double slice = 0;
    int rc = TVMPlatformTimerStart();
    if (rc == 0) rc = TVMPlatformTimerStop(&slice);
    if (rc != 0) return rc;
    if (slice > 0) {
      waited += slice;
    } else {
      empty_readings++;
    }
  }
  return 0;
}

/* One timed batch of e->number calls; *seconds is its total time. */
static int timed_batch(evaluator_t* e, TVMValue* args, int* codes, int num_args,
                       double* seconds) {
  TVMValue ret;
  int ret_code;
  int rc = TVMPlatformBeforeMeasurement();
  if (rc == 0) rc = TVMPlatformTimerStart();
  if (rc != 0) return rc;
  for (int64_t j = 0; j < e->number && rc == 0; j++) {
    rc = TVMFuncCall(e->target, args, codes, num_args, &ret, &ret_code);
  }
  double elapsed = 0;
  int stop_rc = TVMPlatformTimerStop(&elapsed); /* stop even after a failure */
  if (rc != 0) return rc;
  if (stop_rc != 0) return stop_rc;
  *seconds = elapsed;
  return TVMPlatformAfterMeasurement();
}

static int measure(evaluator_t* e, TVMValue* args, int* codes, int num_args, double* results) {
  TVMValue ret;
  int ret_code;
  /* An untimed first call, as TVM does (it warms caches and lazy state). */
  int rc = TVMFuncCall(e->target, args, codes, num_args, &ret, &ret_code);
  double min_repeat_seconds = (double)e->min_repeat_ms / 1000.0;
  for (int64_t i = 0; i < e->repeat && rc == 0; i++) {
    double seconds = 0;
    int64_t zero_readings = 0;
    do {
      if (seconds > 0) {
        /* Too short: grow the batch towards min_repeat_ms (the grown number persists). */
        double a = min_repeat_seconds / (seconds / (double)e->number) + 1;
        double b = (double)e->number * 1.618;
        double grown = a > b ? a : b;
        e->number = grown >= (double)MAX_NUMBER ? MAX_NUMBER : (int64_t)grown;
      }
      rc = timed_batch(e, args, codes, num_args, &seconds);
      if (rc == 0 && seconds <= 0) zero_readings++; /* a coarse (or broken) timer */
      /* A batch already at the largest number is what we get, long enough or not. */
    } while (rc == 0 && seconds < min_repeat_seconds && e->number < MAX_NUMBER &&
             zero_readings < e->limit_zero_time_iterations);
    if (rc != 0) break;
    results[i] = seconds / (double)e->number;
    if (e->cooldown_interval_ms > 0 && i % e->repeats_to_cooldown == 0) {
      rc = cool_down(e->cooldown_interval_ms);
    }
  }
  return rc;
}

static int run_evaluator(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* resource) {
  static const DLDevice cpu = {kDLCPU, 0};
  evaluator_t* e = resource;
  if (!is_live(e)) {
    return utvm_fail(kTvmErrorTimeEvaluatorBadHandle, "this time evaluator was replaced or freed");
  }
  int rc = utvm_rpc_check_generated_call(e->target, codes, num_args, "time evaluator");
  if (rc != 0) return rc;
  TVMByteArray* result = NULL;
  void* data = NULL;
  size_t nbytes = sizeof(double) * (size_t)e->repeat;
  rc = TVMPlatformMemoryAllocate(sizeof(TVMByteArray), cpu, (void**)&result);
  if (rc == 0) rc = TVMPlatformMemoryAllocate(nbytes, cpu, &data);
  if (rc != 0) {
    if (result != NULL) TVMPlatformMemoryFree(result, cpu);
    return utvm_fail(rc, "time evaluator: out of memory for %lu results", (unsigned long)e->repeat);
  }
  rc = measure(e, args, codes, num_args, data);
  if (rc != 0) {
    TVMPlatformMemoryFree(data, cpu);
    TVMPlatformMemoryFree(result, cpu);
    return rc;
  }
  /* Little-endian doubles on the wire: the host unpacks them with struct "@d". */
  result->data = data;
  result->size = nbytes;
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = result}, kTVMBytes);
  return 0;
}

int utvm_time_evaluator_register(void) {
  return TVMFuncRegisterGlobal("runtime.RPCTimeEvaluator", (TVMFunctionHandle)create_evaluator,
                               1);
}
