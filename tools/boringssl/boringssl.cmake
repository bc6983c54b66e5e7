# Builds Debian's BoringSSL source (with guise's patch series applied) into two
# static libraries, bssl_crypto and bssl_ssl, from the pre-generated file lists in
# android-sources.cmake: no Go, no Perl. Every symbol is compiled with hidden
# visibility so that libguise can export only guise_* (see client/lib/CMakeLists.txt).

set(GUISE_BORINGSSL_TARBALL "" CACHE FILEPATH
    "Verified BoringSSL orig tarball (tools/setup passes it; default: the setup's cache)")
if(NOT GUISE_BORINGSSL_TARBALL)
  execute_process(COMMAND bash -c ". '${PROJECT_SOURCE_DIR}/tools/lib.sh' && echo \"$BSSL_CACHED\""
                  OUTPUT_VARIABLE _bssl_default OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(GUISE_BORINGSSL_TARBALL "${_bssl_default}" CACHE FILEPATH "" FORCE)
endif()

set(_bssl_out "${CMAKE_BINARY_DIR}/boringssl")
execute_process(COMMAND "${PROJECT_SOURCE_DIR}/tools/boringssl/prepare"
                        "${GUISE_BORINGSSL_TARBALL}" "${_bssl_out}"
                RESULT_VARIABLE _bssl_rc)
if(NOT _bssl_rc EQUAL 0)
  message(FATAL_ERROR "BoringSSL source could not be prepared (see the message above)")
endif()
# Re-run the preparation when a patch is added, removed or changed.
file(GLOB _bssl_patches CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tools/boringssl/patches/*.patch")
set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${_bssl_patches} "${GUISE_BORINGSSL_TARBALL}")

set(BORINGSSL_ROOT "${_bssl_out}/tree/")
include("${BORINGSSL_ROOT}android-sources.cmake")
file(READ "${BORINGSSL_ROOT}BORINGSSL_REVISION" GUISE_BORINGSSL_REVISION)
string(STRIP "${GUISE_BORINGSSL_REVISION}" GUISE_BORINGSSL_REVISION)
file(READ "${BORINGSSL_ROOT}.guise-patch-count" GUISE_BORINGSSL_PATCHES)
string(STRIP "${GUISE_BORINGSSL_PATCHES}" GUISE_BORINGSSL_PATCHES)

set(_bssl_defs BORINGSSL_IMPLEMENTATION _XOPEN_SOURCE=700)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  enable_language(ASM)
  set(_bssl_asm ${crypto_sources_linux_x86_64})
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  enable_language(ASM)
  set(_bssl_asm ${crypto_sources_linux_aarch64})
else()
  list(APPEND _bssl_defs OPENSSL_NO_ASM)
  set(_bssl_asm "")
endif()
if(GUISE_DETERMINISTIC)
  # Fixed "randomness" for golden wire tests only: never for real traffic.
  list(APPEND _bssl_defs BORINGSSL_UNSAFE_DETERMINISTIC_MODE)
endif()
# BoringSSL's own tests (tests/boringssl) are compiled like the library, as its
# users rather than as part of it.
set(GUISE_BORINGSSL_TEST_DEFS ${_bssl_defs})
list(REMOVE_ITEM GUISE_BORINGSSL_TEST_DEFS BORINGSSL_IMPLEMENTATION)

find_package(Threads REQUIRED)
add_library(bssl_crypto STATIC ${crypto_sources} ${_bssl_asm})
add_library(bssl_ssl STATIC ${ssl_sources})
foreach(t bssl_crypto bssl_ssl)
  target_compile_definitions(${t} PRIVATE ${_bssl_defs})
  target_include_directories(${t} SYSTEM PUBLIC "${BORINGSSL_ROOT}src/include")
  set_target_properties(${t} PROPERTIES POSITION_INDEPENDENT_CODE ON
                        C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden
                        VISIBILITY_INLINES_HIDDEN ON
                        C_STANDARD 11 CXX_STANDARD 14 CXX_EXTENSIONS OFF)
  target_compile_options(${t} PRIVATE -fno-common -w
                         $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti>
                         $<$<COMPILE_LANGUAGE:ASM>:-Wa,--noexecstack>)
endforeach()
target_link_libraries(bssl_crypto PUBLIC Threads::Threads)
target_link_libraries(bssl_ssl PUBLIC bssl_crypto)
