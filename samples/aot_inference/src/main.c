/*
 * Standalone AOT inference: runs the model utvm_add_model() linked in (interface-api=c) on
 * the built-in input, prints its outputs and the cycles per inference, and compares the
 * outputs with the built-in expected ones.
 */
#include <math.h>
#include <string.h>
#include <utvm/memory.h>
#include <utvm/model.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/kernel.h>
#include <zephyr/sys/printk.h>

#include "tensors.h"

#if defined(CONFIG_UTVM_SAMPLE_EXIT) && defined(CONFIG_ARCH_POSIX)
#include <posix_board_if.h>
#elif defined(CONFIG_UTVM_SAMPLE_EXIT) && defined(CONFIG_SEMIHOST)
#include <zephyr/arch/common/semihost.h>
/* Arm semihosting SYS_EXIT and its two stop reasons (QEMU exits with 0 and 1 for them). */
#define SEMIHOST_SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR 0x20023
#endif

UTVM_MODEL_DECLARE(model);

#define MAX_TENSORS 16
#define TIMED_RUNS 10
#define PRINTED_VALUES 16
/* Float outputs may differ from TVM's x86 result in the last bits where libm differs (expf). */
#define FLOAT_TOLERANCE 1e-6

static void print_values(const utvm_model_tensor_t* t, const void* data) {
  if (strcmp(t->dtype, "float32") == 0) {
    const float* v = data;
    size_t n = t->nbytes / sizeof(float);
    for (size_t i = 0; i < n && i < PRINTED_VALUES; i++) printk(" %.6f", (double)v[i]);
    if (n > PRINTED_VALUES) printk(" ... (%zu values)", n);
  } else if (strcmp(t->dtype, "int8") == 0 || strcmp(t->dtype, "uint8") == 0) {
    bool is_signed = t->dtype[0] == 'i';
    const uint8_t* v = data;
    for (size_t i = 0; i < t->nbytes && i < PRINTED_VALUES; i++) {
      printk(" %d", is_signed ? (int)(int8_t)v[i] : (int)v[i]);
    }
    if (t->nbytes > PRINTED_VALUES) printk(" ... (%zu values)", t->nbytes);
  } else {
    printk(" (%zu bytes of %s)", t->nbytes, t->dtype[0] ? t->dtype : "unknown dtype");
  }
  printk("\n");
}

/* True when the output matches: bit for bit, or within FLOAT_TOLERANCE for float32. */
static bool check_output(int index, const utvm_model_tensor_t* t, const void* actual) {
  const sample_tensor_t* expected = &sample_expected[index];
  if (expected->nbytes != t->nbytes) {
    printk("expected output %d: %zu bytes given, the model's output has %zu\n", index,
           expected->nbytes, t->nbytes);
    return false;
  }
  if (memcmp(actual, expected->data, t->nbytes) == 0) {
    printk("expected output %d: bit-exact\n", index);
    return true;
  }
  if (strcmp(t->dtype, "float32") == 0) {
    const float* a = actual;
    const float* e = (const float*)expected->data;
    double worst = 0;
    for (size_t i = 0; i < t->nbytes / sizeof(float); i++) {
      double d = fabs((double)a[i] - (double)e[i]);
      if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    }
    bool ok = worst <= FLOAT_TOLERANCE;
    printk("expected output %d: max abs diff %.3e %s tolerance %.1e\n", index, worst,
           ok ? "within" : "OUTSIDE", FLOAT_TOLERANCE);
    return ok;
  }
  size_t differing = 0;
  for (size_t i = 0; i < t->nbytes; i++) {
    differing += ((const uint8_t*)actual)[i] != expected->data[i];
  }
  printk("expected output %d: %zu of %zu bytes differ\n", index, differing, t->nbytes);
  return false;
}

/* Gives every input and output a buffer in the runtime's memory; copies the inputs in. */
static bool prepare(void** inputs, void** outputs) {
  if (sample_num_inputs != utvm_model_model_num_inputs) {
    printk("error: %d built-in inputs for a model with %d inputs (set UTVM_INPUTS)\n",
           sample_num_inputs, utvm_model_model_num_inputs);
    return false;
  }
  if (utvm_model_model_num_inputs > MAX_TENSORS || utvm_model_model_num_outputs > MAX_TENSORS) {
    printk("error: the sample handles at most %d inputs and outputs\n", MAX_TENSORS);
    return false;
  }
  for (int i = 0; i < utvm_model_model_num_inputs; i++) {
    const utvm_model_tensor_t* t = &utvm_model_model_inputs[i];
    if (sample_inputs[i].nbytes != t->nbytes) {
      printk("error: built-in input %d has %zu bytes, model input %s needs %zu\n", i,
             sample_inputs[i].nbytes, t->name, t->nbytes);
      return false;
    }
    if (utvm_data_alloc(t->nbytes, UTVM_DATA_ALIGNMENT, &inputs[i]) != 0) {
      printk("error: input %s: %s (raise CONFIG_UTVM_ARENA_SIZE)\n", t->name, TVMGetLastError());
      return false;
    }
    memcpy(inputs[i], sample_inputs[i].data, t->nbytes);
  }
  for (int i = 0; i < utvm_model_model_num_outputs; i++) {
    const utvm_model_tensor_t* t = &utvm_model_model_outputs[i];
    if (utvm_data_alloc(t->nbytes, UTVM_DATA_ALIGNMENT, &outputs[i]) != 0) {
      printk("error: output %s: %s (raise CONFIG_UTVM_ARENA_SIZE)\n", t->name, TVMGetLastError());
      return false;
    }
  }
  return true;
}

static bool run_and_report(void) {
  void* inputs[MAX_TENSORS];
  void* outputs[MAX_TENSORS];
  printk("utvm aot_inference: model with %d input(s), %d output(s)\n",
         utvm_model_model_num_inputs, utvm_model_model_num_outputs);
  if (!prepare(inputs, outputs)) return false;

  int32_t status = utvm_model_model_run(inputs, outputs);
  if (status != 0) {
    printk("error: tvmgen run returned %d: %s\n", (int)status, TVMGetLastError());
    return false;
  }
  for (int i = 0; i < utvm_model_model_num_outputs; i++) {
    const utvm_model_tensor_t* t = &utvm_model_model_outputs[i];
    printk("output[%d] %s %s[%zu bytes]:", i, t->name, t->dtype, t->nbytes);
    print_values(t, outputs[i]);
  }

  uint32_t start = k_cycle_get_32();
  for (int r = 0; r < TIMED_RUNS; r++) utvm_model_model_run(inputs, outputs);
  uint32_t per_run = (k_cycle_get_32() - start) / TIMED_RUNS;
  printk("cycles per inference: %u (%llu us at %u Hz, mean of %d runs)\n", per_run,
         (unsigned long long)k_cyc_to_us_floor64(per_run), sys_clock_hw_cycles_per_sec(),
         TIMED_RUNS);
#if defined(CONFIG_ARCH_POSIX)
  /* Simulated time advances only when the simulated CPU idles, never during computation. */
  printk("note: simulated time stands still while code runs, so this counts no cycles\n");
#elif defined(CONFIG_QEMU_TARGET)
  /* With -icount the clock follows instructions (west utvm: shift=0, 1 ns per instruction). */
  printk("note: QEMU's clock counts instructions, not cycles, when it runs with -icount\n");
#endif

  bool ok = true;
  if (sample_num_expected == 0) {
    printk("no expected outputs built in: nothing to compare\n");
  } else if (sample_num_expected != utvm_model_model_num_outputs) {
    printk("error: %d expected outputs built in for %d model outputs\n", sample_num_expected,
           utvm_model_model_num_outputs);
    ok = false;
  } else {
    for (int i = 0; i < utvm_model_model_num_outputs; i++) {
      ok = check_output(i, &utvm_model_model_outputs[i], outputs[i]) && ok;
    }
  }
  return ok;
}

/* Ends a simulated board with the result's status, so scripts and CI can use it. */
static void exit_with(bool ok) {
#if defined(CONFIG_UTVM_SAMPLE_EXIT) && defined(CONFIG_ARCH_POSIX)
  posix_exit(ok ? 0 : 1);
#elif defined(CONFIG_UTVM_SAMPLE_EXIT) && defined(CONFIG_SEMIHOST)
  /* On AArch32 SYS_EXIT takes the stop reason itself, not a pointer to it. */
  uintptr_t reason = ok ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR;
  (void)semihost_exec((enum semihost_instr)SEMIHOST_SYS_EXIT, (void*)reason);
#else
  ARG_UNUSED(ok);
#endif
}

int main(void) {
  bool ok = utvm_zephyr_init() == 0 && run_and_report();
  printk("aot_inference: %s\n", ok ? "PASS" : "FAIL");
  exit_with(ok);
  return 0;
}
