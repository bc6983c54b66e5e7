# Fuzz target of the batch input parser (client/lib/job.c). Seeds: tests/fuzz/corpus/job_parse/.
guise_fuzz_target(job_parse SOURCES "${CMAKE_CURRENT_LIST_DIR}/job_parse.c" LIBS guise_core)
# The id of a previous run's record (guise_record_id, --resume). Seeds: tests/fuzz/corpus/record_id/.
guise_fuzz_target(record_id SOURCES "${CMAKE_CURRENT_LIST_DIR}/record_id.c" LIBS guise_core)
