"""Exercises of this chapter (see course_nn.exercises)."""
