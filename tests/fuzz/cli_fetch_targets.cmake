# The names and numbers guise URL takes from a server or a command line
# (client/cli/fetch_output.c): -J's Content-Disposition, -O's URL, --max-filesize,
# -C, --retry-delay. Seeds: tests/fuzz/corpus/cli_fetch_names/.
guise_fuzz_target(cli_fetch_names SOURCES "${CMAKE_CURRENT_LIST_DIR}/cli_fetch_names.c"
  "${PROJECT_SOURCE_DIR}/client/cli/fetch_output.c" LIBS guise_core)
set_source_files_properties("${PROJECT_SOURCE_DIR}/client/cli/fetch_output.c" PROPERTIES COMPILE_DEFINITIONS _GNU_SOURCE)
