"""The parties as separate programs, and what they need to meet safely through a bucket.

* :mod:`.service`: the model server as a long-running service (``python -m encmed_lib.serve``);
* :mod:`.safe_folder`: file operations in a folder bucket that never follow a symbolic link;
* :mod:`.bucket_names`: moved to :mod:`encmed_lib.protocol.bucket_names` (what a message name may look
  like), kept importable.
"""
