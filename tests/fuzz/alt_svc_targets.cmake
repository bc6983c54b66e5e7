# The Alt-Svc header reader and cache of the HTTP/3 client (client/lib/alt_svc.c):
# the value comes from any server the client talks to. Seeds: tests/fuzz/corpus/alt_svc/.
guise_fuzz_target(alt_svc SOURCES "${CMAKE_CURRENT_LIST_DIR}/alt_svc.c" LIBS guise_core)
target_include_directories(smoke_alt_svc PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_alt_svc PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
