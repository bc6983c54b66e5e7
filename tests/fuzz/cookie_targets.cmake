# Fuzz target of the cookie jar (client/lib/cookie.c). Seeds: tests/fuzz/corpus/cookie/.
guise_fuzz_target(cookie SOURCES "${CMAKE_CURRENT_LIST_DIR}/cookie.c" LIBS guise_core)
target_include_directories(smoke_cookie PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_cookie PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
