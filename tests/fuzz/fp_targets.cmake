# Fuzz targets of the fingerprints library (included by tests/CMakeLists.txt, which
# defines guise_fuzz_target). Seed corpora: tests/fuzz/corpus/<name>/.
guise_fuzz_target(fp_clienthello SOURCES ${CMAKE_CURRENT_LIST_DIR}/fp_clienthello.c LIBS guise_fp)
guise_fuzz_target(fp_h2_preface SOURCES ${CMAKE_CURRENT_LIST_DIR}/fp_h2_preface.c LIBS guise_fp)
guise_fuzz_target(fp_http1_request SOURCES ${CMAKE_CURRENT_LIST_DIR}/fp_http1_request.c LIBS guise_fp)
