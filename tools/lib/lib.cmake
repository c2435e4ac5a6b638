# tools/lib: the trace reader and measuring helpers, shared by the lab, the benchmarks and tests.
add_library(carve_labkit STATIC ${CMAKE_CURRENT_LIST_DIR}/trace.c ${CMAKE_CURRENT_LIST_DIR}/measure.c)
target_include_directories(carve_labkit PUBLIC ${CMAKE_CURRENT_LIST_DIR})
