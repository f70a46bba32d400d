/*
 * Written by `python -m nets.models.lenet` (training_facts in nets/training/visitor_lenet.py):
 * do not edit by hand. tests/test_lenet_training_engine.py checks it agrees with the Python;
 * ui/static/lenet/training.js reads its numbers from here.
 */
const LeNetTrainingFacts = {
  "defaults": {
    "pooling": "avg",
    "activation": "relu",
    "epochs": 2,
    "train_images": 10000,
    "batch_size": 32,
    "lr": 0.005,
    "seed": 0
  },
  "epochs_range": [
    1,
    20
  ],
  "min_train_images": 1000,
  "mean": 0.100037,
  "std": 0.275217,
  "input_size": 32,
  "pad": 2,
  "warmup": 0.25,
  "one_cycle": {
    "anneal_strategy": "cos",
    "cycle_momentum": true,
    "base_momentum": 0.85,
    "max_momentum": 0.95,
    "div_factor": 25.0,
    "final_div_factor": 10000.0,
    "three_phase": false,
    "pct_start": 0.25
  },
  "adam": {
    "beta2": 0.999,
    "eps": 1e-08,
    "weight_decay": 0
  },
  "amsgrad": false,
  "progress_steps": 20,
  "history_columns": [
    "epoch",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "seconds"
  ],
  "data_file": {
    "magic": "MNISTWEB",
    "version": 1,
    "header_bytes": 24
  }
};
