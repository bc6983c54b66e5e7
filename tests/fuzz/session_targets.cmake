# Fuzz target of the protocol sessions (client/lib/session_h1.c, session_h2.c),
# included by tests/CMakeLists.txt. Seed corpus: tests/fuzz/corpus/session/ (a
# flags byte, then server bytes in length-prefixed chunks; see session.c).
guise_fuzz_target(session SOURCES ${CMAKE_CURRENT_LIST_DIR}/session.c LIBS guise_core)
# session.h is internal to libguise (client/lib), not in guise_core's public includes.
target_include_directories(smoke_session PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_session PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
