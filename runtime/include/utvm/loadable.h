/*
 * Loadable model code: what the RPC server's tvm.rpc.server.upload / load_module
 * (runtime/src/rpc/rpc_loadable.c) need from a port that can link code at run time
 * (runtime/ports/zephyr/loadable.c: Zephyr's LLEXT). Built only with UTVM_RPC_LOADABLE=1.
 *
 * One image is loaded at a time: loading another unloads the previous one first.
 */
#ifndef UTVM_LOADABLE_H_
#define UTVM_LOADABLE_H_

#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/crt/module.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Links the image (an ELF object built against the firmware's exports) and returns the
 * system library it defines (its TVMSystemLibEntryPoint). The image may be overwritten once
 * this returns. Fails with a tvm_crt_error_t and a message (utvm_fail) saying why: not an
 * ELF for this CPU, truncated, an unresolved symbol, no room. */
int utvm_loadable_port_load(const uint8_t* image, size_t size, const TVMModule** out);

/* Unloads the image loaded last, if any; its code and data are gone afterwards. */
void utvm_loadable_port_unload(void);

/* Bytes the port's loader holds now (0 when nothing is loaded and nothing leaked). */
size_t utvm_loadable_port_bytes_in_use(void);

#ifdef __cplusplus
}
#endif
#endif /* UTVM_LOADABLE_H_ */
