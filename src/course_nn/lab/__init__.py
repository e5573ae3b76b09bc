"""course_nn.lab: the book's experiment staging, apart from the library a learner studies.

The top level of course_nn is the neural-network library (Module, Linear, Conv2d, LSTM, optim,
...), with PyTorch's names. This subpackage holds what the chapters use to stage their lessons:
the exercises and their checkers, the ipywidgets explorers, the playground, the synthetic tasks
and loss surfaces, multi-seed runners, and the diagrams. Import its modules directly, e.g.
``from course_nn.lab.exercises import check``; ``import course_nn`` does not load them.
"""
