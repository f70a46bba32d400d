"""What reaches a network: MNIST, visitors' zips and drafts, drawings, photos opened safely."""
