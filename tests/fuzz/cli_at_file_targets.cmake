# The -H @FILE line splitter, the -w @FILE joiner and the -H @FILE reader with its
# caps (client/cli/at_file.c). Seeds: tests/fuzz/corpus/cli_at_file/ (the first
# byte picks the reader: 0 splitter, 1 joiner, 2 the whole -H file).
guise_fuzz_target(cli_at_file SOURCES "${CMAKE_CURRENT_LIST_DIR}/cli_at_file.c"
  "${PROJECT_SOURCE_DIR}/client/cli/at_file.c" "${PROJECT_SOURCE_DIR}/client/cli/options.c"
  "${PROJECT_SOURCE_DIR}/client/cli/numopt.c" "${PROJECT_SOURCE_DIR}/client/cli/config_file.c" LIBS guise_core)
