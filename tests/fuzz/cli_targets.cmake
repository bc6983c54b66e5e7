# The -K config file reader of the guise command (client/cli/config_file.c, its
# tokenizer: no file, no setter). Seeds: tests/fuzz/corpus/cli_config/.
guise_fuzz_target(cli_config SOURCES "${CMAKE_CURRENT_LIST_DIR}/cli_config.c"
  "${PROJECT_SOURCE_DIR}/client/cli/config_file.c" "${PROJECT_SOURCE_DIR}/client/cli/options.c"
  "${PROJECT_SOURCE_DIR}/client/cli/numopt.c" "${PROJECT_SOURCE_DIR}/client/cli/at_file.c" LIBS guise_core)
# options.c is the command's source: built as the command builds it (_GNU_SOURCE
# for strdup; not on driver.c, whose MAX_INPUT limits.h would then define).
set_source_files_properties("${PROJECT_SOURCE_DIR}/client/cli/options.c"
  "${PROJECT_SOURCE_DIR}/client/cli/config_file.c" "${PROJECT_SOURCE_DIR}/client/cli/at_file.c"
  PROPERTIES COMPILE_DEFINITIONS _GNU_SOURCE)
# .netrc files (client/cli/fetch_netrc.c, fetch_netrc_parse: no file). Seeds:
# tests/fuzz/corpus/cli_netrc/ (the first byte picks the host asked for).
guise_fuzz_target(cli_netrc SOURCES "${CMAKE_CURRENT_LIST_DIR}/cli_netrc.c"
  "${PROJECT_SOURCE_DIR}/client/cli/fetch_netrc.c" "${PROJECT_SOURCE_DIR}/client/cli/at_file.c"
  "${PROJECT_SOURCE_DIR}/client/cli/options.c" "${PROJECT_SOURCE_DIR}/client/cli/numopt.c"
  "${PROJECT_SOURCE_DIR}/client/cli/config_file.c" LIBS guise_core)
set_source_files_properties("${PROJECT_SOURCE_DIR}/client/cli/fetch_netrc.c" PROPERTIES COMPILE_DEFINITIONS _GNU_SOURCE)
# URL patterns of guise URL (client/cli/fetch_glob.c: fetch_glob_parse, the
# expansion, "#N" names). Seeds: tests/fuzz/corpus/cli_url_glob/.
guise_fuzz_target(cli_url_glob SOURCES "${CMAKE_CURRENT_LIST_DIR}/cli_url_glob.c"
  "${PROJECT_SOURCE_DIR}/client/cli/fetch_glob.c" "${PROJECT_SOURCE_DIR}/client/cli/at_file.c"
  "${PROJECT_SOURCE_DIR}/client/cli/options.c" "${PROJECT_SOURCE_DIR}/client/cli/numopt.c"
  "${PROJECT_SOURCE_DIR}/client/cli/config_file.c" LIBS guise_core)
set_source_files_properties("${PROJECT_SOURCE_DIR}/client/cli/fetch_glob.c" PROPERTIES COMPILE_DEFINITIONS _GNU_SOURCE)
