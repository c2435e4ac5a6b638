# bench/small.cmake: benchmarks of the pool, the slab cache and the buddy (run by scripts/bench.d/small.sh).
foreach(b pool slab buddy)
  add_executable(small_bench_${b} ${CMAKE_CURRENT_LIST_DIR}/${b}_bench.c)
  target_link_libraries(small_bench_${b} PRIVATE carve_static carve_labkit m)
  target_include_directories(small_bench_${b} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  set_target_properties(small_bench_${b} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endforeach()
