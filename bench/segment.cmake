# The segment allocator's benchmark (make bench runs it through scripts/bench.d/segment.sh).
# The region heap's TLSF policy joins the comparison once a src/heap/*.c defines carve_heap_init
# (an empty src/heap/ directory is not enough).
add_executable(segment_bench ${CMAKE_CURRENT_LIST_DIR}/segment_bench.c)
target_link_libraries(segment_bench PRIVATE carve_static carve_labkit)
file(GLOB segment_bench_heap_sources ${PROJECT_SOURCE_DIR}/src/heap/*.c)
foreach(src ${segment_bench_heap_sources})
  file(STRINGS ${src} defines_init REGEX "carve_heap_init\\(")
  if(defines_init)
    target_compile_definitions(segment_bench PRIVATE CARVE_BENCH_HEAP)
    break()
  endif()
endforeach()
# Where the single-op tail comes from (docs/segment.md): a diagnostic, run by hand.
add_executable(segment_tail ${CMAKE_CURRENT_LIST_DIR}/segment_tail.c)
target_include_directories(segment_tail PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(segment_tail PRIVATE carve_static carve_labkit)
