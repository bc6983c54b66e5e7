# Fuzz target of the proxy handshake (client/lib/proxy.c). Seeds: tests/fuzz/corpus/proxy_handshake/.
guise_fuzz_target(proxy_handshake SOURCES "${CMAKE_CURRENT_LIST_DIR}/proxy_handshake.c" LIBS guise_core)
target_include_directories(smoke_proxy_handshake PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_proxy_handshake PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
