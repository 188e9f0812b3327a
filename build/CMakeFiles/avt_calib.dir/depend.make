# Empty dependencies file for avt_calib.
# This may be replaced when dependencies are built.
