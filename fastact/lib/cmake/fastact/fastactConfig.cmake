# fastactConfig.cmake: find_package(fastact) support for the C library shipped
# inside the fastact Python package.  Relocatable: every path is derived from
# this file's location (<package>/lib/cmake/fastact/).
#
#   find_package(fastact REQUIRED)        # CMAKE_PREFIX_PATH=$(python -m fastact.config --cmakedir)
#   target_link_libraries(app PRIVATE fastact::fastact)
#
# Defines the IMPORTED target fastact::fastact and the variables
# fastact_INCLUDE_DIRS, fastact_LIBRARIES, fastact_LIBRARY_DIR, fastact_VERSION.

cmake_minimum_required(VERSION 3.13)

get_filename_component(_fastact_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(_fastact_library "${_fastact_prefix}/libfastact.so")
set(_fastact_include "${_fastact_prefix}/include")

if(NOT EXISTS "${_fastact_library}" OR NOT EXISTS "${_fastact_include}/fastact.h")
  set(fastact_FOUND FALSE)
  set(fastact_NOT_FOUND_MESSAGE
      "fastact: ${_fastact_library} or ${_fastact_include}/fastact.h is missing: the C library "
      "was not built (run 'pip install .' or 'python setup.py build_ext --inplace')")
  unset(_fastact_prefix)
  unset(_fastact_library)
  unset(_fastact_include)
  return()
endif()

if(NOT TARGET fastact::fastact)
  add_library(fastact::fastact SHARED IMPORTED)
  set_target_properties(fastact::fastact PROPERTIES
    IMPORTED_LOCATION "${_fastact_library}"
    IMPORTED_SONAME "libfastact.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_fastact_include}"
    # the library is not in a system directory: an rpath lets programs (built and
    # installed ones alike) find it without LD_LIBRARY_PATH
    INTERFACE_LINK_OPTIONS "-Wl,-rpath,${_fastact_prefix}")
endif()

set(fastact_INCLUDE_DIRS "${_fastact_include}")
set(fastact_LIBRARIES fastact::fastact)
set(fastact_LIBRARY_DIR "${_fastact_prefix}")
set(fastact_FOUND TRUE)

unset(_fastact_prefix)
unset(_fastact_library)
unset(_fastact_include)
