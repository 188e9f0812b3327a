file(REMOVE_RECURSE
  "libavt_sync.a"
)
