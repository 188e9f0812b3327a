file(REMOVE_RECURSE
  "libavt_pipeline.a"
)
