# Written from fastactConfigVersion.cmake.in by tools/generate_native.py (it fills in the version): edit the .in file.
# fastactConfigVersion.cmake: version check for find_package(fastact <version>).
# Same major version and at least the requested version is compatible.
set(PACKAGE_VERSION "0.3.0")

if(PACKAGE_FIND_VERSION)
  string(REGEX MATCH "^[0-9]+" _fastact_major "${PACKAGE_VERSION}")
  if(PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  elseif(NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL _fastact_major)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
      set(PACKAGE_VERSION_EXACT TRUE)
    endif()
  endif()
  unset(_fastact_major)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()

# a 64-bit library: refuse a 32-bit consumer
if(CMAKE_SIZEOF_VOID_P AND NOT CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(PACKAGE_VERSION "${PACKAGE_VERSION} (64bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
