"""The CDK side: configuration, the stack and its constructs."""
