"""What the OpenCL and CUDA backends share: the host algorithm (host), the worker that drives
it, the buffer layout, thread plans and device selection.  No GPU runtime is imported here."""
