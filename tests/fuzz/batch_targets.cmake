# Fuzz target of the batch input parser (client/lib/job.c). Seeds: tests/fuzz/corpus/job_parse/.
guise_fuzz_target(job_parse SOURCES "${CMAKE_CURRENT_LIST_DIR}/job_parse.c" LIBS guise_core)
