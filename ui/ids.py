"""The names the app's parts must agree on, written once: Gradio's concurrency ids and the tabs' ids.

A concurrency id groups events that share one limit (``ui.budgets``) in Gradio's queue; the guard
(``ui.guard``) counts training jobs by theirs, so the handlers and the guard read them from here. A
tab's id is what ``app.py`` gives the tab and what a teacher's link names (``?tab=train``).
"""

from __future__ import annotations

# --- Gradio's concurrency ids -------------------------------------------------------------------------
LENET_QUEUE = "lenet"  # the shipped LeNet's and a visitor's LeNet's readings
ALEXNET_QUEUE = "alexnet"  # everything the ImageNet AlexNet answers (photos, cells, a fine-tuned model's try)
FINETUNE_QUEUE = "finetune"  # fine-tunes and races (one budget: two at once)
LENET_TRAINING_QUEUE = "lenet-train"  # a visitor training their own LeNet
BUILDER_QUEUE = "builder"  # decoding images for a dataset built in the page, and zipping it
DOWNLOAD_QUEUE = "download"  # writing a fine-tuned model's file
TRAINING_QUEUES = (FINETUNE_QUEUE, LENET_TRAINING_QUEUE)  # training jobs: the guard limits each kind on its own

# --- the tabs, in the order the page shows them --------------------------------------------------------
DIGIT_TAB = "digit"
TRAIN_TAB = "train"
PHOTO_TAB = "photo"
FINETUNE_TAB = "finetune"
COMPARE_TAB = "compare"
TABS = (DIGIT_TAB, TRAIN_TAB, PHOTO_TAB, FINETUNE_TAB, COMPARE_TAB)
