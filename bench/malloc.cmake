# bench/malloc: the malloc benchmark's programs, run by scripts/bench.d/malloc.sh (`make bench`).
#   carve-mbench WORKLOAD   the synthetic workloads; links no allocator, so LD_PRELOAD picks one
#   mbench-run              runs a command with an allocator preloaded; prints wall time, peak RSS
# Not built in sanitizer or fuzz builds: a sanitizer's runtime would replace the very allocator
# being measured.
if(NOT CARVE_SANITIZE AND NOT CARVE_FUZZ)
  add_executable(carve-mbench ${CMAKE_CURRENT_LIST_DIR}/malloc/main.c ${CMAKE_CURRENT_LIST_DIR}/malloc/single.c
                 ${CMAKE_CURRENT_LIST_DIR}/malloc/threads.c ${CMAKE_CURRENT_LIST_DIR}/malloc/big.c)
  target_link_libraries(carve-mbench PRIVATE Threads::Threads)
  add_executable(mbench-run ${CMAKE_CURRENT_LIST_DIR}/malloc/run.c)
  set_target_properties(carve-mbench mbench-run PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()
