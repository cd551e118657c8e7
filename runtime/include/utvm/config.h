/*
 * Compile-time limits of the utvm runtime. Every value can be overridden with
 * -D on the compiler command line (the Zephyr module maps Kconfig UTVM_* onto them).
 */
#ifndef UTVM_CONFIG_H_
#define UTVM_CONFIG_H_

/* Largest tensor rank accepted anywhere (graph JSON, params, RPC). At most 24 on 64-bit
 * hosts and 25 on 32-bit targets: the graph reader keeps an entry's size, which holds the
 * shape, in a byte (a larger value fails to compile in graph_parse.c). */
#ifndef UTVM_MAX_NDIM
#define UTVM_MAX_NDIM 6
#endif

/* Most arguments a packed call made by the runtime may carry (AOT run, graph ops). */
#ifndef UTVM_MAX_ARGS
#define UTVM_MAX_ARGS 32
#endif

/* Module slots: the system library plus executors. */
#ifndef UTVM_MAX_MODULES
#define UTVM_MAX_MODULES 4
#endif

/* Global function slots (runtime.SystemLib, executors' create, RPC helpers, ...). */
#ifndef UTVM_MAX_GLOBAL_FUNCS
#define UTVM_MAX_GLOBAL_FUNCS 16
#endif

/* Functions bound at run time, e.g. time evaluators the host creates. */
#ifndef UTVM_MAX_CLOSURES
#define UTVM_MAX_CLOSURES 4
#endif

/* Longest function, node or parameter name, including the NUL. */
#ifndef UTVM_MAX_NAME_LEN
#define UTVM_MAX_NAME_LEN 128
#endif

/* Size of the buffer that keeps the last error message. */
#ifndef UTVM_ERROR_MESSAGE_SIZE
#define UTVM_ERROR_MESSAGE_SIZE 256
#endif

/* 1: errors carry a message (TVMGetLastError, RPC exceptions). 0: only the error code. */
#ifndef UTVM_ERROR_MESSAGES
#define UTVM_ERROR_MESSAGES 1
#endif

/* With messages, 1 keeps their text on the device and formats it there (a console reads it
 * as it is); 0, the default, keeps only a reference to each message plus its arguments and
 * leaves the text in a section of the ELF that is not loaded: the host expands it
 * (python/utvm/rpc/messages.py), at nearly the size of bare codes. */
#ifndef UTVM_ERROR_MESSAGE_TEXT
#define UTVM_ERROR_MESSAGE_TEXT 0
#endif

/* Alignment of tensor data and workspaces (generated code assumes 64 would be nice; 16 is required). */
#ifndef UTVM_DATA_ALIGNMENT
#define UTVM_DATA_ALIGNMENT 16
#endif

/* Page size of the page allocator, as log2 (256-byte pages by default). */
#ifndef UTVM_PAGE_SIZE_LOG2
#define UTVM_PAGE_SIZE_LOG2 8
#endif

/* 1: the RPC server takes model code at run time (tvm.rpc.server.upload / load_module,
 * utvm/loadable.h); needs a port that can link code (Zephyr's LLEXT). */
#ifndef UTVM_RPC_LOADABLE
#define UTVM_RPC_LOADABLE 0
#endif

/* Bytes the upload store holds: the largest image tvm.rpc.server.upload accepts. */
#ifndef UTVM_LOADABLE_STORE_SIZE
#define UTVM_LOADABLE_STORE_SIZE 65536
#endif

/* 1 (with UTVM_RPC_LOADABLE): runtime.SystemLib returns the loaded module while one is
 * loaded, so a host that asks every session for the system library (TVM's AutoTVM) measures
 * the code loaded last. */
#ifndef UTVM_LOADABLE_SYSTEM_LIB
#define UTVM_LOADABLE_SYSTEM_LIB 0
#endif

#endif /* UTVM_CONFIG_H_ */
