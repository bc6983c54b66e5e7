# Fuzz target of the HTTP/2 client (client/lib/h2.c), included by tests/CMakeLists.txt.
# Seed corpus: tests/fuzz/corpus/h2_client/ (server bytes after the server's SETTINGS).
guise_fuzz_target(h2_client SOURCES ${CMAKE_CURRENT_LIST_DIR}/h2_client.c LIBS guise_core)
# h2.h is internal to libguise (client/lib), not in guise_core's public includes.
target_include_directories(smoke_h2_client PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_h2_client PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
