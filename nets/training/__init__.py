"""Training jobs: the shipped LeNet, a visitor's LeNet, fine-tunes of AlexNet and the race between them."""
