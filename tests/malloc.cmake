# tests/malloc.cmake: carve malloc's tests beyond tests/unit/malloc*_test.c (registered by the
# root): unit-test settings, the misuse programs and their runner, the OOM tests, the fork
# test, the LD_PRELOAD smoke test and the Valgrind test.
target_compile_definitions(test_unit_malloc PRIVATE CARVE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
set_tests_properties(unit.malloc_threads PROPERTIES LABELS thread)

# tests/misuse/: one program per misuse, run by misuse_test.c as child processes.
set(CARVE_MISUSE_PROGRAMS double_free double_free_large double_free_remote free_stack free_global
    free_inside free_misaligned realloc_freed canary bad_option)
carve_add_test(NAME malloc.misuse SOURCES ${PROJECT_SOURCE_DIR}/tests/misuse/misuse_test.c TIMEOUT 120)
target_compile_definitions(test_malloc_misuse PRIVATE CARVE_MISUSE_DIR="${CARVE_TEST_DIR}")
foreach(prog ${CARVE_MISUSE_PROGRAMS})
  add_executable(misuse_${prog} ${PROJECT_SOURCE_DIR}/tests/misuse/${prog}.c)
  set_target_properties(misuse_${prog} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CARVE_TEST_DIR})
  target_link_libraries(misuse_${prog} PRIVATE carve_static Threads::Threads)
  add_dependencies(test_malloc_misuse misuse_${prog})
endforeach()
