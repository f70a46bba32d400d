"""The logic of the app, never importing Gradio: models, data, training, explaining, measuring.

``facts`` is what every part reports in: a code and values, which ``ui/`` words in the visitor's language.
"""
