file(REMOVE_RECURSE
  "libavt_ingest.a"
)
