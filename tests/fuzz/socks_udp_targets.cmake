# A SOCKS5 proxy's replies for HTTP/3 (UDP ASSOCIATE and its relay's datagrams,
# client/lib/filter_udp.c). Seeds: tests/fuzz/corpus/socks_udp/.
guise_fuzz_target(socks_udp SOURCES "${CMAKE_CURRENT_LIST_DIR}/socks_udp.c" LIBS guise_core)
target_include_directories(smoke_socks_udp PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
if(GUISE_FUZZ)
  target_include_directories(fuzz_socks_udp PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
endif()
