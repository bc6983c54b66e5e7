# Fuzz target of the QUIC Initial reader behind guise fp (included by tests/CMakeLists.txt).
# Seed corpus: tests/fuzz/corpus/quic_initial/ (RFC 9001 / RFC 9369 Appendix A client
# Initials, the two Initials of tests/data/quic's Chromium capture, plaintext payloads).
guise_fuzz_target(quic_initial SOURCES ${CMAKE_CURRENT_LIST_DIR}/quic_initial.c
                  LIBS guise_fp_capture)
