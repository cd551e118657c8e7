/*
 * utvm_host_board: a host program that behaves like a microTVM device. It runs the utvm
 * runtime and RPC server with one model compiled in, and speaks the wire protocol
 *   - over stdin/stdout (binary, unbuffered): the default, for a host that spawns it;
 *   - over a pseudo-terminal with --pty: the PTY's path goes to stderr as
 *     "utvm_host_board: pty <path>", for hosts that open serial ports.
 * It exits 0 at end of input or when the host sends kShutdown (a real device reboots then),
 * and 1 on errors, with a message on stderr.
 */
#define _DEFAULT_SOURCE /* cfmakeraw */
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <utvm/rpc_server.h>
#include <utvm/runtime.h>

#ifndef UTVM_HOST_BOARD_HEAP_BYTES
#define UTVM_HOST_BOARD_HEAP_BYTES (64u * 1024u * 1024u)
#endif

static _Alignas(64) unsigned char heap[UTVM_HOST_BOARD_HEAP_BYTES];
static uint8_t rx_buf[UTVM_RPC_MAX_PACKET_SIZE];

typedef struct {
  int in_fd;
  int out_fd;
} channel_t;

static int fail(const char* what) {
  fprintf(stderr, "utvm_host_board: %s: %s\n", what, errno != 0 ? strerror(errno) : TVMGetLastError());
  return 1;
}

static int write_to_channel(void* ctx, const uint8_t* data, size_t len) {
  const channel_t* ch = ctx;
  for (;;) {
    ssize_t n = write(ch->out_fd, data, len);
    if (n >= 0) return (int)n;
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

/* A raw PTY: no echo, no line editing, no byte translation. */
static int open_pty(channel_t* ch, int* slave_fd) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return -1;
  const char* path = ptsname(master);
  if (path == NULL) return -1;
  /* Keeping the slave open here means reads see no hang-up before a host connects. */
  *slave_fd = open(path, O_RDWR | O_NOCTTY);
  if (*slave_fd < 0) return -1;
  struct termios tio;
  if (tcgetattr(*slave_fd, &tio) != 0) return -1;
  cfmakeraw(&tio);
  if (tcsetattr(*slave_fd, TCSANOW, &tio) != 0) return -1;
  fprintf(stderr, "utvm_host_board: pty %s\n", path);
  fflush(stderr);
  ch->in_fd = master;
  ch->out_fd = master;
  return 0;
}

/* utvm.host_board.MemoryInUse() -> int: bytes of the runtime heap in use, for tests that
 * check what a host session leaves behind. */
static int memory_in_use(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                         void* resource) {
  (void)args, (void)codes, (void)num_args, (void)resource;
  utvm_set_return(ret, ret_code, (TVMValue){.v_int64 = (int64_t)utvm_heap_bytes_in_use()},
                  kTVMArgInt);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: utvm_host_board [--pty]\n");
  return 2;
}

int main(int argc, char** argv) {
  bool use_pty = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--pty") == 0) {
      use_pty = true;
    } else {
      return usage();
    }
  }
  signal(SIGPIPE, SIG_IGN); /* a closed host shows up as a write error instead */
  channel_t ch = {STDIN_FILENO, STDOUT_FILENO};
  int slave_fd = -1;
  errno = 0;
  if (use_pty && open_pty(&ch, &slave_fd) != 0) return fail("cannot open a PTY");
  errno = 0;
  if (utvm_heap_init(heap, sizeof(heap)) != 0 || TVMInitializeRuntime() != 0) {
    return fail("runtime start-up failed");
  }
  utvm_rpc_server_t* server = utvm_rpc_server_init(rx_buf, sizeof(rx_buf), write_to_channel, &ch);
  if (server == NULL) return fail("RPC server start-up failed");
  if (TVMFuncRegisterGlobal("utvm.host_board.MemoryInUse", (TVMFunctionHandle)memory_in_use, 1) != 0) {
    return fail("cannot register utvm.host_board.MemoryInUse");
  }
  TVMLogf("utvm host board - running");
  /* Large reads: a big request arrives in a few syscalls instead of one per 4 KiB. */
  static uint8_t buf[1u << 16];
  for (;;) {
    ssize_t n = read(ch.in_fd, buf, sizeof(buf));
    if (n == 0) return 0; /* the host closed the stream */
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == EIO && use_pty) return 0; /* PTY hung up */
      return fail("read failed");
    }
    const uint8_t* p = buf;
    size_t len = (size_t)n;
    int rc = utvm_rpc_server_feed(server, &p, &len);
    if (rc == kTvmErrorPlatformShutdown) return 0;
    if (rc != 0) {
      errno = 0;
      fprintf(stderr, "utvm_host_board: a reply could not be written (error %d)\n", rc);
    }
  }
}
