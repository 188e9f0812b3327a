# Empty compiler generated dependencies file for avt_synth.
# This may be replaced when dependencies are built.
