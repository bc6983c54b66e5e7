# Fuzz target of guise echo's HTTP/3 reading (included by tests/CMakeLists.txt): the raw
# control stream reader and nghttp3's server connection with echo's recording callbacks
# (fingerprints/echo/echo_h3.c). Seed corpus: tests/fuzz/corpus/echo_h3/ (its README).
guise_fuzz_target(echo_h3 SOURCES "${CMAKE_CURRENT_LIST_DIR}/echo_h3.c"
                  "${PROJECT_SOURCE_DIR}/fingerprints/echo/echo_h3.c"
                  LIBS guise_fp_report guise_fp nghttp3 bssl_crypto)
