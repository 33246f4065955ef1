# UklpPatch.cmake: building uklp targets and patch modules with CMake.
#
#   uklp_prepare_target(<target>)
#       Compiles <target> (a program or a library to be patched later) with
#       -fpatchable-function-entry=16,14 and links it with a GNU build-id.
#
#   uklp_add_patch_module(<name> SOURCES <src>...
#                         TARGET <exe-target-or-path>
#                         [LIBRARIES <libname>=<lib-target-or-path>...]
#                         [OUTPUT_NAME <file-stem>]
#                         [SIGN_KEY <secret-key-file>])
#       Builds the patch module <file-stem>.so (default stem: <name>; no
#       "lib" prefix) from kernel-style livepatch sources, compiled with
#       -fPIC -fno-plt -fpatchable-function-entry=16,14
#       -DKBUILD_MODNAME="<file-stem with - replaced by _>" (the patch's name,
#       derived from the file name like the runtime does) against
#       <uklp/livepatch.h>, linked -shared -Wl,-z,now -Wl,--build-id with the
#       target's internal symbols left undefined. A POST_BUILD step then runs
#       uklp-klp-convert in place with --target main=<TARGET> and
#       --target <libname>=<lib> for each LIBRARIES entry, so that
#       $<TARGET_FILE:<name>> is the converted module, bound to those builds
#       (docs/patch-format.md). The module relinks (and reconverts) whenever
#       a target file changes. With SIGN_KEY, a last POST_BUILD step signs
#       it (`uklp sign --key <secret-key-file>`, docs/security.md).
#
# Used in two places, told apart when this file is included:
#   - the uklp build tree (included by the top CMakeLists.txt after tools/):
#     the converter is the `uklp-klp-convert` target, the runtime `uklp`,
#     the headers are ../include;
#   - an installed package (included by uklpConfig.cmake, which first defines
#     UKLP_INCLUDE_DIR and the imported targets uklp::klp-convert and
#     uklp::runtime).
include_guard(GLOBAL)

if(NOT DEFINED UKLP_PATCHABLE_FLAG)
  set(UKLP_PATCHABLE_FLAG -fpatchable-function-entry=16,14)
endif()
if(NOT DEFINED UKLP_INCLUDE_DIR)
  get_filename_component(UKLP_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
endif()
if(TARGET uklp::klp-convert)
  set(_uklp_converter uklp::klp-convert)
  set(_uklp_runtime uklp::runtime)
  set(_uklp_cli uklp::cli)
elseif(TARGET uklp-klp-convert)
  set(_uklp_converter uklp-klp-convert)
  set(_uklp_runtime uklp)
  set(_uklp_cli uklp_cli)
else()
  message(FATAL_ERROR "UklpPatch.cmake: no uklp-klp-convert; use find_package(uklp) or include it after tools/")
endif()
# Global properties: the functions below may be called from any directory.
set_property(GLOBAL PROPERTY UKLP_PATCH_FLAG "${UKLP_PATCHABLE_FLAG}")
set_property(GLOBAL PROPERTY UKLP_PATCH_INCLUDE_DIR "${UKLP_INCLUDE_DIR}")
set_property(GLOBAL PROPERTY UKLP_PATCH_CONVERTER "${_uklp_converter}")
set_property(GLOBAL PROPERTY UKLP_PATCH_RUNTIME "${_uklp_runtime}")
set_property(GLOBAL PROPERTY UKLP_PATCH_CLI "${_uklp_cli}")
unset(_uklp_converter)
unset(_uklp_runtime)
unset(_uklp_cli)

# The flag for C and C++ only (its comma must be escaped in a generator expression).
function(_uklp_patchable_option out)
  get_property(flag GLOBAL PROPERTY UKLP_PATCH_FLAG)
  string(REPLACE "," "$<COMMA>" flag "${flag}")
  set(${out} "$<$<COMPILE_LANGUAGE:C,CXX>:${flag}>" PARENT_SCOPE)
endfunction()

function(uklp_prepare_target target)
  _uklp_patchable_option(flag)
  target_compile_options(${target} PRIVATE ${flag})
  # GCC: no interprocedural assumptions a replacement could break (IPA-RA
  # lets callers rely on the registers a callee happens to leave alone;
  # IPA constant propagation leaks a callee's result into its callers).
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANG_AND_ID:C,GNU>:-flive-patching=inline-clone>
    $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-flive-patching=inline-clone>)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE" OR type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "MODULE_LIBRARY")
    target_link_options(${target} PRIVATE -Wl,--build-id)
  endif()
endfunction()

# "--target <object>=<file>" for a CMake target or a path; the module's link
# depends on the file, so a rebuilt target reconverts the module.
function(_uklp_target_argument module object target_or_path out)
  if(TARGET ${target_or_path})
    set(file "$<TARGET_FILE:${target_or_path}>")
    add_dependencies(${module} ${target_or_path})
  else()
    get_filename_component(file "${target_or_path}" ABSOLUTE)
  endif()
  set_property(TARGET ${module} APPEND PROPERTY LINK_DEPENDS "${file}")
  set(${out} "--target" "${object}=${file}" PARENT_SCOPE)
endfunction()

# The converter command and its --libuklp argument.
function(_uklp_converter_command module out)
  get_property(converter GLOBAL PROPERTY UKLP_PATCH_CONVERTER)
  get_property(runtime GLOBAL PROPERTY UKLP_PATCH_RUNTIME)
  set(command "$<TARGET_FILE:${converter}>")
  get_target_property(imported ${converter} IMPORTED)
  if(NOT imported)
    add_dependencies(${module} ${converter})
  endif()
  set_property(TARGET ${module} APPEND PROPERTY LINK_DEPENDS "$<TARGET_FILE:${converter}>")
  if(TARGET ${runtime})
    list(APPEND command --libuklp "$<TARGET_FILE:${runtime}>")
    get_target_property(imported ${runtime} IMPORTED)
    if(NOT imported)
      add_dependencies(${module} ${runtime})
    endif()
  endif()
  set(${out} ${command} PARENT_SCOPE)
endfunction()

function(uklp_add_patch_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TARGET;OUTPUT_NAME;SIGN_KEY" "SOURCES;LIBRARIES")
  if(NOT arg_SOURCES OR NOT arg_TARGET)
    message(FATAL_ERROR "uklp_add_patch_module(${name}): SOURCES and TARGET are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "uklp_add_patch_module(${name}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(stem "${name}")
  if(arg_OUTPUT_NAME)
    set(stem "${arg_OUTPUT_NAME}")
  endif()
  string(REPLACE "-" "_" modname "${stem}")

  # 1. the module, as an ordinary shared object
  add_library(${name} MODULE ${arg_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".so" OUTPUT_NAME "${stem}"
                                           POSITION_INDEPENDENT_CODE ON)
  get_property(include_dir GLOBAL PROPERTY UKLP_PATCH_INCLUDE_DIR)
  target_include_directories(${name} PRIVATE "${include_dir}")
  _uklp_patchable_option(flag)
  target_compile_options(${name} PRIVATE -fPIC -fno-plt ${flag})
  target_compile_definitions(${name} PRIVATE KBUILD_MODNAME="${modname}")
  target_link_options(${name} PRIVATE -Wl,-z,now -Wl,--build-id)

  # 2. the targets it is bound to
  _uklp_target_argument(${name} main "${arg_TARGET}" args)
  foreach(entry IN LISTS arg_LIBRARIES)
    if(NOT entry MATCHES "^([^=]+)=(.+)$")
      message(FATAL_ERROR "uklp_add_patch_module(${name}): LIBRARIES wants <libname>=<target-or-path>, got '${entry}'")
    endif()
    _uklp_target_argument(${name} "${CMAKE_MATCH_1}" "${CMAKE_MATCH_2}" lib_args)
    list(APPEND args ${lib_args})
  endforeach()

  # 3. klp relocations and .uklp.targets, in place (the tool writes a
  #    temporary file and renames it over the module)
  _uklp_converter_command(${name} convert)
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND ${convert} ${args} "$<TARGET_FILE:${name}>" "$<TARGET_FILE:${name}>"
    COMMENT "uklp-klp-convert ${stem}.so"
    VERBATIM)

  # 4. the signature, over the converted module
  if(arg_SIGN_KEY)
    get_property(cli GLOBAL PROPERTY UKLP_PATCH_CLI)
    if(NOT TARGET ${cli})
      message(FATAL_ERROR "uklp_add_patch_module(${name}): SIGN_KEY needs the uklp command (${cli})")
    endif()
    get_target_property(imported ${cli} IMPORTED)
    if(NOT imported)
      add_dependencies(${name} ${cli})
    endif()
    get_filename_component(key "${arg_SIGN_KEY}" ABSOLUTE)
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${key}")  # a new key signs again
    add_custom_command(TARGET ${name} POST_BUILD
      COMMAND "$<TARGET_FILE:${cli}>" sign --key "${key}" "$<TARGET_FILE:${name}>"
      COMMENT "uklp sign ${stem}.so"
      VERBATIM)
  endif()
endfunction()
