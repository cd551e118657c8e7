/* Packet-size negotiation, random_fill, and registering every server global (rpc_globals.h). */
#include "rpc_globals.h"

#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/registry.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>
#if UTVM_RPC_AOT_EXECUTOR
#include <utvm/aot_executor.h>
#endif
#if UTVM_RPC_GRAPH_EXECUTOR
#include <utvm/graph_executor.h>
#endif

#include "rpc_loadable.h"
#include "rpc_validate.h"
#include "server_state.h"
#include "time_evaluator.h"

static size_t capacity_now(void) {
  utvm_rpc_server_t* s = utvm_rpc_server_current();
  return s != NULL ? s->capacity : UTVM_RPC_MAX_PACKET_SIZE;
}

/* tvm.rpc.server.GetCRTMaxPacketSize() -> int: the largest RPC packet a host may send, which
 * TVM's host also uses to size copy chunks, hence its replies. TVM's host cannot receive
 * messages over 2048 bytes, so this never offers more; utvm.rpc.GetMaxPacketSize tells hosts
 * with bigger buffers the real limit. */
static int crt_max_packet_size(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource) {
  (void)args, (void)codes, (void)num_args, (void)resource;
  size_t message = capacity_now();
  if (message > UTVM_RPC_TVM_HOST_MAX_MESSAGE) message = UTVM_RPC_TVM_HOST_MAX_MESSAGE;
  utvm_set_return(ret, ret_code,
                  (TVMValue){.v_int64 = (int64_t)(message - UTVM_RPC_MESSAGE_OVERHEAD)},
                  kTVMArgInt);
  return 0;
}

/* utvm.rpc.GetMaxPacketSize() -> int: same meaning, without TVM's host limit. */
static int max_packet_size(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                           int* ret_code, void* resource) {
  (void)args, (void)codes, (void)num_args, (void)resource;
  utvm_set_return(ret, ret_code,
                  (TVMValue){.v_int64 = (int64_t)(capacity_now() - UTVM_RPC_MESSAGE_OVERHEAD)},
                  kTVMArgInt);
  return 0;
}

/* tvm.contrib.random.random_fill(tensor): random bytes in every byte of the tensor, as TVM's
 * device does (AutoTVM fills inputs with it). */
static int random_fill(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                       void* resource) {
  (void)ret, (void)ret_code, (void)resource;
  static const int expected[] = {kTVMDLTensorHandle};
  int rc = utvm_check_args("random_fill", codes, num_args, 1, expected);
  const DLTensor* t = args[0].v_handle;
  size_t nbytes;
  if (rc == 0) rc = utvm_rpc_check_tensor_arg(t, &nbytes);
  if (rc == 0) rc = TVMPlatformGenerateRandom((uint8_t*)t->data + t->byte_offset, nbytes);
  return rc;
}

int utvm_rpc_register_globals(void) {
  int rc = utvm_time_evaluator_register();
  if (rc == 0) {
    rc = TVMFuncRegisterGlobal("tvm.rpc.server.GetCRTMaxPacketSize",
                               (TVMFunctionHandle)crt_max_packet_size, 1);
  }
  if (rc == 0) {
    rc = TVMFuncRegisterGlobal("tvm.contrib.random.random_fill", (TVMFunctionHandle)random_fill,
                               1);
  }
#if UTVM_RPC_AOT_EXECUTOR
  if (rc == 0) rc = utvm_aot_executor_module_register();
#endif
#if UTVM_RPC_GRAPH_EXECUTOR
  if (rc == 0) rc = utvm_graph_executor_module_register();
#endif
  if (rc == 0) {
    rc = TVMFuncRegisterGlobal("utvm.rpc.GetMaxPacketSize", (TVMFunctionHandle)max_packet_size, 1);
  }
#if UTVM_RPC_LOADABLE
  if (rc == 0) rc = utvm_rpc_loadable_register();
#endif
  return rc;
}
