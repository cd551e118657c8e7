/* The AOT (interface-api=c) model of samples/aot_inference, built into this test by
 * utvm_add_model(), against TVM 0.18's own output for the same input. */
#include <math.h>
#include <string.h>
#include <utvm/memory.h>
#include <utvm/model.h>
#include <utvm/runtime.h>
#include <utvm/zephyr.h>
#include <zephyr/ztest.h>

UTVM_MODEL_DECLARE(model);

static const uint8_t model_input[] __aligned(16) = {
#include "model_input.inc"
};
static const uint8_t tvm_output[] __aligned(16) = {
#include "model_output.inc"
};

static void* fresh_runtime(void) {
  zassert_equal(utvm_zephyr_init(), 0, "%s", TVMGetLastError());
  return NULL;
}

ZTEST_SUITE(utvm_model, NULL, fresh_runtime, NULL, NULL, NULL);

ZTEST(utvm_model, test_tables_describe_the_model) {
  zassert_equal(utvm_model_model_num_inputs, 1);
  zassert_equal(utvm_model_model_num_outputs, 1);
  zassert_str_equal(utvm_model_model_inputs[0].name, "input");
  zassert_str_equal(utvm_model_model_inputs[0].dtype, "float32");
  zassert_equal(utvm_model_model_inputs[0].nbytes, sizeof(model_input));
  zassert_equal(utvm_model_model_outputs[0].nbytes, sizeof(tvm_output));
}

ZTEST(utvm_model, test_output_matches_tvm) {
  void* in = NULL;
  void* out = NULL;
  zassert_equal(utvm_data_alloc(sizeof(model_input), 16, &in), 0, "%s", TVMGetLastError());
  zassert_equal(utvm_data_alloc(sizeof(tvm_output), 16, &out), 0, "%s", TVMGetLastError());
  memcpy(in, model_input, sizeof(model_input));
  zassert_equal(utvm_model_model_run(&in, &out), 0, "%s", TVMGetLastError());
  const float* got = out;
  const float* want = (const float*)tvm_output;
  for (size_t i = 0; i < sizeof(tvm_output) / sizeof(float); i++) {
    /* Bit for bit with the same libm as TVM's reference run; expf of another C library may
     * round its last bit differently. */
    zassert_true(fabsf(got[i] - want[i]) <= 1e-6f, "output[%zu] = %.9g, TVM computed %.9g", i,
                 (double)got[i], (double)want[i]);
  }
  /* A second run on the same buffers gives the same answer (no state left behind). */
  float first[10];
  memcpy(first, out, sizeof(first));
  zassert_equal(utvm_model_model_run(&in, &out), 0);
  zassert_mem_equal(out, first, sizeof(first));
  zassert_equal(utvm_data_free(in), 0);
  zassert_equal(utvm_data_free(out), 0);
}
