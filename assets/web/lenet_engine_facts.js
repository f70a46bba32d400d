/*
 * Written by `python -m nets.models.lenet` (engine_facts in nets/models/lenet.py) from
 * nets/data/sketch.py and nets/models/lenet.py: do not edit by hand. tests/test_lenet_engine.py
 * checks it agrees with them; the scripts in ui/static/lenet/ read their numbers from here.
 */
const LeNetFacts = {
  "format": "classic-cnns/lenet-web/1",
  "poolings": [
    "avg",
    "max"
  ],
  "activations": [
    "relu",
    "sigmoid",
    "tanh"
  ],
  "sketch": {
    "work_size": 160,
    "ink_threshold": 0.3,
    "speck_fraction": 0.08,
    "min_digit_extent": 0.08,
    "min_contrast": 0.12,
    "box": 20,
    "field": 28,
    "ways": [
      "squeezed",
      "cropped_not_centred",
      "mnist_style"
    ]
  }
};
