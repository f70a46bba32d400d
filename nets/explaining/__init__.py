"""What a network does with one input, shown: a drawn digit read, a photo classified, maps and Grad-CAM."""
