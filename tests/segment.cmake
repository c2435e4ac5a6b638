# The segment allocator's threaded test: CARVE_SEGMENT_THREADSAFE under two threads (also in TSan).
carve_add_test(NAME unit.segment_threads SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/segment_threads.c
               LABELS thread TIMEOUT 240)
