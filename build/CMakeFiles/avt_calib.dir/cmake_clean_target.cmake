file(REMOVE_RECURSE
  "libavt_calib.a"
)
