file(REMOVE_RECURSE
  "CMakeFiles/avt_sync.dir/sync/sync.c.o"
  "CMakeFiles/avt_sync.dir/sync/sync.c.o.d"
  "libavt_sync.a"
  "libavt_sync.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_sync.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
