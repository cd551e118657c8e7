/*
 * runtime.RPCTimeEvaluator (crt-abi doc section 4): times a module function on the device
 * and returns `repeat` doubles (mean seconds per call) as bytes. Each evaluator is a
 * closure (utvm_closure_create); at most UTVM_RPC_MAX_TIME_EVALUATORS live at once, the
 * oldest is replaced first.
 */
#ifndef UTVM_RPC_TIME_EVALUATOR_H_
#define UTVM_RPC_TIME_EVALUATOR_H_

#include <stddef.h>

#include <tvm/runtime/c_runtime_api.h>

/* The global's name and its packed function, which rpc_globals.c registers with its own
 * globals (one table, one loop) after utvm_time_evaluator_init. The type codes the function
 * takes sit with the name, so that it reaches both through one address. */
extern const struct utvm_time_evaluator_global {
  char name[sizeof("runtime.RPCTimeEvaluator")];
  uint8_t expected[13]; /* utvm_check_args' */
} utvm_time_evaluator_global;
int utvm_time_evaluator_create(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource);

/* Before registering: `max_reply_packet` bounds the results one call returns (the largest
 * RPC packet the server sends). */
void utvm_time_evaluator_init(size_t max_reply_packet);
/* Frees every evaluator (a new host session cannot know the old handles). */
void utvm_time_evaluators_release_all(void);

#endif /* UTVM_RPC_TIME_EVALUATOR_H_ */
