/* Internal hooks between core files: resetting state at (re)initialisation. */
#ifndef UTVM_CORE_RUNTIME_STATE_H_
#define UTVM_CORE_RUNTIME_STATE_H_

#include <stdint.h>
#include <tvm/runtime/c_runtime_api.h>

void utvm_registry_reset(void);
void utvm_ndarray_reset(void);
void utvm_data_reset(void);

#endif /* UTVM_CORE_RUNTIME_STATE_H_ */
