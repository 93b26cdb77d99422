"""Workflow Builder custom steps: Bolt functions (`function_executed` events) that run a Cercle command as
the person who runs the workflow, and complete with outputs (`functions.completeSuccess`) or fail with a
clear, translated reason (`functions.completeError`). `steps.py` says what each step runs and returns;
`runner.py` attaches them to the Bolt app. The manifest declares them (`functions:` in
`deploy/slack-manifest.yml`)."""
