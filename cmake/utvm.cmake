# utvm CMake helpers for applications.
#
#   include(<utvm>/cmake/utvm.cmake)
#   utvm_add_model(<target> MLF <dir or .tar> [NAME <name>] [MODULE <module>])
#
# Adds a Model Library Format's generated C sources and include paths to <target>,
# after checking the MLF. The MLF is read by the host package (python/utvm, module
# utvm.mlf.describe, run with the Python CMake finds; it needs PyYAML and pykwalify, which
# Zephyr requires anyway), the same reader as `utvm info` and `utvm run`: every MLF version
# they accept works here. MODULE picks one module of a multi-module MLF.
# Sets, in the caller's scope, UTVM_MODEL_<NAME>_<KEY> for every value the describe step
# writes (python/utvm/mlf/describe.py), among them:
#   UTVM_MODEL_<NAME>_DIR        the MLF directory (extracted when a tar was given)
#   UTVM_MODEL_<NAME>_EXECUTOR   aot or graph
#   UTVM_MODEL_<NAME>_INTERFACE  c (tvmgen_<mod>_run with structs) or packed
#   UTVM_MODEL_<NAME>_MODULE     the model's module name (tvmgen_<module>_*)
#   UTVM_MODEL_<NAME>_MLF_VERSION  the MLF's version (5, 6 or 7)
#   UTVM_MODEL_<NAME>_GRAPH      graph JSON path (graph executor; empty otherwise)
#   UTVM_MODEL_<NAME>_PARAMS     parameters file path
#   UTVM_MODEL_<NAME>_SOURCES    the generated C sources; _GENERATED_SOURCES what it added
#   UTVM_MODEL_<NAME>_CMSIS_NN_USED  TRUE when the generated code calls CMSIS-NN; then
#                                _CMSIS_NN_GROUPS, _PATHS, ... say how it is built for it
# For the C interface it also generates a small table of the model's inputs and outputs,
# declared in <utvm/model.h>: utvm_model_<NAME>_inputs[], _outputs[], _run(). <NAME>
# defaults to the model's module name ("default" for TVM's default).
# For a model with a system library it generates the table of its operators' signatures
# (<utvm/signatures.h>), which the runtime checks host calls into generated code against.
#
#   utvm_tensor_bytes(<file> <out_var>)
#
# Gives the raw little-endian bytes of one tensor file (.npy converted, anything else taken
# as raw bytes already), for applications that embed inputs or expected outputs.

set(UTVM_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})
# The Zephyr module includes this file from its own directory and the application calls
# utvm_add_model() from another one, which does not see that variable: cache it too.
set(UTVM_CMAKE_DIR ${UTVM_CMAKE_DIR} CACHE INTERNAL "utvm's cmake/ folder")

# The message may come in several strings (long lines): they are joined.
function(_utvm_fail model msg)
  string(JOIN "" text "${msg}" ${ARGN})
  message(FATAL_ERROR "utvm_add_model(${model}): ${text}")
endfunction()

# Finds the Python that runs utvm.mlf.describe: Zephyr's (it sets Python3_EXECUTABLE), the one
# the caller names, or the first Python 3 on the system.
function(_utvm_python target out_var)
  if(NOT Python3_EXECUTABLE)
    find_package(Python3 3.10 COMPONENTS Interpreter QUIET)
  endif()
  if(NOT Python3_EXECUTABLE)
    _utvm_fail(${target} "needs Python 3.10 or newer with PyYAML and pykwalify to read the "
                         "model: install it, or give it with -DPython3_EXECUTABLE=<python>")
  endif()
  set(${out_var} ${Python3_EXECUTABLE} PARENT_SCOPE)
endfunction()

# Reads the MLF the way the host package does (utvm.mlf.describe, one reader for CMake and the
# `utvm` command) and includes what it wrote: UTVM_DESCRIBED_* variables, generated C files.
function(_utvm_describe target mlf name module out_dir)
  _utvm_python(${target} python)
  set(args --mlf ${mlf} --out-dir ${out_dir})
  if(name)
    list(APPEND args --name ${name})
  endif()
  if(module)
    list(APPEND args --module ${module})
  endif()
  _utvm_cmsis_nn_args(cmsis_nn_args)
  list(APPEND args ${cmsis_nn_args})
  execute_process(
    COMMAND ${python} ${UTVM_CMAKE_DIR}/utvm_describe.py ${args}
    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  if(NOT status EQUAL 0)
    string(STRIP "${errors}" errors)
    string(REGEX REPLACE "^error: " "" errors "${errors}")
    _utvm_fail(${target} "${errors}")
  endif()
  include(${out_dir}/model.cmake)
  set(UTVM_DESCRIBED_VARIABLES ${UTVM_DESCRIBED_VARIABLES} PARENT_SCOPE)
  foreach(var IN LISTS UTVM_DESCRIBED_VARIABLES)
    set(UTVM_DESCRIBED_${var} "${UTVM_DESCRIBED_${var}}" PARENT_SCOPE)
  endforeach()
  # Configure again when what the step reads changes (a tar; a folder's metadata, interface
  # header and Relay text).
  set(depends ${mlf})
  if(IS_DIRECTORY ${mlf})
    set(depends ${mlf}/metadata.json ${UTVM_DESCRIBED_INTERFACE_HEADER} ${UTVM_DESCRIBED_RELAY})
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${depends})
endfunction()

# Code generated for an Arm core (arm_acle.h, DSP intrinsics, inline assembly) compiles only for
# one: Zephyr says so in Kconfig, other builds ask the compiler what it targets.
function(_utvm_arm_code_check target)
  if(NOT UTVM_DESCRIBED_ARM_CODE_REASON)
    return()
  endif()
  if(ZEPHYR_BASE)
    set(built_for "board ${BOARD}${BOARD_QUALIFIERS}")
    set(arm ${CONFIG_ARM})
    if(CONFIG_CPU_CORTEX_M4 OR CONFIG_CPU_CORTEX_M7 OR CONFIG_ARMV8_M_DSP)
      set(dsp 1)
    endif()
  else()
    set(built_for "this compiler's target (${CMAKE_C_COMPILER_ID} for ${CMAKE_SYSTEM_PROCESSOR})")
    include(CheckCSourceCompiles)
    check_c_source_compiles("#ifndef __arm__\n#error\n#endif\nint main(void) { return 0; }"
                            UTVM_TARGET_IS_ARM)
    check_c_source_compiles("#ifndef __ARM_FEATURE_DSP\n#error\n#endif\nint main(void) { return 0; }"
                            UTVM_TARGET_HAS_ARM_DSP)
    set(arm ${UTVM_TARGET_IS_ARM})
    set(dsp ${UTVM_TARGET_HAS_ARM_DSP})
  endif()
  if(NOT arm OR (UTVM_DESCRIBED_ARM_CODE_NEEDS_DSP AND NOT dsp))
    _utvm_fail(${target} "${UTVM_DESCRIBED_ARM_CODE_REASON}. It does not compile for "
                         "${built_for}. ${UTVM_DESCRIBED_ARM_CODE_WHERE_IT_RUNS}")
  endif()
endfunction()

# Zephyr applications: what the model needs must be enabled in Kconfig, and its generated
# code's calls into libm need a C library that has them (Zephyr's minimal libc has none).
function(_utvm_zephyr_checks target executor interface sources)
  if(NOT CONFIG_UTVM)
    _utvm_fail(${target} "the utvm module is not enabled: add CONFIG_UTVM=y to prj.conf")
  endif()
  if(executor STREQUAL "graph" AND NOT CONFIG_UTVM_GRAPH_EXECUTOR)
    _utvm_fail(${target} "this is a graph executor model: add CONFIG_UTVM_GRAPH_EXECUTOR=y "
                         "to prj.conf")
  endif()
  if(executor STREQUAL "aot" AND interface STREQUAL "packed" AND NOT CONFIG_UTVM_AOT_EXECUTOR)
    _utvm_fail(${target} "this AOT model has the packed interface: add "
                         "CONFIG_UTVM_AOT_EXECUTOR=y to prj.conf (or rebuild the model with "
                         "interface-api=c to run it without an executor)")
  endif()
  if(CONFIG_MINIMAL_LIBC)
    # libm functions TVM's C codegen emits (the minimal libc has only sqrt and sqrtf).
    set(libm "(exp|log|tanh|round|pow|floor|ceil|fabs|erf|fmod|nearbyint|rint|trunc|fmax|fmin)f?")
    set(math_calls "")
    foreach(src ${sources})
      file(STRINGS ${src} lines REGEX "[^A-Za-z0-9_]${libm}\\(")
      foreach(line ${lines})
        string(REGEX MATCHALL "[A-Za-z0-9_]+\\(" calls "${line}")
        foreach(call ${calls})
          string(REGEX REPLACE "\\($" "" call "${call}")
          if(call MATCHES "^${libm}$")
            list(APPEND math_calls ${call})
          endif()
        endforeach()
      endforeach()
    endforeach()
    if(math_calls)
      list(REMOVE_DUPLICATES math_calls)
      list(JOIN math_calls ", " math_calls)
      _utvm_fail(${target} "the model's generated code calls ${math_calls}, which Zephyr's "
                           "minimal libc does not have. Use a full C library: "
                           "CONFIG_REQUIRES_FULL_LIBC=y (picolibc, from the toolchain or the "
                           "picolibc module) or CONFIG_PICOLIBC=y")
    endif()
  endif()
endfunction()

# --- CMSIS-NN -------------------------------------------------------------------------------
# Models compiled with TVM's CMSIS-NN partitioning call CMSIS-NN kernels. What they need (the
# kernel groups, the code paths their scratch buffers were sized for) is read from the MLF by
# the describe step (python/utvm/mlf/cmsis_nn.py through describe.py), from the facts below
# about the core and the CMSIS-NN sources; its answers are UTVM_DESCRIBED_CMSIS_NN_*, which
# CMake only applies.

# The core CMSIS-NN runs on in a Zephyr build, as the describe step's --cmsis-nn-core arguments.
function(_utvm_cmsis_nn_core_args out_var)
  set(args "")
  foreach(core m0 m0plus m1 m3 m4 m7 m23 m33 m35p m52 m55 m85)
    string(TOUPPER ${core} CORE)
    if(CONFIG_CPU_CORTEX_${CORE})
      set(args --cmsis-nn-core cortex-${core})
    endif()
  endforeach()
  if(NOT args AND CONFIG_SOC)
    set(args --cmsis-nn-core "${CONFIG_SOC}")
  endif()
  if(CONFIG_CPU_CORTEX_M4 OR CONFIG_CPU_CORTEX_M7 OR CONFIG_ARMV8_M_DSP)
    list(APPEND args --cmsis-nn-core-dsp)
  endif()
  if(CONFIG_ARMV8_1_M_MVEI)
    list(APPEND args --cmsis-nn-core-mve)
  endif()
  # Armv8-M mainline cores whose optional DSP extension the board's configuration leaves off;
  # UTVM_CMSIS_NN_DSP=ON says the chip has it (CMSIS-NN alone is then compiled with it).
  if(CONFIG_ARMV8_M_MAINLINE AND NOT CONFIG_ARMV8_M_DSP)
    list(APPEND args --cmsis-nn-core-dsp-left-off)
    if(UTVM_CMSIS_NN_DSP)
      list(APPEND args --cmsis-nn-use-core-dsp)
    endif()
  endif()
  set(${out_var} ${args} PARENT_SCOPE)
endfunction()

# What the describe step needs to know about CMSIS-NN for this build: the core (Zephyr builds
# for a Cortex-M), the source tree the model would be compiled with, and whether to check its
# calls. Used only if the model calls it. A Cortex-M Zephyr image links Zephyr's cmsis-nn module;
# the host, plain CMake apps and Zephyr boards that are no Cortex-M (Zephyr's CONFIG_CMSIS_NN
# depends on one) compile CMSIS-NN's portable code from UTVM_CMSIS_NN_DIR, else from the
# workspace's module.
function(_utvm_cmsis_nn_args out_var)
  set(args "")
  set(tree "")
  if(ZEPHYR_BASE AND CONFIG_CPU_CORTEX_M)
    _utvm_cmsis_nn_core_args(args)
    if(ZEPHYR_CMSIS_NN_MODULE_DIR)
      set(tree ${ZEPHYR_CMSIS_NN_MODULE_DIR})
      set(origin "Zephyr's cmsis-nn module")
      set(advice "pin the cmsis-nn project in your west.yml to revision v4.1.0 (commit 61d1bb6c4428ad730e525d0164e12df12b789985) and run `west update cmsis-nn`, or add a v4.1.0 tree that has a zephyr/module.yml naming it cmsis-nn with -DEXTRA_ZEPHYR_MODULES=<tree> (see utvm's zephyr/README.md)")
    endif()
  else()
    set(tree ${UTVM_CMSIS_NN_DIR})
    if(NOT tree AND DEFINED ENV{UTVM_CMSIS_NN_DIR})
      set(tree $ENV{UTVM_CMSIS_NN_DIR})
    endif()
    set(origin "UTVM_CMSIS_NN_DIR")
    set(advice "point UTVM_CMSIS_NN_DIR at a CMSIS-NN v4.1.0 checkout")
    if(NOT tree AND ZEPHYR_CMSIS_NN_MODULE_DIR)
      set(tree ${ZEPHYR_CMSIS_NN_MODULE_DIR})
      set(origin "Zephyr's cmsis-nn module")
      set(advice "set UTVM_CMSIS_NN_DIR to a CMSIS-NN v4.1.0 checkout, or pin the cmsis-nn project in your west.yml to revision v4.1.0 (see utvm's zephyr/README.md)")
    endif()
    if(tree)
      get_filename_component(tree ${tree} ABSOLUTE)
    endif()
  endif()
  if(tree)
    list(APPEND args --cmsis-nn-tree ${tree} --cmsis-nn-tree-origin ${origin}
                     --cmsis-nn-tree-advice ${advice})
    if(UTVM_CMSIS_NN_CHECKED OR CONFIG_UTVM_CMSIS_NN_CHECKED)
      list(APPEND args --cmsis-nn-checked)
    endif()
    # On unless turned off: UTVM_CMSIS_NN_DEPTHWISE_AS_CONV=OFF, or in Zephyr builds
    # CONFIG_UTVM_CMSIS_NN_DEPTHWISE_AS_CONV=n.
    if(DEFINED UTVM_CMSIS_NN_DEPTHWISE_AS_CONV)
      set(as_conv ${UTVM_CMSIS_NN_DEPTHWISE_AS_CONV})
    elseif(ZEPHYR_BASE AND DEFINED CONFIG_UTVM)
      set(as_conv ${CONFIG_UTVM_CMSIS_NN_DEPTHWISE_AS_CONV})
    else()
      set(as_conv ON)
    endif()
    if(as_conv)
      list(APPEND args --cmsis-nn-depthwise-as-conv)
    endif()
  endif()
  set(${out_var} ${args} PARENT_SCOPE)
endfunction()

# The model's CMSIS-NN calls that go through generated wrappers (the linker's --wrap; the
# describe step wrote them among the generated sources):
# - UTVM_CMSIS_NN_DEPTHWISE_AS_CONV (on by default; CONFIG_UTVM_CMSIS_NN_DEPTHWISE_AS_CONV):
#   depthwise calls on one-channel inputs (TVM's form of such convolutions) run as CMSIS-NN
#   convolutions, the same outputs from a faster kernel;
# - the debug option UTVM_CMSIS_NN_CHECKED (CONFIG_UTVM_CMSIS_NN_CHECKED): a failing kernel
#   fails the inference with its name and status instead of passing for success.
function(_utvm_cmsis_nn_wrapped target)
  foreach(symbol ${UTVM_DESCRIBED_CMSIS_NN_WRAP})
    if(ZEPHYR_BASE)
      zephyr_link_libraries(-Wl,--wrap=${symbol})
    else()
      target_link_options(${target} PRIVATE LINKER:--wrap=${symbol})
    endif()
  endforeach()
  if(UTVM_DESCRIBED_CMSIS_NN_CHECKED)
    message(STATUS "utvm_add_model(${target}): CMSIS-NN failures fail the inference "
                   "(checked calls: ${UTVM_DESCRIBED_CMSIS_NN_CALLS_SOURCE})")
  endif()
  if(UTVM_DESCRIBED_CMSIS_NN_DEPTHWISE_AS_CONV_BUFFER)
    message(STATUS "utvm_add_model(${target}): depthwise calls on one-channel inputs run as "
                   "CMSIS-NN convolutions (${UTVM_DESCRIBED_CMSIS_NN_DEPTHWISE_AS_CONV_BUFFER}-byte "
                   "buffer; UTVM_CMSIS_NN_DEPTHWISE_AS_CONV)")
  endif()
endfunction()

# Host and plain CMake builds: compile CMSIS-NN's portable C code from <tree>.
function(_utvm_cmsis_nn_host target name tree)
  if(NOT tree)
    list(JOIN UTVM_DESCRIBED_CMSIS_NN_FUNCTIONS ", " calls)
    _utvm_fail(${target} "the model's generated code calls CMSIS-NN (${calls}) and no CMSIS-NN "
                         "source tree is known: set UTVM_CMSIS_NN_DIR (CMake variable or "
                         "environment) to a CMSIS-NN v4.1.0 checkout "
                         "(github.com/ARM-software/CMSIS-NN, tag v4.1.0)")
  endif()
  set(sources "")
  foreach(folder ${UTVM_DESCRIBED_CMSIS_NN_SOURCE_FOLDERS})
    file(GLOB folder_sources ${tree}/Source/${folder}/*.c)
    list(APPEND sources ${folder_sources})
  endforeach()
  set(lib utvm_cmsis_nn_${name})
  add_library(${lib} STATIC ${sources})
  target_include_directories(${lib} PUBLIC ${tree}/Include)
  # CMSIS-NN v4.1.0 uses int32_t & co. without including <stdint.h> when not built for Arm.
  # It is not ours to lint, and like generated code it gets ASan but not UBSan.
  target_compile_options(${lib} PRIVATE -include stdint.h -w
                         ${UTVM_DESCRIBED_CMSIS_NN_COMPILE_OPTIONS})
  if(TARGET zephyr_interface)
    # A Zephyr board that is no Cortex-M (POSIX architecture): compiled as the image is (-m32).
    target_link_libraries(${lib} PRIVATE zephyr_interface)
  endif()
  if(UTVM_SANITIZE)
    target_compile_options(${lib} PRIVATE -fno-sanitize=undefined)
  endif()
  target_link_libraries(${target} PRIVATE ${lib})
  message(STATUS "utvm_add_model(${target}): ${UTVM_DESCRIBED_CMSIS_NN_SUMMARY}, from ${tree}")
endfunction()

# Zephyr builds: Zephyr's cmsis-nn module, with exactly the kernel groups the model calls.
function(_utvm_cmsis_nn_zephyr target)
  list(JOIN UTVM_DESCRIBED_CMSIS_NN_FUNCTIONS ", " calls)
  # Zephyr's CONFIG_CMSIS_NN selects CONFIG_CMSIS_DSP: both modules must be there.
  set(absent "")
  foreach(module cmsis-nn cmsis-dsp)
    string(TOUPPER ${module} MODULE)
    string(REPLACE "-" "_" MODULE ${MODULE})
    if(NOT ZEPHYR_${MODULE}_MODULE_DIR)
      list(APPEND absent ${module})
    endif()
  endforeach()
  if(absent)
    list(JOIN absent " and " names)
    list(JOIN absent " " projects)
    list(TRANSFORM absent PREPEND "+" OUTPUT_VARIABLE plus)
    list(JOIN plus "," filter)
    _utvm_fail(${target} "the model's generated code calls CMSIS-NN (${calls}) but the "
      "workspace has no ${names} module (Zephyr's CONFIG_CMSIS_NN needs both cmsis-nn and "
      "cmsis-dsp). Add it: `west config manifest.project-filter -- ${filter}` and "
      "`west update ${projects}`, or an entry in your west.yml (for cmsis-nn: revision "
      "v4.1.0, see utvm's zephyr/README.md) and `west update ${projects}`")
  endif()
  set(missing "")
  foreach(symbol ${UTVM_DESCRIBED_CMSIS_NN_KCONFIG})
    if(NOT CONFIG_${symbol})
      string(APPEND missing "\n  CONFIG_${symbol}=y")
    endif()
  endforeach()
  if(missing)
    _utvm_fail(${target} "the model's generated code calls CMSIS-NN (${calls}). Add to "
                         "prj.conf:${missing}\n(`west utvm build` sets them itself)")
  endif()
  # Zephyr's module compiles CMSIS-NN for the board's core; the model may need less.
  if(UTVM_DESCRIBED_CMSIS_NN_COMPILE_OPTIONS)
    get_property(libs GLOBAL PROPERTY ZEPHYR_LIBS)
    set(found "")
    foreach(lib ${libs})
      get_target_property(lib_dir ${lib} SOURCE_DIR)
      if(lib_dir STREQUAL ZEPHYR_CMSIS_NN_CMAKE_DIR)
        # On the sources, not the target: source options come after the toolchain's, so a
        # -mcpu given here is the one that counts.
        get_target_property(lib_sources ${lib} SOURCES)
        set_source_files_properties(${lib_sources} TARGET_DIRECTORY ${lib} PROPERTIES
                                    COMPILE_OPTIONS "${UTVM_DESCRIBED_CMSIS_NN_COMPILE_OPTIONS}")
        set(found ${lib})
      endif()
    endforeach()
    if(NOT found)
      _utvm_fail(${target} "cannot find the library Zephyr's cmsis-nn module builds "
                           "(from ${ZEPHYR_CMSIS_NN_CMAKE_DIR}) to build it for this model")
    endif()
  endif()
  message(STATUS "utvm_add_model(${target}): ${UTVM_DESCRIBED_CMSIS_NN_SUMMARY}, from "
                 "${ZEPHYR_CMSIS_NN_MODULE_DIR}")
endfunction()

# Links CMSIS-NN into <target> when the model's generated code calls it.
function(_utvm_cmsis_nn target name)
  if(NOT UTVM_DESCRIBED_CMSIS_NN_USED)
    return()
  endif()
  if(UTVM_DESCRIBED_CMSIS_NN_WRAP)
    _utvm_cmsis_nn_wrapped(${target})
  endif()
  if(ZEPHYR_BASE AND CONFIG_CPU_CORTEX_M)
    _utvm_cmsis_nn_zephyr(${target})
  else()
    _utvm_cmsis_nn_host(${target} ${name} "${UTVM_DESCRIBED_CMSIS_NN_TREE}")
  endif()
endfunction()

function(utvm_add_model target)
  cmake_parse_arguments(ARG "" "MLF;NAME;MODULE" "" ${ARGN})
  if(NOT ARG_MLF)
    _utvm_fail(${target} "MLF <directory or .tar> is required")
  endif()
  get_filename_component(mlf ${ARG_MLF} ABSOLUTE)
  if(NOT EXISTS ${mlf})
    _utvm_fail(${target} "${ARG_MLF}: no such file or directory. Give the MLF directory or its "
                         ".tar archive.")
  endif()
  _utvm_describe(${target} ${mlf} "${ARG_NAME}" "${ARG_MODULE}"
                 ${CMAKE_CURRENT_BINARY_DIR}/utvm_model/${target}-${ARG_NAME})
  set(ARG_NAME ${UTVM_DESCRIBED_NAME})
  set(dir ${UTVM_DESCRIBED_DIR})
  set(module ${UTVM_DESCRIBED_MODULE})
  set(executor ${UTVM_DESCRIBED_EXECUTOR})
  set(interface ${UTVM_DESCRIBED_INTERFACE})

  _utvm_arm_code_check(${target})
  set(sources ${UTVM_DESCRIBED_SOURCES})
  if(NOT sources)
    _utvm_fail(${target} "${dir}/codegen/host/src has no C sources: build the model with "
                         "target \"c\" (LLVM object files are not supported)")
  endif()
  target_sources(${target} PRIVATE ${sources} ${UTVM_DESCRIBED_GENERATED_SOURCES})
  target_include_directories(${target} PRIVATE ${dir}/codegen/host/include ${UTVM_CMAKE_DIR}/../runtime/include)
  # Generated code is not ours to lint. Under sanitizers it gets ASan but not UBSan: TVM's
  # fixed-point code shifts negative values and shifts by 64 or more (ResNet-8, VWW), which
  # is TVM's undefined behaviour, not something this runtime can fix.
  set(generated_options -w)
  if(UTVM_SANITIZE)
    list(APPEND generated_options -fno-sanitize=undefined)
  endif()
  set_source_files_properties(${sources} PROPERTIES COMPILE_OPTIONS "${generated_options}")
  _utvm_cmsis_nn(${target} ${ARG_NAME})
  if(ZEPHYR_BASE)
    _utvm_zephyr_checks(${target} ${executor} ${interface} "${sources}")
  else()
    target_link_libraries(${target} PRIVATE m)
  endif()

  # Everything the describe step wrote, as UTVM_MODEL_<NAME>_<KEY> (DIR, EXECUTOR, ...).
  foreach(var IN LISTS UTVM_DESCRIBED_VARIABLES)
    set(UTVM_MODEL_${ARG_NAME}_${var} "${UTVM_DESCRIBED_${var}}" PARENT_SCOPE)
  endforeach()
endfunction()

# utvm_tensor_bytes(<file> <out_var>): sets <out_var> to a file holding <file>'s tensor as raw
# little-endian bytes, ready to embed (e.g. with Zephyr's generate_inc_file_for_target()). A
# .npy is converted at configure time into the build directory (cmake/utvm_npy_to_raw.py, no
# numpy needed; configuring reruns when the .npy changes); any other file is raw already.
function(utvm_tensor_bytes file out_var)
  get_filename_component(file ${file} ABSOLUTE)
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "utvm_tensor_bytes: ${file} does not exist")
  endif()
  if(NOT file MATCHES "\\.[nN][pP][yY]$")
    set(${out_var} ${file} PARENT_SCOPE)
    return()
  endif()
  _utvm_python(utvm_tensor_bytes python)
  get_filename_component(stem ${file} NAME_WE)
  string(MD5 tag ${file})
  string(SUBSTRING ${tag} 0 8 tag)
  set(raw ${CMAKE_CURRENT_BINARY_DIR}/utvm_tensors/${stem}-${tag}.bin)
  execute_process(
    COMMAND ${python} ${UTVM_CMAKE_DIR}/utvm_npy_to_raw.py ${file} ${raw}
    RESULT_VARIABLE status ERROR_VARIABLE err OUTPUT_QUIET)
  if(NOT status EQUAL 0)
    string(STRIP "${err}" err)
    message(FATAL_ERROR "utvm_tensor_bytes: ${err}")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  set(${out_var} ${raw} PARENT_SCOPE)
endfunction()
