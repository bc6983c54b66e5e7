# -w FORMAT, the --write-out interpreter of guise URL (client/cli/write_out.c),
# against a fixed made-up transfer. Seeds: tests/fuzz/corpus/cli_write_out/ (the
# first byte picks the transfer's variant; the -w formats of tests/integration/cli).
guise_fuzz_target(cli_write_out SOURCES "${CMAKE_CURRENT_LIST_DIR}/cli_write_out.c"
  "${PROJECT_SOURCE_DIR}/client/cli/write_out.c" LIBS guise_core)
set_source_files_properties("${PROJECT_SOURCE_DIR}/client/cli/write_out.c" PROPERTIES COMPILE_DEFINITIONS _GNU_SOURCE)
