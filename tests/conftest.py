"""Shared by every test suite: fake AWS credentials, so no test can reach a real account.

Set at import time, before any test module creates a boto3 client, so a developer's own
credentials or profile can never be picked up.
"""

import os

os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)
