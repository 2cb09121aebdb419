"""Raw camera data in: the MARS layout, its validation, a generator of MARS-format data, HDFS I/O."""
