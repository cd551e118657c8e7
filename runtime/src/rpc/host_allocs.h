/*
 * The data allocations a host made with DevAllocData / DevAllocDataWithScope. Only these
 * may be freed with DevFreeData (an executor's tensors may not), and a new session frees
 * whatever the previous host left behind, so reconnecting hosts do not exhaust the heap.
 * The table grows on the heap as needed; it is touched only by those requests.
 */
#ifndef UTVM_RPC_HOST_ALLOCS_H_
#define UTVM_RPC_HOST_ALLOCS_H_

#include <stdbool.h>
#include <stddef.h>

/* Remembers ptr (already allocated); fails with a message only when out of memory. */
int utvm_host_allocs_add(void* ptr);
/* True (and forgotten) when ptr was allocated for the host. */
bool utvm_host_allocs_remove(void* ptr);
/* Frees every remembered allocation and the table itself. */
void utvm_host_allocs_release_all(void);
size_t utvm_host_allocs_count(void);

#endif /* UTVM_RPC_HOST_ALLOCS_H_ */
