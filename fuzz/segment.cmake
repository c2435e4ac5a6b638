# fuzz/segment.cmake: the libFuzzer harness for the segment allocator (make fuzz).
if(CARVE_FUZZ)
  add_executable(segment_fuzz ${PROJECT_SOURCE_DIR}/fuzz/segment_fuzz.c ${PROJECT_SOURCE_DIR}/src/segment.c
                 ${PROJECT_SOURCE_DIR}/src/common.c)
  target_include_directories(segment_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/fuzz)
  target_compile_options(segment_fuzz PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(segment_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
