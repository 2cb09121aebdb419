"""Raw camera data in: the MARS layout and its validation, a MARS-format generator, HDFS I/O."""
