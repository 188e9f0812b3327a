# Empty dependencies file for avt_common.
# This may be replaced when dependencies are built.
