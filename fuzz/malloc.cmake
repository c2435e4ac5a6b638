# fuzz/malloc.cmake: the libFuzzer harness for carve_malloc (make fuzz). carve's sources are
# compiled into the harness so that libFuzzer sees their coverage.
if(CARVE_FUZZ)
  add_executable(malloc_fuzz ${PROJECT_SOURCE_DIR}/fuzz/malloc_fuzz.c ${CARVE_SOURCES})
  target_include_directories(malloc_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(malloc_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(malloc_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(malloc_fuzz PRIVATE Threads::Threads)
endif()
