/*
 * Loadable model code on Zephyr (CONFIG_UTVM_LOADABLE, utvm/loadable.h): Zephyr's LLEXT links
 * an uploaded ELF object against the symbols loadable_exports.c exports, and the object's
 * exported TVMSystemLibEntryPoint gives the module. The image is checked first, so a wrong,
 * truncated or hostile file gets a reply that says what is wrong and the board keeps serving.
 */
#include <string.h>
#include <tvm/runtime/crt/error_codes.h>
#include <utvm/error.h>
#include <utvm/loadable.h>
#include <zephyr/kernel.h>
#include <zephyr/llext/buf_loader.h>
#include <zephyr/llext/elf.h>
#include <zephyr/llext/llext.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/sys_heap.h>

LOG_MODULE_DECLARE(utvm, CONFIG_UTVM_LOG_LEVEL);

#if defined(CONFIG_ARM_MPU) && !defined(CONFIG_USERSPACE)
#error "CONFIG_UTVM_LOADABLE: the Arm MPU maps RAM execute-never, so loaded code would fault; " \
       "build with CONFIG_ARM_MPU=n (west utvm build --loadable does)"
#endif

/* ELF identification values (the ELF specification's; Zephyr's elf.h names only some). */
#define ELF_CLASS_INDEX 4
#define ELF_CLASS_32 1
#if defined(CONFIG_ARM)
#define MACHINE 40 /* EM_ARM */
#define MACHINE_NAME "Arm"
#elif defined(CONFIG_RISCV)
#define MACHINE 243 /* EM_RISCV */
#define MACHINE_NAME "RISC-V"
#endif

/* LLEXT's own heap (subsys/llext/llext_mem.c), for the leak check. */
extern struct k_heap llext_heap;

static struct llext* ext;

/* What LLEXT does not check before it trusts offsets: the ELF class, CPU, type, and that
 * every header and section lies inside the image. */
static int check_image(const uint8_t* image, size_t size) {
  elf_ehdr_t eh;
  if (size < sizeof(eh)) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "load_module: %u bytes are no ELF file (truncated?)", (unsigned)size);
  }
  memcpy(&eh, image, sizeof(eh));
  if (memcmp(eh.e_ident, "\177ELF", 4) != 0 || eh.e_ident[ELF_CLASS_INDEX] != ELF_CLASS_32) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "load_module: not a 32-bit ELF file; upload an .llext built with this "
                     "firmware's EDK");
  }
#ifdef MACHINE
  if (eh.e_machine != MACHINE) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "load_module: ELF for machine %u, this board runs " MACHINE_NAME
                     " code (machine %u)",
                     (unsigned)eh.e_machine, (unsigned)MACHINE);
  }
#endif
  if (eh.e_type != ET_REL) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "load_module: ELF type %u, a relocatable object (type 1) expected",
                     (unsigned)eh.e_type);
  }
  if (eh.e_shentsize != sizeof(elf_shdr_t) || eh.e_shnum == 0 || eh.e_shoff > size ||
      (size - eh.e_shoff) / sizeof(elf_shdr_t) < eh.e_shnum || eh.e_shstrndx >= eh.e_shnum) {
    return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                     "load_module: section table outside the %u-byte image (truncated?)",
                     (unsigned)size);
  }
  for (unsigned i = 0; i < eh.e_shnum; i++) {
    elf_shdr_t sh;
    memcpy(&sh, image + eh.e_shoff + i * sizeof(sh), sizeof(sh));
    if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL &&
        (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)) {
      return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                       "load_module: section %u lies outside the %u-byte image (truncated?)", i,
                       (unsigned)size);
    }
  }
  return 0;
}

static int load_error(int err) {
  switch (err) {
    case -ENOMEM:
      return utvm_fail(kTvmErrorPlatformNoMemory,
                       "load_module: the loader's heap (CONFIG_LLEXT_HEAP_SIZE=%d KiB) cannot "
                       "hold this model's code and data",
                       CONFIG_LLEXT_HEAP_SIZE);
    case -ENODATA:
      return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                       "load_module: the code calls a symbol this firmware does not export "
                       "(the board's console log names it)");
    default:
      return utvm_fail(kTvmErrorFunctionCallInvalidArg,
                       "load_module: LLEXT refused the file (error %d; the board's console "
                       "log says why)",
                       err);
  }
}

int utvm_loadable_port_load(const uint8_t* image, size_t size, const TVMModule** out) {
  int rc = check_image(image, size);
  if (rc != 0) return rc;
  utvm_loadable_port_unload();
  struct llext_buf_loader buf = LLEXT_BUF_LOADER(image, size);
  struct llext_load_param param = LLEXT_LOAD_PARAM_DEFAULT;
  int err = llext_load(&buf.loader, "utvm_model", &ext, &param);
  if (err != 0) {
    if (ext != NULL) llext_unload(&ext);
    ext = NULL;
    return load_error(err);
  }
  const TVMModule* (*entry)(void) = llext_find_sym(&ext->exp_tab, "TVMSystemLibEntryPoint");
  const TVMModule* mod = entry != NULL ? entry() : NULL;
  if (mod == NULL || mod->registry == NULL) {
    utvm_loadable_port_unload();
    return utvm_fail(kTvmErrorFunctionNameNotFound,
                     "load_module: the file exports no TVMSystemLibEntryPoint (build it with "
                     "utvm from a system-lib model)");
  }
  LOG_INF("loaded %u-byte model image (%u bytes of code and data)", (unsigned)size,
          (unsigned)ext->alloc_size);
  *out = mod;
  return 0;
}

void utvm_loadable_port_unload(void) {
  if (ext == NULL) return;
  llext_unload(&ext);
  ext = NULL;
}

size_t utvm_loadable_port_bytes_in_use(void) {
  struct sys_memory_stats stats;
  if (sys_heap_runtime_stats_get(&llext_heap.heap, &stats) != 0) return 0;
  return stats.allocated_bytes;
}
