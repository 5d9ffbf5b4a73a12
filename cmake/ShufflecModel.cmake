# shufflec_add_model(<target>
#     SPEC <spec.json>
#     [WEIGHTS <file.safetensors> | RANDOM_WEIGHTS <seed>]
#     [ARCH host|x86-64-linux|x86-64-linux-avx512|arm-64-linux|arm-64-android (+ -feature...)]
#     [SCHEDULE <schedule.json>] [INPUT_SHAPE N,C,H,W] [NAME <c_prefix>]
#     [QUANTIZATION <q.json> | PRECISION fp16|bf16] [EXTERNAL_WEIGHTS] [COMPILER <path to shufflec>])
#
# Runs `shufflec compile` at build time and defines <target>, a static library
# (the model and its Halide runtime) whose include folder holds <NAME>.h.
# NAME defaults to <target>. Link it like any library:
#     target_link_libraries(app PRIVATE <target>)
# With EXTERNAL_WEIGHTS the file <NAME>.weights lands in the same folder
# (property SHUFFLEC_WEIGHTS_FILE of <target>). QUANTIZATION compiles the int8
# model of `shufflec quantize`'s file (--precision int8); PRECISION fp16 or bf16
# the fp16 model (fast on ARM targets with arm_fp16) or the bf16 one (fast with
# AVX512-BF16).
#
# ARCH defaults to the toolchain's: host natively; in a cross build
# (CMAKE_CROSSCOMPILING) the target of CMAKE_SYSTEM_PROCESSOR (aarch64 ->
# arm-64-linux, or arm-64-android with the Android NDK's toolchain file; x86_64
# -> x86-64-linux). Android targets also link liblog. The compiler is the
# in-tree `shufflec` target, else shufflec::shufflec from find_package(shufflec),
# else `shufflec` on PATH.

# The target a cross toolchain builds for (host when not cross compiling).
function(shufflec_default_arch out)
  if(NOT CMAKE_CROSSCOMPILING)
    set(${out} host PARENT_SCOPE)
    return()
  endif()
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" cpu)
  if(cpu MATCHES "^(aarch64|arm64|armv8.*)$")
    if(ANDROID OR CMAKE_SYSTEM_NAME STREQUAL "Android")
      set(${out} arm-64-android PARENT_SCOPE)
    else()
      set(${out} arm-64-linux PARENT_SCOPE)
    endif()
  elseif(cpu MATCHES "^(x86_64|amd64)$")
    set(${out} x86-64-linux PARENT_SCOPE)
  else()
    message(FATAL_ERROR "shufflec_add_model: no shufflec target for processor ${CMAKE_SYSTEM_PROCESSOR}; give ARCH")
  endif()
endfunction()
function(shufflec_add_model target)
  cmake_parse_arguments(M "EXTERNAL_WEIGHTS" "SPEC;WEIGHTS;RANDOM_WEIGHTS;ARCH;SCHEDULE;INPUT_SHAPE;NAME;COMPILER;QUANTIZATION;PRECISION" "" ${ARGN})
  if(NOT M_SPEC)
    message(FATAL_ERROR "shufflec_add_model(${target}): SPEC is required")
  endif()
  if(M_WEIGHTS AND M_RANDOM_WEIGHTS)
    message(FATAL_ERROR "shufflec_add_model(${target}): give WEIGHTS or RANDOM_WEIGHTS, not both")
  endif()
  if(NOT M_NAME)
    set(M_NAME ${target})
  endif()
  if(NOT M_ARCH)
    shufflec_default_arch(M_ARCH)
  endif()
  if(NOT M_COMPILER)
    if(TARGET shufflec)
      set(M_COMPILER $<TARGET_FILE:shufflec>)
      set(compiler_dep shufflec)
    elseif(TARGET shufflec::shufflec)
      get_target_property(M_COMPILER shufflec::shufflec IMPORTED_LOCATION)
    else()
      find_program(M_COMPILER shufflec REQUIRED)
    endif()
  endif()
  get_filename_component(spec ${M_SPEC} ABSOLUTE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/shufflec_${target})
  set(args ${spec} --target ${M_ARCH} --name ${M_NAME} -o ${out} --quiet)
  set(deps ${spec} ${compiler_dep})
  if(M_WEIGHTS)
    get_filename_component(w ${M_WEIGHTS} ABSOLUTE)
    list(APPEND args --weights ${w})
    list(APPEND deps ${w})
  elseif(M_RANDOM_WEIGHTS)
    list(APPEND args --random-weights ${M_RANDOM_WEIGHTS})
  elseif(EXISTS ${spec})
    # The spec's own weights file: a dependency too, so retraining recompiles.
    file(READ ${spec} spec_text)
    string(JSON spec_weights ERROR_VARIABLE no_weights GET "${spec_text}" weights)
    if(NOT no_weights)
      get_filename_component(spec_dir ${spec} DIRECTORY)
      list(APPEND deps ${spec_dir}/${spec_weights})
    endif()
  endif()
  if(M_SCHEDULE)
    get_filename_component(s ${M_SCHEDULE} ABSOLUTE)
    list(APPEND args --schedule ${s})
    list(APPEND deps ${s})
  endif()
  if(M_INPUT_SHAPE)
    list(APPEND args --input-shape ${M_INPUT_SHAPE})
  endif()
  if(M_PRECISION AND NOT M_PRECISION STREQUAL "fp32")
    if(M_QUANTIZATION OR NOT M_PRECISION MATCHES "^(fp16|bf16)$")
      message(FATAL_ERROR "shufflec_add_model: PRECISION ${M_PRECISION}: expected fp32, fp16 or bf16 (int8: QUANTIZATION <q.json>)")
    endif()
    list(APPEND args --precision ${M_PRECISION})
  endif()
  if(M_QUANTIZATION)
    get_filename_component(q ${M_QUANTIZATION} ABSOLUTE)
    list(APPEND args --precision int8 --quantization ${q})
    list(APPEND deps ${q})
  endif()
  set(outputs ${out}/${M_NAME}.a ${out}/${M_NAME}.h)
  if(M_EXTERNAL_WEIGHTS)
    list(APPEND args --external-weights)
    list(APPEND outputs ${out}/${M_NAME}.weights)
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${M_COMPILER} compile ${args}
    DEPENDS ${deps}
    COMMENT "shufflec: compiling ${M_SPEC} for ${M_ARCH}"
    VERBATIM)
  add_custom_target(${target}_compile DEPENDS ${outputs})
  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${out}/${M_NAME}.a)
  file(MAKE_DIRECTORY ${out})
  target_include_directories(${target} INTERFACE ${out})
  find_package(Threads REQUIRED)
  target_link_libraries(${target} INTERFACE Threads::Threads m)
  if(M_ARCH MATCHES "android")
    target_link_libraries(${target} INTERFACE log)  # Halide's runtime prints through liblog there
  endif()
  add_dependencies(${target} ${target}_compile)
  if(M_EXTERNAL_WEIGHTS)
    set_target_properties(${target} PROPERTIES SHUFFLEC_WEIGHTS_FILE ${out}/${M_NAME}.weights)
  endif()
endfunction()
