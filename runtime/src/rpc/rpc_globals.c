/* Packet-size negotiation, random_fill, registering every server global, and releasing what
 * a host made (rpc_globals.h). */
#include "rpc_globals.h"

#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/memory.h>
#include <utvm/ndarray.h>
#include <utvm/registry.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>
#if UTVM_RPC_AOT_EXECUTOR
#include <utvm/aot_executor.h>
#endif
#if UTVM_RPC_GRAPH_EXECUTOR
#include <utvm/graph_executor.h>
#endif

#include "rpc_executors.h"
#include "rpc_loadable.h"
#include "rpc_validate.h"
#include "time_evaluator.h"

/* TVM 0.18's host receives each message into a 2048-byte buffer, of which an RPC packet gets
 * all but the session header (3) and the packet length (8). */
#define TVM_HOST_MAX_RPC_PACKET (2048 - 11)

/* The largest RPC packet the running server takes and sends (given at registration, so that
 * nothing here reaches back into the server). */
static size_t max_rpc_packet;

/* tvm.rpc.server.GetCRTMaxPacketSize() -> int: the largest RPC packet a host may send, which
 * TVM's host also uses to size copy chunks, hence its replies. TVM's host cannot receive
 * messages over 2048 bytes, so this never offers more; utvm.rpc.GetMaxPacketSize tells hosts
 * with bigger buffers the real limit. */
static int crt_max_packet_size(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                               int* ret_code, void* resource) {
  (void)args, (void)codes, (void)num_args, (void)resource;
  size_t packet = max_rpc_packet < TVM_HOST_MAX_RPC_PACKET ? max_rpc_packet
                                                           : TVM_HOST_MAX_RPC_PACKET;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = (int64_t)packet}, kTVMArgInt);
  return 0;
}

/* utvm.rpc.GetMaxPacketSize() -> int: same meaning, without TVM's host limit. */
static int max_packet_size(TVMValue* args, int* codes, int num_args, TVMValue* ret,
                           int* ret_code, void* resource) {
  (void)args, (void)codes, (void)num_args, (void)resource;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = (int64_t)max_rpc_packet}, kTVMArgInt);
  return 0;
}

/* The global's name (argument messages name it without its namespace: one string for both)
 * and the type codes random_fill expects, in one constant: one address for both. */
static const struct {
  char name[sizeof("tvm.contrib.random.random_fill")];
  uint8_t expected[2];
} kRandomFill = {"tvm.contrib.random.random_fill", {1, kTVMDLTensorHandle}};

/* tvm.contrib.random.random_fill(tensor): random bytes in every byte of the tensor, as TVM's
 * device does (AutoTVM fills inputs with it). */
static int random_fill(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                       void* resource) {
  (void)ret, (void)ret_code, (void)resource;
  int rc = utvm_check_args(kRandomFill.name + sizeof("tvm.contrib.random.") - 1, codes,
                           num_args, kRandomFill.expected);
  const DLTensor* t = args[0].v_handle;
  size_t nbytes;
  if (rc == 0) rc = utvm_rpc_check_tensor_arg(t, &nbytes);
  if (rc == 0) rc = TVMPlatformGenerateRandom((uint8_t*)t->data + t->byte_offset, nbytes);
  return rc;
}

void utvm_rpc_release_host_state(void) {
  utvm_time_evaluators_release_all();
  utvm_rpc_release_executors();
  utvm_ndarray_drop_host_refs();
  utvm_data_free_all_host_owned();
}

/* The globals registered here (the time evaluator's and the executors' too), by one loop.
 * Their order is that of their handles (a host looks them up by name). */
static const struct {
  const char* name;
  TVMBackendPackedCFunc fn;
} kGlobals[] = {
    {utvm_time_evaluator_global.name, utvm_time_evaluator_create},
    {"tvm.rpc.server.GetCRTMaxPacketSize", crt_max_packet_size},
    {kRandomFill.name, random_fill},
    {"utvm.rpc.GetMaxPacketSize", max_packet_size},
#if UTVM_RPC_AOT_EXECUTOR
    {utvm_aot_executor_global.name, utvm_aot_executor_module_create},
#endif
#if UTVM_RPC_GRAPH_EXECUTOR
    {utvm_graph_executor_global.name, utvm_graph_executor_module_create},
#endif
};

int utvm_rpc_register_globals(size_t max_packet) {
  max_rpc_packet = max_packet;
  utvm_time_evaluator_init(max_packet);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof(kGlobals) / sizeof(kGlobals[0]); i++) {
    rc = TVMFuncRegisterGlobal(kGlobals[i].name, (TVMFunctionHandle)kGlobals[i].fn, 1);
  }
#if UTVM_RPC_LOADABLE
  if (rc == 0) rc = utvm_rpc_loadable_register();
#endif
  return rc;
}
