"""Counting the models: parameters, memory and compute, beside the study note's claims."""
