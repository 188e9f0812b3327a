file(REMOVE_RECURSE
  "libavt_synth.a"
)
