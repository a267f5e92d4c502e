"""Names the dead-code check (vulture, in `make lint` and `make test`) cannot see being used.

Each is used by something vulture does not read: a framework that calls it by name, a config
key kept to write it back, a shell script, or a lookup by module name.  This file is read by
vulture only, never run.
"""

# ruff: noqa: B018, F821

# tornado calls these on every RequestHandler (api/http.py)
_.SUPPORTED_METHODS
_.set_default_headers
_.compute_etag
_.write_error
_.delete

# prometheus_client calls a registered collector's collect() (api/metrics.py)
_.collect

# click calls format_options() while it writes --help (config/options.py)
_.format_options

# backends/view.py finds each backend's view class by module name, so that rendering a
# backend imports nothing of its runtime (pyopencl, pycuda)
_.CpuView
_.OclView
_.CudaView

# pytest: module marks, autouse fixtures and those named in usefixtures, selenium's options
_.pytestmark
_.pristine_xminer_logger
_.fresh_state
_.restore
_.binary_location

# tools/device_cuda_check.sh prints a card's free and total memory through it
_.mem_info
# registered with atexit (backends/cuda/randomx.py)
_.release_devices

# librandomx's flag, part of the enum the binding mirrors (randomx.h)
_.SECURE

# XMRig config keys xminer accepts and writes back unchanged (config/model.py): they have no
# effect here, the console says so where it matters, and GET /2/config shows them as given
_.init_avx2
_.one_gb_pages
_.rdmsr
_.wrmsr
_.cache_qos
_.numa
_.scratchpad_prefetch_mode
_.huge_pages_jit
_.hw_aes
_.memory_pool
_.yield_
_.asm
_.adl
_.socks5
_.self_select
_.submit_to_origin
_.daemon_job_timeout
_.daemon_zmq_port
_.spend_secret_key
_.protocols
_.cert_key
_.ciphers
_.ciphersuites
_.dhparam
_.ip_version
_.background
_.donate_over_proxy
_.dns
