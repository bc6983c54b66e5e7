# Fuzz target of the capture reader (guise fp), included by tests/CMakeLists.txt.
# Seed corpus: tests/fuzz/corpus/capture_reader/ (small pcap/pcapng files of each link
# type and TCP oddity, a truncated capture, hex dumps).
guise_fuzz_target(capture_reader SOURCES ${CMAKE_CURRENT_LIST_DIR}/capture_reader.c
                  LIBS guise_fp_capture)
