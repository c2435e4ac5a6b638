# The labkit's unit tests (the trace reader, the order statistics) link the labkit as well. The
# reader's test wraps malloc and realloc (ld --wrap) to fail its n-th allocation on demand.
foreach(t trace measure)
  target_link_libraries(test_unit_${t} PRIVATE carve_labkit)
endforeach()
target_link_options(test_unit_trace PRIVATE -Wl,--wrap=malloc -Wl,--wrap=realloc)
