# Empty compiler generated dependencies file for avt_pipeline.
# This may be replaced when dependencies are built.
