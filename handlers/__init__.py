"""Lambda runtime code of an etlgen pipeline: validate, split, process, finalize.

Depends only on what the Lambda runtime and the AWS SDK for pandas layer provide
(boto3, pandas, numpy, pyarrow) and the standard library.
"""
