/*
 * runtime.RPCTimeEvaluator (crt-abi doc section 4): times a module function on the device
 * and returns `repeat` doubles (mean seconds per call) as bytes. Each evaluator is a
 * closure (utvm_closure_create); at most UTVM_RPC_MAX_TIME_EVALUATORS live at once, the
 * oldest is replaced first.
 */
#ifndef UTVM_RPC_TIME_EVALUATOR_H_
#define UTVM_RPC_TIME_EVALUATOR_H_

#include <stddef.h>

/* Registers runtime.RPCTimeEvaluator; `max_reply_packet` bounds the results one call returns
 * (the largest RPC packet the server sends). */
int utvm_time_evaluator_register(size_t max_reply_packet);
/* Frees every evaluator (a new host session cannot know the old handles). */
void utvm_time_evaluators_release_all(void);

#endif /* UTVM_RPC_TIME_EVALUATOR_H_ */
