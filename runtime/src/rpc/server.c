/* The server's entry points: start-up, feeding received bytes through framing, session and
 * dispatch, what it reports (utvm/rpc_server.h), and TVMLogf. */
#include <stdarg.h>
#include <string.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/error.h>
#include <utvm/rpc_server.h>

#include "rpc_dispatch.h"
#include "rpc_globals.h"
#include "server_state.h"

_Static_assert(UTVM_RPC_MAX_PACKET_SIZE >= UTVM_RPC_MIN_PACKET_SIZE,
               "UTVM_RPC_MAX_PACKET_SIZE must be at least UTVM_RPC_MIN_PACKET_SIZE (128)");

static utvm_rpc_server_t server;

utvm_rpc_server_t* utvm_rpc_server_init(uint8_t* rx_buf, size_t rx_size, utvm_rpc_write_fn write,
                                        void* write_ctx) {
  server.ready = false;
  uint8_t seed; /* set when it is used: TVMPlatformGenerateRandom succeeded */
  int rc = kTvmErrorBufferTooSmall;
  if (rx_buf != NULL && write != NULL && rx_size >= UTVM_RPC_MIN_PACKET_SIZE) {
    rc = TVMPlatformGenerateRandom(&seed, 1); /* the session nonce needs it */
  }
  if (rc != 0) {
    utvm_fail(rc, "needs a writer, receive buffer >= " UTVM_RPC_STR(UTVM_RPC_MIN_PACKET_SIZE)
              " and random bytes");
    return NULL;
  }
  size_t max_rpc_packet =
      (rx_size < UTVM_RPC_MAX_PACKET_SIZE ? rx_size : UTVM_RPC_MAX_PACKET_SIZE) -
      UTVM_RPC_MESSAGE_OVERHEAD;
  rc = utvm_rpc_register_globals(max_rpc_packet);
  if (rc != 0) return NULL; /* the registry said why */
  memset(&server, 0, sizeof(server));
  server.max_rpc_packet = max_rpc_packet;
  utvm_framer_init(&server.framer, write, write_ctx);
  utvm_unframer_init(&server.unframer, rx_buf, max_rpc_packet + UTVM_RPC_MESSAGE_OVERHEAD);
  server.ready = true;
  /* Announce the (re)boot: a host in a session learns it is gone. */
  utvm_session_init(&server.session, &server.framer, seed);
  return &server;
}

static void on_frame(utvm_rpc_server_t* s) {
  utvm_unframer_t* u = &s->unframer;
  size_t stored = utvm_unframer_overflow(u) ? u->capacity : u->frame_len;
  switch (utvm_session_receive(&s->session, u->buf, stored, u->frame_len)) {
    case UTVM_SESSION_STARTED:
      s->stats.sessions_started++;
      utvm_rpc_release_host_state();
      break;
    case UTVM_SESSION_TERMINATED:
      utvm_rpc_release_host_state();
      break;
    case UTVM_SESSION_DROPPED:
      s->stats.messages_dropped++;
      break;
    case UTVM_SESSION_RPC:
      utvm_rpc_dispatch(s, u->buf + UTVM_SESSION_HEADER_BYTES, stored - UTVM_SESSION_HEADER_BYTES,
                        u->frame_len - UTVM_SESSION_HEADER_BYTES);
      break;
    default:
      break;
  }
}

int utvm_rpc_server_feed(utvm_rpc_server_t* s, const uint8_t** bytes, size_t* len) {
  /* Not before init, and not from inside a request (a called function polling the link). */
  if (s == NULL || !s->ready || s->feeding) return kTvmErrorSessionInvalidState;
  s->feeding = true;
  s->write_error = 0;
  while (*len > 0 && !s->shutdown) {
    utvm_unframer_event_t ev = utvm_unframer_feed(&s->unframer, bytes, len);
    if (ev == UTVM_UNFRAMER_FRAME) {
      s->stats.frames_received++;
      if (utvm_unframer_overflow(&s->unframer)) s->stats.oversize_frames++;
      on_frame(s);
    } else if (ev == UTVM_UNFRAMER_BAD_CRC) {
      s->stats.crc_errors++;
    } else if (ev != UTVM_UNFRAMER_NEED_MORE) { /* a short frame or an invalid escape */
      s->stats.framing_errors++;
    }
  }
  s->feeding = false;
  if (s->shutdown) {
    utvm_rpc_release_host_state();
    /* Like TVM's device after kShutdown: the caller reboots or restarts the server. */
    return kTvmErrorPlatformShutdown;
  }
  return s->write_error;
}

size_t utvm_rpc_server_max_rpc_packet(const utvm_rpc_server_t* s) {
  return s->max_rpc_packet;
}

bool utvm_rpc_server_session_established(const utvm_rpc_server_t* s) {
  return s->session.established;
}

void utvm_rpc_server_get_stats(const utvm_rpc_server_t* s, utvm_rpc_server_stats_t* out) {
  memcpy(out, &s->stats, sizeof(*out)); /* a word loop: smaller than the assignment's copy */
}

/* Log lines travel to the host as session Log messages, as on TVM's devices. Defined here, so
 * that linking the server links it (it overrides a port's weak default). */
void TVMLogf(const char* fmt, ...) {
  /* Not before the server runs, and never inside a frame being written (a log line from the
   * transport's write function, say): the line is dropped rather than corrupt the frame. */
  if (!server.ready || utvm_framer_busy(&server.framer)) return;
  char line[UTVM_RPC_LOG_SIZE];
  va_list args;
  va_start(args, fmt);
  size_t n = TVMPlatformFormatMessage(line, sizeof(line), fmt, args);
  va_end(args);
  char* end = line + (n < sizeof(line) ? n : sizeof(line) - 1);
  if (end != line && end[-1] == '\n') end--; /* the host adds its own line break */
  if (end == line) return;                   /* hosts ignore empty logs */
  utvm_session_send_log(&server.session, line, (size_t)(end - line));
}
