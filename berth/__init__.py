"""The operator package: the `berth` command and the sandbox. It imports the Lambda package
(`chalicelib`), never the other way round, and is never zipped into a Lambda."""
