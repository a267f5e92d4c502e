"""Hashing backends (CPU through librandomx; OpenCL and CUDA kernels in kernels/)."""
