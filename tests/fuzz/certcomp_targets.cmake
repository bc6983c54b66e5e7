# Fuzz target of certificate compression (client/lib/tls_certcomp.c), included by
# tests/CMakeLists.txt. Seed corpus: tests/fuzz/corpus/certcomp_decompress/.
guise_fuzz_target(certcomp_decompress SOURCES ${CMAKE_CURRENT_LIST_DIR}/certcomp_decompress.c
                  LIBS guise_core)
# tls_certcomp.h is internal to libguise (client/lib), not in guise_core's public includes.
target_include_directories(smoke_certcomp_decompress PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_certcomp_decompress PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
