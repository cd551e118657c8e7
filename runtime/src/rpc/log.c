/* TVMLogf: log lines travel to the host as session Log messages, as on TVM's devices. */
#include <stdarg.h>
#include <tvm/runtime/crt/platform.h>
#include <utvm/runtime.h>

#include "server_state.h"

/* Called by server.c only so that linking the server links this TVMLogf, which overrides a
 * port's weak default. */
void utvm_rpc_log_attach(void) {}

void TVMLogf(const char* fmt, ...) {
  utvm_rpc_server_t* s = utvm_rpc_server_current();
  /* Not before the server runs, and never inside a frame being written (a log line from the
   * transport's write function, say): the line is dropped rather than corrupt the frame. */
  if (s == NULL || utvm_framer_busy(&s->framer)) return;
  char line[UTVM_RPC_LOG_SIZE];
  va_list args;
  va_start(args, fmt);
  size_t n = TVMPlatformFormatMessage(line, sizeof(line), fmt, args);
  va_end(args);
  if (n >= sizeof(line)) n = sizeof(line) - 1;
  if (n > 0 && line[n - 1] == '\n') n--; /* the host adds its own line break */
  if (n == 0) return;                    /* hosts ignore empty logs */
  utvm_session_send_log(&s->session, line, n);
}
