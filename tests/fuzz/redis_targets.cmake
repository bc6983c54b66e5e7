# The Redis address parser of guise enqueue / guise batch redis://... (client/cli/redis_url.c).
# Seeds: tests/fuzz/corpus/redis_url/.
guise_fuzz_target(redis_url SOURCES "${CMAKE_CURRENT_LIST_DIR}/redis_url.c"
                  "${PROJECT_SOURCE_DIR}/client/cli/redis_url.c" LIBS guise_core)
target_include_directories(smoke_redis_url PRIVATE "${PROJECT_SOURCE_DIR}/client/cli")
if(GUISE_FUZZ)
  target_include_directories(fuzz_redis_url PRIVATE "${PROJECT_SOURCE_DIR}/client/cli")
endif()
