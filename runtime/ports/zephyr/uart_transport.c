/*
 * UART link of the RPC server (rpc_link.h, CONFIG_UTVM_RPC_UART).
 *
 * Interrupt mode: the ISR moves bytes from the UART FIFO into a ring buffer and wakes the
 * server thread; the thread takes them out under a spinlock held only for the copy, so
 * interrupts are never locked while a request (a model run can take seconds) executes.
 * When the ring buffer is full the ISR pauses reception instead of dropping bytes; the
 * thread resumes it once there is room again. While the host is active (bytes within
 * CONFIG_UTVM_RPC_UART_POLL_ACTIVE_MS) the thread checks the ring buffer without idling.
 *
 * Polling mode (drivers with only the polling API, e.g. simulated pseudo-terminal UARTs): the
 * thread reads what the UART has; when it had nothing it busy-waits
 * CONFIG_UTVM_RPC_UART_POLL_INTERVAL_US while the host is active, else sleeps a tick.
 */
#include "rpc_link.h"

#include <errno.h>
#include <zephyr/device.h>
#include <zephyr/devicetree.h>
#include <zephyr/drivers/uart.h>
#include <zephyr/logging/log.h>
#include <zephyr/spinlock.h>
#include <zephyr/sys/ring_buffer.h>
#include <zephyr/sys_clock.h>

LOG_MODULE_DECLARE(utvm, CONFIG_UTVM_LOG_LEVEL);

#if DT_HAS_CHOSEN(zephyr_utvm_uart)
#define UTVM_UART_NODE DT_CHOSEN(zephyr_utvm_uart)
#elif DT_HAS_CHOSEN(zephyr_console)
#define UTVM_UART_NODE DT_CHOSEN(zephyr_console)
#if defined(CONFIG_UART_CONSOLE)
#error "utvm: the RPC UART falls back to zephyr,console, which CONFIG_UART_CONSOLE also writes to \
and would corrupt RPC frames. Set CONFIG_UART_CONSOLE=n, or choose another UART for RPC with \
`chosen { zephyr,utvm-uart = &uartN; };` in a devicetree overlay."
#endif
#else
#error "utvm: no UART for the RPC server. Add `chosen { zephyr,utvm-uart = &uartN; };` to a \
devicetree overlay (or give the board a zephyr,console), or set CONFIG_UTVM_RPC_UART=n."
#endif

static const struct device* const uart = DEVICE_DT_GET(UTVM_UART_NODE);
static bool interrupt_driven;

int utvm_rpc_link_write(void* ctx, const uint8_t* data, size_t len) {
  ARG_UNUSED(ctx);
  for (size_t i = 0; i < len; i++) uart_poll_out(uart, data[i]);
  return (int)len;
}

/* ---- Host activity ---- */

/* Cycle count of the last byte received: while a host is mid-session the thread checks for
 * more without sleeping (a sleep lasts at least one kernel tick, often 10 ms), and only after
 * CONFIG_UTVM_RPC_UART_POLL_ACTIVE_MS of silence does it wait idle. */
static uint32_t last_rx_cycles;

static bool host_recently_active(void) {
  uint32_t idle = k_cycle_get_32() - last_rx_cycles; /* wraps harmlessly for short windows */
  return k_cyc_to_ms_floor32(idle) < CONFIG_UTVM_RPC_UART_POLL_ACTIVE_MS;
}

/* ---- Polling ---- */

static int read_polling(uint8_t* buf, size_t max, k_timeout_t timeout) {
  k_timepoint_t end = sys_timepoint_calc(timeout);
  for (;;) {
    size_t n = 0;
    while (n < max) {
      int rc = uart_poll_in(uart, &buf[n]);
      if (rc == 0) {
        n++;
      } else if (rc == -1) {
        break; /* nothing (more) received */
      } else {
        return rc;
      }
    }
    if (n > 0) {
      last_rx_cycles = k_cycle_get_32();
      return (int)n;
    }
    if (sys_timepoint_expired(end)) return 0;
    if (host_recently_active()) {
      k_busy_wait(CONFIG_UTVM_RPC_UART_POLL_INTERVAL_US);
      k_yield();
    } else {
      k_sleep(K_TICKS(1));
    }
  }
}

/* ---- Interrupts ---- */

#if defined(CONFIG_UART_INTERRUPT_DRIVEN) && !defined(CONFIG_UTVM_RPC_UART_MODE_POLLING)
#define UTVM_UART_IRQ 1

RING_BUF_DECLARE(rx_ring, CONFIG_UTVM_RPC_UART_RX_BUFFER_SIZE);
static K_SEM_DEFINE(rx_ready, 0, 1);
static struct k_spinlock rx_lock;
static bool rx_paused;

static void uart_isr(const struct device* dev, void* user_data) {
  ARG_UNUSED(user_data);
  if (!uart_irq_update(dev)) return;
  bool received = false;
  while (uart_irq_rx_ready(dev)) {
    uint8_t* dst;
    k_spinlock_key_t key = k_spin_lock(&rx_lock);
    uint32_t room = ring_buf_put_claim(&rx_ring, &dst, CONFIG_UTVM_RPC_UART_RX_BUFFER_SIZE);
    if (room == 0) {
      /* Full: leave the bytes in the UART (flow control, if any, holds the host) until the
       * thread has made room. */
      uart_irq_rx_disable(dev);
      rx_paused = true;
      k_spin_unlock(&rx_lock, key);
      break;
    }
    int n = uart_fifo_read(dev, dst, (int)room);
    ring_buf_put_finish(&rx_ring, n > 0 ? (uint32_t)n : 0);
    k_spin_unlock(&rx_lock, key);
    if (n <= 0) break;
    received = true;
  }
  if (received) k_sem_give(&rx_ready);
}

/* Enables reception interrupts, then takes what the UART already holds: some UARTs (Arm's
 * CMSDK UART, for one) raise the RX interrupt only for bytes that arrive while it
 * is enabled, so a byte received before (the host talking while the board boots, or while
 * reception was paused) would sit there, and hold every later byte back, for good.
 * Call with rx_lock held. */
static void rx_enable_locked(void) {
  uart_irq_rx_enable(uart);
  bool received = false;
  uint8_t byte;
  while (ring_buf_space_get(&rx_ring) > 0 && uart_poll_in(uart, &byte) == 0) {
    ring_buf_put(&rx_ring, &byte, 1);
    received = true;
  }
  if (received) k_sem_give(&rx_ready);
}

static int read_interrupts(uint8_t* buf, size_t max, k_timeout_t timeout) {
  k_timepoint_t end = sys_timepoint_calc(timeout);
  for (;;) {
    k_spinlock_key_t key = k_spin_lock(&rx_lock);
    uint32_t n = ring_buf_get(&rx_ring, buf, (uint32_t)max);
    if (rx_paused && ring_buf_space_get(&rx_ring) > 0) {
      rx_paused = false;
      rx_enable_locked();
      if (n == 0) n = ring_buf_get(&rx_ring, buf, (uint32_t)max);
    }
    k_spin_unlock(&rx_lock, key);
    if (n > 0) {
      last_rx_cycles = k_cycle_get_32();
      return (int)n;
    }
    if (host_recently_active() && !sys_timepoint_expired(end)) {
      /* Mid-session: stay awake rather than idle until the next interrupt; waking from idle
       * can take up to a tick on some targets (emulators in particular). */
      k_busy_wait(CONFIG_UTVM_RPC_UART_POLL_INTERVAL_US);
      k_yield();
      continue;
    }
    if (k_sem_take(&rx_ready, sys_timepoint_timeout(end)) != 0) return 0;
  }
}

static bool start_interrupts(void) {
  int rc = uart_irq_callback_user_data_set(uart, uart_isr, NULL);
  if (rc != 0) {
    LOG_DBG("%s has no interrupt API (%d): polling", uart->name, rc);
    return false;
  }
  k_spinlock_key_t key = k_spin_lock(&rx_lock);
  rx_enable_locked();
  k_spin_unlock(&rx_lock, key);
  return true;
}
#endif

int utvm_rpc_link_open(void) {
  if (!device_is_ready(uart)) {
    LOG_ERR("RPC UART %s is not ready", uart->name);
    return -ENODEV;
  }
#if defined(UTVM_UART_IRQ)
  interrupt_driven = start_interrupts();
#endif
  LOG_INF("RPC link: %s, %s reception", uart->name,
          interrupt_driven ? "interrupt-driven" : "polled");
  return 0;
}

/* The host is whoever talks on the UART: a session starts with its first frame. */
int utvm_rpc_link_wait_host(void) { return 0; }

int utvm_rpc_link_read(uint8_t* buf, size_t max, k_timeout_t timeout) {
  if (max == 0) return 0;
#if defined(UTVM_UART_IRQ)
  if (interrupt_driven) return read_interrupts(buf, max, timeout);
#endif
  return read_polling(buf, max, timeout);
}
