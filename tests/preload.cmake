# tests/preload: real Debian programs (python3, sqlite3, git, gcc) under
# LD_PRELOAD=libcarve-malloc.so must behave exactly as without it. Release build only (label
# nosan, and not registered in sanitizer builds): a sanitizer runtime and a preloaded malloc
# cannot share a process. Each test is a shell script taking the allocator and the probe library
# (tests/preload/probe.c, which reports the object malloc is bound to in every process).
if(NOT CARVE_SANITIZE AND NOT CARVE_FUZZ)
  add_library(carve_preload_probe MODULE ${CMAKE_CURRENT_LIST_DIR}/preload/probe.c)
  target_link_libraries(carve_preload_probe PRIVATE ${CMAKE_DL_LIBS})
  set_target_properties(carve_preload_probe PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CARVE_TEST_DIR}
                        PREFIX "" OUTPUT_NAME preload-probe)
  if(TARGET carve_malloc)
    foreach(program python sqlite git gcc)
      add_test(NAME preload.${program}
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/preload/${program}.sh
                       $<TARGET_FILE:carve_malloc> $<TARGET_FILE:carve_preload_probe>)
      set_tests_properties(preload.${program} PROPERTIES LABELS nosan TIMEOUT 240)
    endforeach()
    # the benchmark's workloads, small, as a correctness test (bench/malloc.cmake builds them)
    if(TARGET carve-mbench)
      add_test(NAME preload.mbench
               COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/preload/mbench.sh $<TARGET_FILE:carve_malloc>
                       $<TARGET_FILE:carve_preload_probe> $<TARGET_FILE:carve-mbench>)
      set_tests_properties(preload.mbench PROPERTIES LABELS nosan TIMEOUT 240)
    endif()
  endif()
endif()
