file(REMOVE_RECURSE
  "CMakeFiles/avt_ingest.dir/ingest/camera.c.o"
  "CMakeFiles/avt_ingest.dir/ingest/camera.c.o.d"
  "CMakeFiles/avt_ingest.dir/ingest/pcap.c.o"
  "CMakeFiles/avt_ingest.dir/ingest/pcap.c.o.d"
  "CMakeFiles/avt_ingest.dir/ingest/sweep.c.o"
  "CMakeFiles/avt_ingest.dir/ingest/sweep.c.o.d"
  "CMakeFiles/avt_ingest.dir/ingest/velodyne.c.o"
  "CMakeFiles/avt_ingest.dir/ingest/velodyne.c.o.d"
  "libavt_ingest.a"
  "libavt_ingest.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/avt_ingest.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
