# bench/heap.cmake: the region heap on the CS:APP traces (scripts/bench.d/heap.sh runs it).
add_executable(heap_bench ${CMAKE_CURRENT_LIST_DIR}/heap_bench.c)
target_link_libraries(heap_bench PRIVATE carve_static carve_labkit)
