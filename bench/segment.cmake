# The segment allocator's benchmark (make bench runs it through scripts/bench.d/segment.sh).
# The region heap's TLSF policy joins the comparison when src/heap/ is in the tree.
add_executable(segment_bench ${CMAKE_CURRENT_LIST_DIR}/segment_bench.c)
target_link_libraries(segment_bench PRIVATE carve_static carve_labkit)
if(EXISTS ${PROJECT_SOURCE_DIR}/src/heap)
  target_compile_definitions(segment_bench PRIVATE CARVE_BENCH_HEAP)
endif()
