"""The web app's rooms: a module per tab, the guard in front of Gradio, and what they share.

``app.py`` assembles these; the logic they show lives in ``nets/`` and never imports Gradio.
"""
