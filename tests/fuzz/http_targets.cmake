# Fuzz targets of the HTTP/1 and URL modules of the client (client/lib/url.c,
# client/lib/h1_response.c), included by tests/CMakeLists.txt. Seed corpora:
# tests/fuzz/corpus/url_parse/ and tests/fuzz/corpus/h1_response/.
foreach(t url_parse h1_response)
  guise_fuzz_target(${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c LIBS guise_core)
  # url.h and h1_response.h are internal to libguise (client/lib).
  target_include_directories(smoke_${t} PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
  if(GUISE_FUZZ)
    target_include_directories(fuzz_${t} PRIVATE "${PROJECT_SOURCE_DIR}/client/lib")
  endif()
endforeach()
