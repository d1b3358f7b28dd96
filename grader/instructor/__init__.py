"""The instructor's tools: grading a class (``batch``, ``submissions``), the Gradescope
autograder (``autograder``), the student release (``release``) and the stubs and known answers (``build``)."""
