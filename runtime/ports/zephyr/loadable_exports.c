/*
 * What code loaded at run time may call in the firmware (CONFIG_UTVM_LOADABLE): exactly what
 * TVM 0.18's generated C calls, nothing else. A loaded file that needs anything more is
 * refused with "calls a symbol this firmware does not export".
 */
#include <math.h>
#include <string.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/platform.h>
#include <zephyr/llext/symbol.h>

/* The C runtime API generated code uses: workspaces, errors, calls through the registry. */
EXPORT_SYMBOL(TVMBackendAllocWorkspace);
EXPORT_SYMBOL(TVMBackendFreeWorkspace);
EXPORT_SYMBOL(TVMBackendGetFuncFromEnv);
EXPORT_SYMBOL(TVMBackendRegisterSystemLibSymbol);
EXPORT_SYMBOL(TVMBackendParallelLaunch);
EXPORT_SYMBOL(TVMBackendParallelBarrier);
EXPORT_SYMBOL(TVMAPISetLastError);
EXPORT_SYMBOL(TVMFuncCall);
EXPORT_SYMBOL(TVMPlatformMemoryAllocate);
EXPORT_SYMBOL(TVMPlatformMemoryFree);
EXPORT_SYMBOL(TVMPlatformAbort);

/* The C library generated code uses (the compiler also emits memset/memcpy itself). */
EXPORT_SYMBOL(memset);
EXPORT_SYMBOL(memcpy);
EXPORT_SYMBOL(memmove);
EXPORT_SYMBOL(expf);
EXPORT_SYMBOL(roundf);
EXPORT_SYMBOL(logf);
EXPORT_SYMBOL(sqrtf);
EXPORT_SYMBOL(tanhf);
EXPORT_SYMBOL(powf);
EXPORT_SYMBOL(floorf);
EXPORT_SYMBOL(ceilf);
EXPORT_SYMBOL(fabsf);
EXPORT_SYMBOL(erff);
EXPORT_SYMBOL(exp);
EXPORT_SYMBOL(round);

#if defined(CONFIG_ARM)
/* The Arm run-time ABI helpers GCC calls for arithmetic the core lacks: single and double
 * floating point without an FPU, 64-bit division and shifts. Declared by name only: callers
 * never see their prototypes. */
#define UTVM_EXPORT_AEABI(name)                                                                   \
  extern void name(void);                                                                       \
  EXPORT_SYMBOL(name)
UTVM_EXPORT_AEABI(__aeabi_ldivmod);
UTVM_EXPORT_AEABI(__aeabi_uldivmod);
UTVM_EXPORT_AEABI(__aeabi_llsl);
UTVM_EXPORT_AEABI(__aeabi_llsr);
UTVM_EXPORT_AEABI(__aeabi_lasr);
UTVM_EXPORT_AEABI(__aeabi_lmul);
UTVM_EXPORT_AEABI(__aeabi_idiv);
UTVM_EXPORT_AEABI(__aeabi_uidiv);
UTVM_EXPORT_AEABI(__aeabi_idivmod);
UTVM_EXPORT_AEABI(__aeabi_uidivmod);
#if !defined(CONFIG_FPU)
UTVM_EXPORT_AEABI(__aeabi_fadd);
UTVM_EXPORT_AEABI(__aeabi_fsub);
UTVM_EXPORT_AEABI(__aeabi_frsub);
UTVM_EXPORT_AEABI(__aeabi_fmul);
UTVM_EXPORT_AEABI(__aeabi_fdiv);
UTVM_EXPORT_AEABI(__aeabi_fcmpeq);
UTVM_EXPORT_AEABI(__aeabi_fcmplt);
UTVM_EXPORT_AEABI(__aeabi_fcmple);
UTVM_EXPORT_AEABI(__aeabi_fcmpgt);
UTVM_EXPORT_AEABI(__aeabi_fcmpge);
UTVM_EXPORT_AEABI(__aeabi_fcmpun);
UTVM_EXPORT_AEABI(__aeabi_i2f);
UTVM_EXPORT_AEABI(__aeabi_ui2f);
UTVM_EXPORT_AEABI(__aeabi_l2f);
UTVM_EXPORT_AEABI(__aeabi_f2iz);
UTVM_EXPORT_AEABI(__aeabi_f2uiz);
UTVM_EXPORT_AEABI(__aeabi_f2lz);
UTVM_EXPORT_AEABI(__aeabi_f2d);
#endif
UTVM_EXPORT_AEABI(__aeabi_d2f);
UTVM_EXPORT_AEABI(__aeabi_dadd);
UTVM_EXPORT_AEABI(__aeabi_dsub);
UTVM_EXPORT_AEABI(__aeabi_dmul);
UTVM_EXPORT_AEABI(__aeabi_ddiv);
UTVM_EXPORT_AEABI(__aeabi_dcmplt);
UTVM_EXPORT_AEABI(__aeabi_dcmpgt);
UTVM_EXPORT_AEABI(__aeabi_i2d);
UTVM_EXPORT_AEABI(__aeabi_d2iz);
#endif
