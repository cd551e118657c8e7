/* The server's state, shared by its files. There is one server per program. */
#ifndef UTVM_RPC_SERVER_STATE_H_
#define UTVM_RPC_SERVER_STATE_H_

#include <stdbool.h>
#include <stddef.h>
#include <utvm/rpc_server.h>

#include "framer.h"
#include "rpc_args.h"
#include "session.h"
#include "unframer.h"

/* Session header (3) + RPC length prefix (8): what a message carries besides an RPC packet. */
#define UTVM_RPC_MESSAGE_OVERHEAD 11

/* Small, often used fields first: Thumb code reaches them with short instructions. The
 * session leads, so that its address is the server's (no second address to load). */
struct utvm_rpc_server {
  utvm_session_t session;
  bool ready;
  bool shutdown;     /* the host sent kShutdown */
  bool feeding;      /* inside utvm_rpc_server_feed (it is not re-entrant) */
  size_t measured;   /* bytes of a reply being sized, not sent (rpc_reply.c); 0 otherwise */
  size_t max_rpc_packet; /* largest RPC packet (packet_nbytes) in either direction */
  int write_error;   /* first transport error since the last feed() */
  utvm_rpc_server_stats_t stats;
  utvm_unframer_t unframer;
  utvm_framer_t framer;
  utvm_rpc_args_t args;
};

#endif /* UTVM_RPC_SERVER_STATE_H_ */
