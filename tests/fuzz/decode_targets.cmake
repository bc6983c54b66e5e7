# Fuzz target of content decoding (client/lib/decode.c), included by
# tests/CMakeLists.txt. Seed corpus: tests/fuzz/corpus/decode_body/.
guise_fuzz_target(decode_body SOURCES ${CMAKE_CURRENT_LIST_DIR}/decode_body.c LIBS guise_core)
# decode.h is internal to libguise (client/lib), not in guise_core's public includes.
target_include_directories(smoke_decode_body PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_decode_body PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
