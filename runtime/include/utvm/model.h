/*
 * Models built with the C interface (interface-api=c, unpacked-api=1): tables that
 * utvm_add_model() generates, so an application can run any such model generically.
 * An application may equally call tvmgen_<module>_run() directly; nothing else needs
 * setting up (USMP pools are static in the generated code).
 */
#ifndef UTVM_MODEL_H_
#define UTVM_MODEL_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char* name;  /* as in the generated struct */
  const char* dtype; /* from metadata.json, "" when unknown */
  size_t nbytes;
} utvm_model_tensor_t;

/* Declares the tables of the model utvm_add_model(... NAME <name>) added. */
#define UTVM_MODEL_DECLARE(name)                                                    \
  extern const utvm_model_tensor_t utvm_model_##name##_inputs[];                    \
  extern const int utvm_model_##name##_num_inputs;                                  \
  extern const utvm_model_tensor_t utvm_model_##name##_outputs[];                   \
  extern const int utvm_model_##name##_num_outputs;                                 \
  int32_t utvm_model_##name##_run(void* const* inputs, void* const* outputs)

#ifdef __cplusplus
}
#endif
#endif /* UTVM_MODEL_H_ */
