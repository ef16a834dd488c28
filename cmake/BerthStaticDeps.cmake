# berth_static_executable(NAME SOURCES ... DEPS ... [OBJECTS ...] [DROP ...]): an executable
# whose third-party libraries are linked from their static archives where the system has them.
#
# Why: berthd idles most of its life, and every shared library it maps costs resident pages
# (this kernel maps 64 KiB around each touched page, per library), plus the relocations ld.so
# writes into each one at start. Linked in, only the code berthd calls is there, relocated
# once. gRPC, protobuf and Abseil come as imported targets pointing at .so files; this walks
# the executable's link closure at configure time (project libraries, imported targets and
# their INTERFACE_LINK_LIBRARIES, plain library names) and links the matching .a next to each
# .so instead, all inside one --start-group/--end-group (archives carry no order and some
# depend on each other both ways). Libraries without an archive stay shared. glibc's own
# libraries always stay shared: a static piece of libc in a dynamic executable breaks it.
# DROP names targets whose code OBJECTS supplies instead (spdlog and fmt from their headers).
# The compile side is an OBJECT library linked to DEPS as usual, so headers, definitions and
# build order come from the targets themselves; only the link line is computed here.
#
# Only the given executable is linked this way; tests keep linking the shared libraries (a
# static gRPC in every test binary would slow the build for nothing).

include(CheckLinkerFlag)

set(_BERTH_LIBDIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
set(_BERTH_GLIBC_LIBS c m dl rt pthread util resolv anl atomic)
find_package(PkgConfig QUIET)

# Whether the archives berthd needs most are installed (Debian 12's libgrpc++-dev,
# libprotobuf-dev, libabsl-dev and libssl-dev ship them; deploy/install installs those).
function(berth_static_deps_available out)
  file(GLOB absl_archives "${_BERTH_LIBDIR}/libabsl_*.a")
  set(ok TRUE)
  foreach(lib grpc++_unsecure grpc_unsecure gpr upb protobuf ssl crypto)
    if(NOT EXISTS "${_BERTH_LIBDIR}/lib${lib}.a")
      set(ok FALSE)
    endif()
  endforeach()
  if(NOT absl_archives OR NOT PKG_CONFIG_FOUND OR BERTH_SANITIZE OR BERTH_FUZZ)
    set(ok FALSE)
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()

# What to link for a library file: the archive beside a shared library (/x/libfoo.so.1.2 ->
# /x/libfoo.a) when there is one, else the file itself.
function(_berth_archive_or_file path out)
  get_filename_component(dir "${path}" DIRECTORY)
  get_filename_component(name "${path}" NAME)
  set(file "${path}")
  if(name MATCHES "^(lib.+)\\.so(\\..*)?$")
    # A separate if: ${CMAKE_MATCH_1} in the same condition would expand before the match.
    if(EXISTS "${dir}/${CMAKE_MATCH_1}.a")
      set(file "${dir}/${CMAKE_MATCH_1}.a")
    endif()
  endif()
  set(${out} "${file}" PARENT_SCOPE)
endfunction()

# The file an imported library target stands for in this build's configuration.
function(_berth_imported_location target out)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" config)
  get_target_property(configs ${target} IMPORTED_CONFIGURATIONS)
  if(NOT configs)
    set(configs "")
  endif()
  foreach(c ${config} ${configs})
    get_target_property(location ${target} IMPORTED_LOCATION_${c})
    if(location)
      set(${out} "${location}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  get_target_property(location ${target} IMPORTED_LOCATION)
  if(NOT location)
    set(location "")
  endif()
  set(${out} "${location}" PARENT_SCOPE)
endfunction()

# Adds what linking `item` takes to the global properties _BERTH_STATIC_ITEMS (link line) and
# _BERTH_STATIC_TARGETS (project libraries to build first), then walks what it needs.
function(_berth_static_walk item drop)
  if(item MATCHES "^\\$<LINK_ONLY:(.+)>$")
    set(item "${CMAKE_MATCH_1}")
  endif()
  if(item MATCHES "^-l(.+)$")  # pkg-config's imported targets (re2) link -lNAME
    set(item "${CMAKE_MATCH_1}")
  endif()
  if(item STREQUAL "" OR item MATCHES "^::@")  # CMake's directory markers
    return()
  endif()
  get_property(seen GLOBAL PROPERTY _BERTH_STATIC_SEEN)
  if("${item}" IN_LIST seen OR "${item}" IN_LIST drop)
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY _BERTH_STATIC_SEEN "${item}")

  set(emit "")
  set(next "")
  if(item MATCHES "^\\$<")  # any other generator expression: CMake evaluates it as usual
    set(emit "${item}")
  elseif(TARGET "${item}")
    get_target_property(type ${item} TYPE)
    get_target_property(imported ${item} IMPORTED)
    get_target_property(next ${item} INTERFACE_LINK_LIBRARIES)
    if(NOT next)
      set(next "")
    endif()
    if(type STREQUAL "INTERFACE_LIBRARY")
      # headers and usage requirements only (the OBJECT library has those)
    elseif(NOT imported AND type STREQUAL "STATIC_LIBRARY")
      set(emit "$<TARGET_FILE:${item}>")
      set_property(GLOBAL APPEND PROPERTY _BERTH_STATIC_TARGETS ${item})
    elseif(NOT imported AND type STREQUAL "OBJECT_LIBRARY")
      set(emit "$<TARGET_OBJECTS:${item}>")
      set_property(GLOBAL APPEND PROPERTY _BERTH_STATIC_TARGETS ${item})
    elseif(imported)
      _berth_imported_location(${item} location)
      _berth_archive_or_file("${location}" emit)
    else()
      message(FATAL_ERROR "berth_static_executable: cannot link ${item} (${type})")
    endif()
  elseif(item MATCHES "::")
    message(FATAL_ERROR "berth_static_executable: ${item} is not visible here; find it in the "
                        "top-level CMakeLists.txt (imported targets are directory-scoped)")
  elseif(item MATCHES "^-")
    set(emit "${item}")
  elseif(IS_ABSOLUTE "${item}")
    _berth_archive_or_file("${item}" emit)
  elseif(item IN_LIST _BERTH_GLIBC_LIBS OR NOT EXISTS "${_BERTH_LIBDIR}/lib${item}.a")
    set(emit "-l${item}")
  else()
    set(emit "${_BERTH_LIBDIR}/lib${item}.a")
    # An archive does not say what it needs; its pkg-config file does (libselinux: libsepol,
    # libpcre2-8).
    foreach(module lib${item} ${item})
      execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --static --libs-only-l ${module}
                      OUTPUT_VARIABLE flags RESULT_VARIABLE failed ERROR_QUIET
                      OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(NOT failed)
        separate_arguments(flags UNIX_COMMAND "${flags}")
        foreach(flag ${flags})
          if(flag MATCHES "^-l(.+)$")
            if(NOT CMAKE_MATCH_1 STREQUAL item)
              list(APPEND next "${CMAKE_MATCH_1}")
            endif()
          endif()
        endforeach()
        break()
      endif()
    endforeach()
  endif()
  if(NOT emit STREQUAL "")
    set_property(GLOBAL APPEND PROPERTY _BERTH_STATIC_ITEMS "${emit}")
  endif()
  foreach(n IN LISTS next)
    _berth_static_walk("${n}" "${drop}")
  endforeach()
endfunction()

function(berth_static_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;OBJECTS;DROP" ${ARGN})
  add_library(${name}_objects OBJECT ${ARG_SOURCES})
  target_compile_options(${name}_objects PRIVATE ${BERTH_WARNINGS})
  target_link_libraries(${name}_objects PRIVATE ${ARG_DEPS})

  set_property(GLOBAL PROPERTY _BERTH_STATIC_SEEN "")
  set_property(GLOBAL PROPERTY _BERTH_STATIC_ITEMS "")
  set_property(GLOBAL PROPERTY _BERTH_STATIC_TARGETS "")
  foreach(dep IN LISTS ARG_DEPS)
    _berth_static_walk("${dep}" "${ARG_DROP}")
  endforeach()
  get_property(items GLOBAL PROPERTY _BERTH_STATIC_ITEMS)
  get_property(targets GLOBAL PROPERTY _BERTH_STATIC_TARGETS)

  add_executable(${name} $<TARGET_OBJECTS:${name}_objects> ${ARG_OBJECTS})
  add_dependencies(${name} ${name}_objects ${targets})
  target_link_libraries(${name} PRIVATE -Wl,--start-group ${items} -Wl,--end-group)
  # Nothing shared that berthd maps needs libstdc++ any more, so it is linked in too.
  target_link_options(${name} PRIVATE -static-libstdc++ -static-libgcc)
  # Export nothing from the archives: a shared library that defines a name an archive also
  # defines (libisal.so and libcrypto.a both have a gf_mul) would otherwise bind its own calls
  # to the executable's copy. The same goes for the libraries dlopened later (libcurl brings
  # its own libssl and libcrypto, libarchive's ICU its own libstdc++): each keeps its own.
  target_link_options(${name} PRIVATE -Wl,--exclude-libs,ALL)
  # -z now: the few hundred glibc symbols bound at start, so that no lazy binding runs in a vfork
  # child (common/spawn.h) before its exec.
  target_link_options(${name} PRIVATE -Wl,-z,now)
  # DT_RELR: the ~50,000 relative relocations of the linked-in code in a 9 KiB bitmap instead
  # of 1.2 MB of .rela.dyn that ld.so reads at every start.
  check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" BERTH_HAVE_PACK_RELATIVE_RELOCS)
  if(BERTH_HAVE_PACK_RELATIVE_RELOCS)
    target_link_options(${name} PRIVATE -Wl,-z,pack-relative-relocs)
  endif()
endfunction()
