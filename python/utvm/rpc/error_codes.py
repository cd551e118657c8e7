"""Names of the C runtime's error codes (``tvm_crt_error_t``, crt-abi doc §5).

A board built without error messages (``CONFIG_UTVM_ERROR_MESSAGES=n``,
``UTVM_ERROR_MESSAGES=0``) answers a failed request with only ``error 0x<code>``, and one
whose messages travel by reference sends ``error 0x<code> #<id> ...`` (utvm.rpc.messages);
where no firmware ELF expands that, the host names the code so the user still learns what
failed.
"""

from __future__ import annotations

import re

# code -> (name, what it means to someone driving a board)
CRT_ERRORS: dict[int, tuple[str, str]] = {
    0x100: ("kTvmErrorFunctionNameNotFound", "no function of that name"),
    0x101: ("kTvmErrorFunctionIndexInvalid", "invalid function handle or index"),
    0x102: ("kTvmErrorFunctionRegistryFull", "function registry full"),
    0x103: ("kTvmErrorFunctionAlreadyDefined", "function already registered"),
    0x104: ("kTvmErrorBufferTooSmall", "buffer too small"),
    0x200: ("kTvmErrorFramingInvalidState", "framing state corrupted"),
    0x201: ("kTvmErrorFramingShortPacket", "packet cut off by a new one"),
    0x202: ("kTvmErrorFramingInvalidEscape", "invalid escape sequence"),
    0x203: ("kTvmErrorFramingPayloadOverflow", "more payload than announced"),
    0x204: ("kTvmErrorFramingPayloadIncomplete", "less payload than announced"),
    0x300: ("kTvmErrorWriteStreamShortWrite", "short write"),
    0x301: ("kTvmErrorWriteStreamLongWrite", "long write"),
    0x400: ("kTvmErrorSessionInvalidState", "session in an invalid state"),
    0x401: ("kTvmErrorSessionReceiveBufferBusy", "receive buffer busy"),
    0x402: ("kTvmErrorSessionReceiveBufferShortWrite", "receive buffer short write"),
    0x500: ("kTvmErrorPlatformCheckFailure", "platform check failed"),
    0x501: ("kTvmErrorPlatformMemoryManagerInitialized", "memory manager already set up"),
    0x502: ("kTvmErrorPlatformShutdown", "platform shut down"),
    0x503: ("kTvmErrorPlatformNoMemory", "out of memory on the device"),
    0x504: ("kTvmErrorPlatformTimerBadState", "timer started or stopped out of turn"),
    0x505: ("kTvmErrorPlatformStackAllocBadFree", "workspace freed out of order"),
    0x600: ("kTvmErrorGeneratedInvalidStorageId", "invalid storage id in generated code"),
    0x700: ("kTvmErrorExecutorModuleAlreadyCreated", "executor already created"),
    0x701: ("kTvmErrorExecutorModuleBadContext", "executor used in a bad context"),
    0x702: ("kTvmErrorExecutorModuleNoSuchInput", "no such input"),
    0x800: ("kTvmErrorFunctionCallNumArguments", "wrong number of arguments"),
    0x801: ("kTvmErrorFunctionCallWrongArgType", "argument of the wrong type"),
    0x802: ("kTvmErrorFunctionCallNotImplemented", "not implemented"),
    0x803: ("kTvmErrorFunctionCallInvalidArg", "invalid argument (handle, pointer or size)"),
    0x900: ("kTvmErrorTimeEvaluatorBadHandle", "time evaluator replaced or freed"),
}

_CODE_ONLY = re.compile(r"error 0x([0-9a-fA-F]{1,8})")
_REFERENCE = re.compile(r"error 0x([0-9a-f]{1,8}) #([0-9a-f]{8})\b.*", re.S)


def explain(message: str) -> str:
    """``message`` with its code named when it is only ``error 0x<code>``, or a message
    sent by reference that no firmware ELF expanded (utvm.rpc.messages)."""
    stripped = message.strip()
    match = _CODE_ONLY.fullmatch(stripped)
    if match:
        return (f"{stripped} ({_name(match.group(1))}; the board gave only the code, as it "
                "does when built with UTVM_ERROR_MESSAGES=0)")
    match = _REFERENCE.fullmatch(stripped)
    if match:
        return (f"{stripped} ({_name(match.group(1))}; message #{match.group(2)} is in the "
                "firmware's ELF: run through utvm with the build (or `utvm decode --elf "
                "<firmware> '<this text>'`) to read it)")
    return message


def _name(hex_code: str) -> str:
    name, meaning = CRT_ERRORS.get(int(hex_code, 16),
                                   ("an application-specific code", "see the board's code"))
    return f"{name}: {meaning}"
