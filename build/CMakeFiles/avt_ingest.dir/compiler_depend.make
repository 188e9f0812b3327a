# Empty compiler generated dependencies file for avt_ingest.
# This may be replaced when dependencies are built.
