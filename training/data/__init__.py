"""The data path of training: clips streamed from the ingested shards in HDFS.

``ingest.dataset`` reads the index and a tracklet's bytes; here are restricted random sampling
(rrs), JPEG decoding (decode), clip-consistent augmentation (transforms), the torch datasets
(clips) and the P x K identity sampler (sampler).
"""
