/*
 * One TFLite Micro inference on an input built into the image, timed like
 * samples/aot_inference (mean of TIMED_RUNS, the board's cycle counter; under QEMU with
 * -icount shift=0 that counter counts instructions), then compared with the expected output.
 */
#include <zephyr/kernel.h>
#include <zephyr/sys/printk.h>

#include <cstring>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace {

constexpr int kTimedRuns = 10;

alignas(16) const unsigned char model_data[] = {
#include "model.inc"
};
const unsigned char input_data[] = {
#include "input.inc"
};
#ifdef TFLM_HAS_EXPECTED
const unsigned char expected_data[] = {
#include "expected.inc"
};
#endif

alignas(16) uint8_t arena[TFLM_ARENA_SIZE];

#define TFLM_OP(name) +1
constexpr int kOpCount = 0
#include "ops.inc"
    ;
#undef TFLM_OP

/* Bytes from the first that differ, and the largest difference for 8-bit tensors. */
void compare(const TfLiteTensor* out, const unsigned char* expected, size_t size) {
  if (out->bytes != size) {
    printk("expected output 0: %zu bytes built in, the model gives %zu\n", size, out->bytes);
    return;
  }
  if (memcmp(out->data.raw, expected, size) == 0) {
    printk("expected output 0: bit-exact\n");
    return;
  }
  int max_diff = 0;
  for (size_t i = 0; i < size; i++) {
    int got = out->type == kTfLiteInt8 ? static_cast<int8_t>(out->data.raw[i])
                                       : static_cast<uint8_t>(out->data.raw[i]);
    int want = out->type == kTfLiteInt8 ? static_cast<int8_t>(expected[i]) : expected[i];
    int diff = got > want ? got - want : want - got;
    max_diff = diff > max_diff ? diff : max_diff;
  }
  printk("expected output 0: max abs diff %d\n", max_diff);
}

bool run() {
  const tflite::Model* model = tflite::GetModel(model_data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    printk("error: model schema %u, this TFLite Micro reads %d\n",
           static_cast<unsigned>(model->version()), TFLITE_SCHEMA_VERSION);
    return false;
  }
  static tflite::MicroMutableOpResolver<kOpCount> resolver;
#define TFLM_OP(name)                                 \
  if (resolver.Add##name() != kTfLiteOk) {            \
    printk("error: cannot register " #name "\n");     \
    return false;                                     \
  }
#include "ops.inc"
#undef TFLM_OP

  static tflite::MicroInterpreter interpreter(model, resolver, arena, sizeof(arena));
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    printk("error: AllocateTensors failed (raise TFLM_ARENA_SIZE, now %d)\n", TFLM_ARENA_SIZE);
    return false;
  }
  printk("arena used: %zu of %d bytes\n", interpreter.arena_used_bytes(), TFLM_ARENA_SIZE);
  TfLiteTensor* in = interpreter.input(0);
  if (in->bytes != sizeof(input_data)) {
    printk("error: built-in input has %zu bytes, the model's needs %zu\n", sizeof(input_data),
           in->bytes);
    return false;
  }

  /* The planner may reuse the input's memory once it is consumed: copy it before each run,
   * outside the timed interval. */
  uint32_t total = 0;
  for (int r = 0; r <= kTimedRuns; r++) {
    memcpy(in->data.raw, input_data, sizeof(input_data));
    uint32_t start = k_cycle_get_32();
    if (interpreter.Invoke() != kTfLiteOk) {
      printk("error: Invoke failed\n");
      return false;
    }
    if (r > 0) { /* run 0 is the warm-up, as aot_inference's untimed first run */
      total += k_cycle_get_32() - start;
    }
  }
  uint32_t per_run = total / kTimedRuns;
  printk("cycles per inference: %u (%llu us at %u Hz, mean of %d runs)\n", per_run,
         static_cast<unsigned long long>(k_cyc_to_us_floor64(per_run)),
         sys_clock_hw_cycles_per_sec(), kTimedRuns);

  const TfLiteTensor* out = interpreter.output(0);
  printk("output[0] %zu bytes:", out->bytes);
  for (size_t i = 0; i < out->bytes && i < 16; i++) {
    printk(" %02x", out->data.uint8[i]);
  }
  printk("\n");
#ifdef TFLM_HAS_EXPECTED
  compare(out, expected_data, sizeof(expected_data));
#endif
  return true;
}

}  // namespace

int main(void) {
  printk("tflm_reference: %s\n", run() ? "PASS" : "FAIL");
  return 0;
}
