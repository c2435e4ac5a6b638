# fuzz/small.cmake: the libFuzzer harness for the pool, buddy and slab cache (make fuzz).
if(CARVE_FUZZ)
  add_executable(small_fuzz ${PROJECT_SOURCE_DIR}/fuzz/small_fuzz.c ${PROJECT_SOURCE_DIR}/src/pool.c
                 ${PROJECT_SOURCE_DIR}/src/buddy.c ${PROJECT_SOURCE_DIR}/src/slab.c
                 ${PROJECT_SOURCE_DIR}/src/common.c ${PROJECT_SOURCE_DIR}/src/os/os.c)
  target_include_directories(small_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(small_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(small_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
