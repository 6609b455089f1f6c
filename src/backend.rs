//! Where tensors run on the CPU.

use burn::tensor::Device;

/// The CPU device: burn-ndarray, the backend this project chose for its CPU path
/// (burn 0.22 deprecates it in favour of flex, which we only measure beside it).
#[allow(deprecated)]
pub fn cpu() -> Device {
    Device::ndarray()
}

/// burn's newer pure-Rust CPU backend, measured beside ndarray for native training.
#[cfg(not(target_arch = "wasm32"))]
pub fn flex() -> Device {
    Device::flex()
}

/// A native CPU backend by name (`ndarray` or `flex`).
#[cfg(not(target_arch = "wasm32"))]
pub fn native(name: &str) -> Result<Device, String> {
    match name {
        "ndarray" => Ok(cpu()),
        "flex" => Ok(flex()),
        other => Err(format!("unknown backend `{other}` (expected `ndarray` or `flex`)")),
    }
}
