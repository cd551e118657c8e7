/* The time evaluator (time_evaluator.h). */
#include "time_evaluator.h"

#include <string.h>

#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>
#include <utvm/rpc_server.h>

#include "rpc_validate.h"

/* Bounds of the host's timing requests: a minute per measurement, ten seconds of cooldown,
 * so no request can keep the device busy for days. */
#define MAX_NUMBER UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER
/* min_repeat (below 2^36 units) times a number must stay below 2^64 when the batch grows. */
_Static_assert(MAX_NUMBER >= 1 && MAX_NUMBER <= (1u << 27),
               "UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER must be in 1..2^27");
#define MAX_MIN_REPEAT_MS 60000
#define MAX_COOLDOWN_MS 10000
/* Time units (2^-30 s) in a millisecond, rounded up. */
#define UNITS_PER_MS 1073742u

/* The integer arguments, in the host's order (arguments 4..9). All are bounded, so they
 * are kept in 32 bits: no 64-bit division or multiplication on 32-bit parts. */
enum { NUMBER, REPEAT, MIN_REPEAT_MS, LIMIT_ZERO_TIME_ITERATIONS, COOLDOWN_MS,
       REPEATS_TO_COOLDOWN, NUM_PARAMS };

typedef struct {
  TVMFunctionHandle handle; /* the closure the host holds */
  TVMFunctionHandle target;
  uint32_t serial;     /* creation order, to replace the oldest */
  uint32_t p[NUM_PARAMS];
} evaluator_t;

/* Argument messages name the global without its namespace (one string for both). It takes
 * 12 arguments: module, name, nine integers (kTVMArgInt is 0), f_preproc. */
_Static_assert(kTVMArgInt == 0, "the nine integers are the zeros");
const struct utvm_time_evaluator_global utvm_time_evaluator_global = {
    "runtime.RPCTimeEvaluator", {12, kTVMModuleHandle, kTVMStr, [12] = kTVMStr}};

/* The slots with the creation counter and the reply size in one struct, so that
 * utvm_time_evaluator_create reaches all three through one address (slots first: sweep
 * walks them). */
static struct {
  evaluator_t slots[UTVM_RPC_MAX_TIME_EVALUATORS];
  uint32_t next_serial;
  size_t max_reply; /* largest RPC packet of a reply (utvm_time_evaluator_init) */
} evaluators;

static int run_evaluator(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* resource);

/* Still reachable through its handle (the host has not freed it, nothing replaced it). A
 * closure of run_evaluator over this slot can only be its current evaluator's: closures do
 * not outlive TVMInitializeRuntime (the registry's reset clears them) and
 * utvm_time_evaluator_create stores each handle it binds in the slot it binds it to. */
static bool is_live(const evaluator_t* e) {
  TVMBackendPackedCFunc fn;
  void* resource;
  return utvm_func_from_handle(e->handle, &fn, &resource) && fn == run_evaluator &&
         resource == (void*)e;
}

/* With `all`, frees every live evaluator; without, returns a slot for a new one: the first
 * free slot, else the oldest evaluator's, freed (TVM keeps only the newest evaluator too).
 * One loop for both, out of line: GCC would unroll a copy into each caller. */
__attribute__((noinline)) static evaluator_t* sweep(bool all) {
  evaluator_t* oldest = evaluators.slots;
  for (evaluator_t* e = evaluators.slots; e != evaluators.slots + UTVM_RPC_MAX_TIME_EVALUATORS;
       e++) {
    if (!is_live(e)) {
      if (!all) return e;
    } else if (all) {
      TVMFuncFree(e->handle);
    } else if ((int32_t)(e->serial - oldest->serial) < 0) {
      oldest = e;
    }
  }
  if (!all) TVMFuncFree(oldest->handle);
  return oldest;
}

void utvm_time_evaluators_release_all(void) { sweep(true); }

/* runtime.RPCTimeEvaluator(module, name, device_type, device_id, number, repeat,
 *   min_repeat_ms, limit_zero_time_iterations, cooldown_interval_ms, repeats_to_cooldown,
 *   cache_flush_bytes, f_preproc) -> PackedFunc. Extra arguments (newer hosts) are ignored. */
int utvm_time_evaluator_create(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource) {
  (void)resource;
  const struct utvm_time_evaluator_global* g = &utvm_time_evaluator_global;
  int rc = utvm_check_args(g->name + sizeof("runtime.") - 1, codes, num_args < 12 ? num_args : 12,
                           g->expected);
  if (rc == 0) rc = utvm_rpc_check_handle(args[0].v_handle, kTVMModuleHandle);
  if (rc != 0) return rc;
  if (args[11].v_str[0] != '\0') {
    return utvm_fail(kTvmErrorFunctionCallNotImplemented, "f_preproc is not supported");
  }
  evaluator_t e; /* every field is set before it is stored */
  bool negative = false;
  for (int k = 0; k < NUM_PARAMS; k++) {
    int64_t v = args[4 + k].v_int64;
    negative |= v < 0;
    /* Beyond 32 bits a limit or a cooldown period only means "never". */
    e.p[k] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
  }
  /* The most doubles one reply carries after code, count, 2 type codes, tcode, length. */
  size_t most_repeat = (evaluators.max_reply - 4 - 4 - 8 - 8 - 8) / sizeof(double);
  if (negative || e.p[NUMBER] < 1 || e.p[NUMBER] > MAX_NUMBER || e.p[REPEAT] < 1 ||
      e.p[REPEAT] > most_repeat || e.p[MIN_REPEAT_MS] > MAX_MIN_REPEAT_MS ||
      e.p[COOLDOWN_MS] > MAX_COOLDOWN_MS ||
      (e.p[COOLDOWN_MS] > 0 && e.p[REPEATS_TO_COOLDOWN] < 1)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "need 1 <= number <= %d, 1 <= repeat <= %d, min_repeat_ms <= %d, "
                     "cooldown_interval_ms <= %d, repeats_to_cooldown >= 1, no negatives",
                     MAX_NUMBER, (int)most_repeat, MAX_MIN_REPEAT_MS, MAX_COOLDOWN_MS);
  }
  rc = TVMModGetFunction(args[0].v_handle, args[1].v_str, 0, &e.target);
  if (rc != 0) return rc; /* message says which function is missing */
  evaluator_t* slot = sweep(false);
  e.serial = evaluators.next_serial++;
  rc = utvm_closure_create(run_evaluator, slot, &e.handle);
  if (rc != 0) return rc;
  *slot = e;
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = e.handle}, kTVMPackedFuncHandle);
  return 0;
}

/* The platform timer's reading in units of 2^-30 s (about a nanosecond; 0 for none or a
 * negative one): the evaluator decides in integers, so that its only floating-point step is
 * the result's (no software double arithmetic on cores without an FPU). Units that are a
 * power of two make the conversion a shift of the double's mantissa: no libgcc helper. */
static uint64_t timer_stop_units(int* rc) {
  double seconds = 0;
  int stop_rc = TVMPlatformTimerStop(&seconds);
  if (*rc == 0) *rc = stop_rc; /* a failure before the stop is the one to report */
  /* The range checks on the bits (positive doubles order as their bits do): no soft-float
   * comparisons. Negative, zero and NaN readings are 0; 4e9 s and more (and +inf) the cap,
   * so a reading stays below 2^62 units. */
  uint64_t bits;
  memcpy(&bits, &seconds, sizeof(bits));
  if ((int64_t)bits <= 0 || bits > 0x7FF0000000000000ull) return 0;
  if ((uint32_t)(bits >> 32) >= 0x41EDCD65u) return 4000000000ull << 30; /* 4e9 s */
  /* seconds = mantissa * 2^(exponent - 1075), so units = mantissa * 2^(exponent - 1045),
   * and exponent - 1045 <= 9 below 2^32 s: the mantissa moved up by 10 only goes right. */
  uint64_t units = ((bits & 0xFFFFFFFFFFFFFull) | 1ull << 52) << 10;
  for (int shift = (int)(bits >> 52) - 1055; shift < 0 && units != 0; shift++) units >>= 1;
  return units;
}

/* Busy-waits `ms` with the platform timer (the platform layer has no sleep). A timer that
 * never advances ends the wait after a million empty readings instead of hanging. Forced
 * inline: GCC inlines its one call anyway, 4 bytes larger. */
__attribute__((always_inline)) static inline int cool_down(uint32_t ms) {
  uint64_t left = ms * (uint64_t)UNITS_PER_MS;
  for (uint32_t empty_readings = 0; empty_readings < 1000000u;) {
    int rc = TVMPlatformTimerStart();
    uint64_t slice = rc == 0 ? timer_stop_units(&rc) : 0;
    if (rc != 0) return rc;
    if (slice >= left) break;
    left -= slice;
    empty_readings += slice == 0;
  }
  return 0;
}

/* One timed batch of `number` calls; *units is its total time. */
static int timed_batch(const evaluator_t* e, TVMValue* args, int* codes, int num_args,
                       uint64_t* units) {
  TVMValue ret;
  int ret_code;
  int rc = TVMPlatformBeforeMeasurement();
  if (rc == 0) rc = TVMPlatformTimerStart();
  if (rc != 0) return rc;
  for (uint32_t j = 0; j < e->p[NUMBER] && rc == 0; j++) {
    rc = TVMFuncCall(e->target, args, codes, num_args, &ret, &ret_code);
  }
  *units = timer_stop_units(&rc); /* stop even after a failure */
  return rc != 0 ? rc : TVMPlatformAfterMeasurement();
}

static int measure(evaluator_t* e, TVMValue* args, int* codes, int num_args, double* results) {
  TVMValue ret;
  int ret_code;
  /* An untimed first call, as TVM does (it warms caches and lazy state). */
  int rc = TVMFuncCall(e->target, args, codes, num_args, &ret, &ret_code);
  uint64_t min_repeat = e->p[MIN_REPEAT_MS] * (uint64_t)UNITS_PER_MS;
  for (uint32_t i = 0; i < e->p[REPEAT] && rc == 0; i++) {
    uint64_t units = 0;
    uint32_t zero_readings = 0;
    for (;;) {
      rc = timed_batch(e, args, codes, num_args, &units);
      if (rc == 0 && units == 0) zero_readings++; /* a coarse (or broken) timer */
      /* A batch already at the largest number is what we get, long enough or not. */
      if (rc != 0 || units >= min_repeat || e->p[NUMBER] >= MAX_NUMBER ||
          zero_readings >= e->p[LIMIT_ZERO_TIME_ITERATIONS]) {
        break;
      }
      if (units > 0) {
        /* Too short: grow the batch towards min_repeat_ms (the grown number persists), by
         * 1.625 (about TVM's golden ratio) at least. units < min_repeat < 2^36 and
         * number <= 1e7, so the product stays far below 2^64. */
        uint32_t n = e->p[NUMBER];
        uint64_t a = min_repeat * n / units;
        uint32_t grown = n + (n >> 1) + (n >> 3); /* below 2^25: number <= 1e7 */
        if (a >= grown) grown = a >= MAX_NUMBER ? MAX_NUMBER : (uint32_t)a + 1;
        e->p[NUMBER] = grown >= MAX_NUMBER ? MAX_NUMBER : grown;
      }
    }
    if (rc != 0) break;
    if (units == 0) {
      /* Failed here, on the board: TVM's host takes whatever doubles come back (AutoTVM
       * would rank a 0 as the fastest configuration), so only an error reply reaches every
       * host as what it is, a timer that cannot measure. */
      rc = utvm_fail(kTvmErrorPlatformTimerBadState,
                     "the board's timer did not advance over %u calls (readings: %u): it "
                     "cannot measure them (a time of 0 would be no measurement)",
                     (unsigned)e->p[NUMBER], (unsigned)zero_readings);
      break;
    }
    /* Seconds per call, the one conversion back to what the host reads (number * 2^30 is
     * below 2^54, which a double holds exactly). */
    results[i] = (double)units / (double)((uint64_t)e->p[NUMBER] << 30);
    if (e->p[COOLDOWN_MS] > 0 && i % e->p[REPEATS_TO_COOLDOWN] == 0) {
      rc = cool_down(e->p[COOLDOWN_MS]);
    }
  }
  return rc;
}

static int run_evaluator(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* resource) {
  evaluator_t* e = resource;
  if (!is_live(e)) {
    return utvm_fail(kTvmErrorTimeEvaluatorBadHandle, "time evaluator replaced or freed");
  }
  int rc = utvm_rpc_check_generated_call(e->target, args, codes, num_args);
  if (rc != 0) return rc;
  /* The array and its doubles in one allocation (TVMByteArrayFree knows that layout). */
  TVMByteArray* result;
  size_t nbytes = sizeof(double) * e->p[REPEAT];
  rc = utvm_platform_alloc(sizeof(*result) + nbytes, (void**)&result);
  if (rc != 0) return utvm_fail(rc, "out of memory for the time evaluator's results");
  /* Little-endian doubles on the wire: the host unpacks them with struct "@d". */
  double* data = (double*)(result + 1);
  result->data = (const char*)data;
  result->size = nbytes;
  rc = measure(e, args, codes, num_args, data);
  if (rc != 0) {
    TVMByteArrayFree(result);
    return rc;
  }
  utvm_set_return(ret, ret_code, (TVMValue){.v_handle = result}, kTVMBytes);
  return 0;
}

void utvm_time_evaluator_init(size_t max_reply_packet) {
  evaluators.max_reply = max_reply_packet;
}
