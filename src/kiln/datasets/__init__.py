"""Small datasets (`kiln.datasets`): `mnist` (downloaded once, hash-checked) and `digits`
(bundled with scikit-learn)."""

from kiln.datasets import digits, mnist
from kiln.datasets.file_cache import DatasetDownloadError, DatasetHashError

__all__ = ["digits", "mnist", "DatasetDownloadError", "DatasetHashError"]
