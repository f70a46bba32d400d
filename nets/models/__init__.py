"""The networks and their weights: LeNet (the note's and MNIST's) and AlexNet (the 2012 paper's and torchvision's)."""
