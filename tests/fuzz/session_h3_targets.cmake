# Fuzz target of the HTTP/3 session (client/lib/session_h3.c; included by
# tests/CMakeLists.txt): a hostile server's bytes on a request stream, delivered
# through a real QUIC connection from tests/unit/quic/h3_test_server.c. Seed corpus:
# tests/fuzz/corpus/session_h3/ (its README).
guise_fuzz_target(session_h3 SOURCES "${CMAKE_CURRENT_LIST_DIR}/session_h3.c"
                  "${PROJECT_SOURCE_DIR}/tests/unit/quic/h3_test_server.c"
                  LIBS guise_core quic_peer)
foreach(t smoke_session_h3 fuzz_session_h3)
  if(TARGET ${t})
    target_include_directories(${t} PRIVATE "${PROJECT_SOURCE_DIR}/client/lib"
                               "${PROJECT_SOURCE_DIR}/tests/unit/quic")
  endif()
endforeach()
