# tools/carve: the `carve` lab (build/carve), its engine (carve_lab, also linked by the lab
# tests) and the malloc recorder build/libcarve-record.so (LD_PRELOADed by `carve record`).
#
# Each allocator is an adapter (adapt_<x>.c); an adapter is built only when its allocator's
# sources are in the tree, and CARVE_LAB_HAVE_<X> tells adapters.c to list it.
set(CARVE_LAB_DIR ${CMAKE_CURRENT_LIST_DIR})
set(CARVE_LAB_SOURCES arena.c plan.c replay.c report.c adapters.c adapt_libc.c cmd_replay.c)
foreach(extra cmd_sim.c sim.c cmd_map.c map.c cmd_record.c)
  if(EXISTS ${CARVE_LAB_DIR}/${extra})
    list(APPEND CARVE_LAB_SOURCES ${extra})
  endif()
endforeach()
set(CARVE_LAB_DEFS "")
foreach(pair "HEAP;src/heap;adapt_heap.c" "BUDDY;src/buddy.c;adapt_buddy.c"
             "SLAB;src/slab.c;adapt_slab.c" "MALLOC;src/malloc;adapt_malloc.c")
  list(GET pair 0 what)
  list(GET pair 1 src)
  list(GET pair 2 adapter)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${src} AND EXISTS ${CARVE_LAB_DIR}/${adapter})
    list(APPEND CARVE_LAB_SOURCES ${adapter})
    list(APPEND CARVE_LAB_DEFS CARVE_LAB_HAVE_${what})
  endif()
endforeach()
list(TRANSFORM CARVE_LAB_SOURCES PREPEND ${CARVE_LAB_DIR}/)

add_library(carve_lab STATIC ${CARVE_LAB_SOURCES})
target_include_directories(carve_lab PUBLIC ${CARVE_LAB_DIR} PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(carve_lab PUBLIC ${CARVE_LAB_DEFS})
target_link_libraries(carve_lab PUBLIC carve_labkit carve_static m)

add_executable(carve_cli ${CARVE_LAB_DIR}/main.c)
set_target_properties(carve_cli PROPERTIES OUTPUT_NAME carve)
target_link_libraries(carve_cli PRIVATE carve_lab)
install(TARGETS carve_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

if(EXISTS ${CARVE_LAB_DIR}/recorder.c)
  add_library(carve_record SHARED ${CARVE_LAB_DIR}/recorder.c)
  set_target_properties(carve_record PROPERTIES OUTPUT_NAME carve-record)
  target_compile_options(carve_record PRIVATE -fvisibility=hidden)
  target_include_directories(carve_record PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(carve_record PRIVATE carve_static ${CMAKE_DL_LIBS} Threads::Threads)
  add_dependencies(carve_cli carve_record)
endif()
