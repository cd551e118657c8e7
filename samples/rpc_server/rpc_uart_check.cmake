# Included after find_package(Zephyr) by this sample and by the Project API's generated
# projects (which build this sample's main.c with its board overlays).
# QEMU multiplexes its monitor onto the console UART (byte 0x01 is the monitor's escape), so
# binary RPC frames cannot go there: say so now, not after the build. (RPC over TCP,
# CONFIG_UTVM_RPC_TCP, uses no UART.)
if(CONFIG_QEMU_TARGET AND NOT CONFIG_UTVM_RPC_TCP)
  dt_chosen(rpc_uart PROPERTY "zephyr,utvm-uart")
  dt_chosen(console_uart PROPERTY "zephyr,console")
  if(NOT rpc_uart OR rpc_uart STREQUAL console_uart)
    message(FATAL_ERROR "rpc_server: on ${BOARD}${BOARD_QUALIFIERS} RPC would use the console "
                        "UART, which QEMU shares with its monitor. Give RPC the board's second "
                        "UART: add boards/${NORMALIZED_BOARD_TARGET}.overlay to the app choosing "
                        "zephyr,utvm-uart = &uart1, and a boards/${NORMALIZED_BOARD_TARGET}.conf "
                        "that turns the console back on, as utvm's samples/rpc_server/boards/ "
                        "does for qemu_cortex_m3 and mps2/an385.")
  endif()
endif()
