"""Interactive ipywidgets explorers for the chapters (imported on demand, never by course_nn).

Each module builds its widgets and its matplotlib figure from plain functions that the tests
call directly, so an explorer is tested without a browser.
"""
