"""etlgen: declarative, YAML-configured generator of serverless CSV ETL pipelines on AWS."""

__version__ = "0.1.0"
