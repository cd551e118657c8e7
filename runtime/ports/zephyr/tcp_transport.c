/*
 * TCP link of the RPC server (rpc_link.h, CONFIG_UTVM_RPC_TCP): a listening IPv4 socket on
 * CONFIG_UTVM_RPC_TCP_PORT, one host connection at a time. A new connection replaces the one
 * before (a host that vanished without closing must not lock the next one out), and the
 * server starts afresh on it, as on a board that just booted.
 *
 * The bytes are the same framed session stream as on a UART; TCP only carries them faster
 * (the host's uploads of model code, in particular).
 */
#include <errno.h>
#include <zephyr/logging/log.h>
#include <zephyr/net/net_if.h>
#include <zephyr/net/socket.h>

#include "rpc_link.h"

LOG_MODULE_DECLARE(utvm, CONFIG_UTVM_LOG_LEVEL);

static int listener = -1;
static int connection = -1;

static void drop_connection(void) {
  if (connection >= 0) {
    zsock_close(connection);
    connection = -1;
  }
}

int utvm_rpc_link_open(void) {
#if CONFIG_UTVM_RPC_TCP_IFACE_MTU > 0
  struct net_if* iface = net_if_get_default();
  if (iface != NULL) net_if_set_mtu(iface, CONFIG_UTVM_RPC_TCP_IFACE_MTU);
#endif
  listener = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (listener < 0) {
    LOG_ERR("RPC link: no TCP socket (%d): is networking configured?", errno);
    return -errno;
  }
  struct sockaddr_in any = {
      .sin_family = AF_INET,
      .sin_port = htons(CONFIG_UTVM_RPC_TCP_PORT),
      .sin_addr = {.s_addr = htonl(INADDR_ANY)},
  };
  if (zsock_bind(listener, (struct sockaddr*)&any, sizeof(any)) < 0 ||
      zsock_listen(listener, 1) < 0) {
    int rc = -errno;
    LOG_ERR("RPC link: cannot listen on TCP port %d (%d)", CONFIG_UTVM_RPC_TCP_PORT, rc);
    zsock_close(listener);
    listener = -1;
    return rc;
  }
  LOG_INF("RPC link: TCP port %d, one host at a time", CONFIG_UTVM_RPC_TCP_PORT);
  return 0;
}

int utvm_rpc_link_wait_host(void) {
  drop_connection();
  for (;;) {
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof(peer);
    int accepted = zsock_accept(listener, (struct sockaddr*)&peer, &peer_len);
    if (accepted < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      return -errno;
    }
    /* Replies are small and the host waits for each: send them at once (no Nagle delay). */
    int on = 1;
    (void)zsock_setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    connection = accepted;
    char address[NET_IPV4_ADDR_LEN];
    LOG_INF("RPC host connected from %s",
            zsock_inet_ntop(AF_INET, &peer.sin_addr, address, sizeof(address)));
    return 0;
  }
}

/* A host waiting to connect while this one is silent: the newer one wins (the old host has
 * most likely gone without closing, which TCP alone would notice only much later). */
static bool newer_host_waiting(void) {
  struct zsock_pollfd fd = {.fd = listener, .events = ZSOCK_POLLIN};
  return zsock_poll(&fd, 1, 0) > 0 && (fd.revents & ZSOCK_POLLIN);
}

int utvm_rpc_link_read(uint8_t* buf, size_t max, k_timeout_t timeout) {
  if (connection < 0) return -ENOTCONN;
  if (max == 0) return 0;
  struct zsock_pollfd fds[2] = {
      {.fd = connection, .events = ZSOCK_POLLIN},
      {.fd = listener, .events = ZSOCK_POLLIN},
  };
  int wait_ms = K_TIMEOUT_EQ(timeout, K_FOREVER) ? -1 : (int)k_ticks_to_ms_ceil32(timeout.ticks);
  int ready = zsock_poll(fds, 2, wait_ms);
  if (ready < 0) return -errno;
  if (ready == 0) return 0;
  if (!(fds[0].revents & (ZSOCK_POLLIN | ZSOCK_POLLHUP | ZSOCK_POLLERR))) {
    /* Only the listener: a new host. */
    if (newer_host_waiting()) {
      LOG_INF("RPC: a new host connects; closing the silent one");
      drop_connection();
      return -ENOTCONN;
    }
    return 0;
  }
  ssize_t got = zsock_recv(connection, buf, max, 0);
  if (got > 0) return (int)got;
  if (got == 0 || errno == ECONNRESET || errno == ENOTCONN) {
    drop_connection();
    return -ENOTCONN;
  }
  return -errno;
}

int utvm_rpc_link_write(void* ctx, const uint8_t* data, size_t len) {
  ARG_UNUSED(ctx);
  if (connection < 0) return -ENOTCONN;
  size_t sent = 0;
  while (sent < len) {
    ssize_t n = zsock_send(connection, data + sent, len - sent, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    sent += (size_t)n;
  }
  return (int)len;
}
