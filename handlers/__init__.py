"""Lambda runtime code of an etlgen pipeline: validate, split, process, finalize.

Depends only on what the Lambda runtime and the AWS SDK for pandas layer provide
(boto3, pandas, numpy, pyarrow) and the standard library.

numpy's OpenBLAS starts a thread per core when numpy is imported, and each spins for about
0.1 s of CPU before it sleeps: CPU a cold start (and every local worker) pays for nothing,
as the handlers never call BLAS. One thread unless the environment says otherwise; set
here, before any handler imports numpy.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
