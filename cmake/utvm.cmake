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
# For the C interface it also generates a small table of the model's inputs and outputs,
# declared in <utvm/model.h>: utvm_model_<NAME>_inputs[], _outputs[], _run(). <NAME>
# defaults to the model's module name ("default" for TVM's default).

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
